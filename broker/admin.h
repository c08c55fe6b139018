/* The broker's own service, BUS_BROKER_SERVICE ("$broker"): requests that
 * besedactl sends like any other bus request but that the broker answers
 * itself, from its registries — cluster status (workers, key owners,
 * gateways) and drain (tell one worker to leave). Frames: common/bus.h;
 * bodies BrokerAdminRequest / BrokerAdminReply in proto/beseda.proto. */
#ifndef BESEDA_BROKER_ADMIN_H
#define BESEDA_BROKER_ADMIN_H

#include "gateways.h"
#include "workers.h"
#include <stddef.h>
#include <stdint.h>

#define BROKER_ADMIN_MAX_KEYS 100   /* shard keys per status query */

typedef struct {
    workers_t *workers;
    gateways_t *gateways;
    uint64_t requests_routed;
    int64_t started_ms;             /* monotonic */
    int64_t now_ms;                 /* monotonic */
} broker_admin_view_t;

/* Answers one request body. Returns the packed BrokerAdminReply (malloc'd,
 * its size in *out_len), or NULL when out of memory. When the request is a
 * drain of a live worker, *drain points to that worker (the caller sends it
 * DRAIN); otherwise it is NULL. */
uint8_t *broker_admin_answer(const broker_admin_view_t *view, const uint8_t *body, size_t len,
                             worker_t **drain, size_t *out_len);

#endif
