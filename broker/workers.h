/* The registry of live workers, per service, with their epochs. */
#ifndef BESEDA_WORKERS_H
#define BESEDA_WORKERS_H

#include "metrics.h"
#include <czmq.h>
#include <stdint.h>

typedef struct {
    char *name;
    char *service;
    zframe_t *route;          /* identity on the ROUTER socket */
    char *route_key;          /* route as hex, the registry key */
    int64_t expiry_ms;        /* monotonic */
    int64_t last_hb_ms;       /* monotonic: last heartbeat (for besedactl status) */
    uint64_t requests;        /* requests routed to it since it joined */
} worker_t;

typedef struct workers_t workers_t;

/* The metric series of one service (each NULL without a registry). */
typedef struct {
    beseda_gauge_t *workers;
    beseda_gauge_t *epoch;
    beseda_counter_t *joins;
    beseda_counter_t *leaves;
    beseda_counter_t *routed;
    beseda_counter_t *no_worker;
} workers_stats_t;

workers_t *workers_new(void);
void workers_destroy(workers_t **self_p);
/* Services created from now on register their series in metrics. */
void workers_set_metrics(workers_t *self, beseda_metrics_t *metrics);
/* The series of service, creating the (empty) service if needed; NULL when
 * the service table is full or out of memory. */
workers_stats_t *workers_stats(workers_t *self, const char *service);
/* Registers or refreshes a worker after a heartbeat. Returns 1 if the worker
 * is new (its service's epoch was bumped), 0 if refreshed, -1 on error. */
int workers_heartbeat(workers_t *self, zframe_t *route, const char *service, const char *name,
                      int64_t now_ms);
/* Removes the worker with this route; bumps its service's epoch. */
void workers_remove(workers_t *self, const char *route_key, const char *why);
/* The owner of key within service, or NULL if the service has no worker. */
worker_t *workers_pick(workers_t *self, const char *service, const char *key);
uint64_t workers_epoch(workers_t *self, const char *service);
/* Removes workers whose expiry passed. Returns how many. */
int workers_expire(workers_t *self, int64_t now_ms);
/* Iteration over every worker (for heartbeats). */
worker_t *workers_first(workers_t *self);
worker_t *workers_next(workers_t *self);
worker_t *workers_lookup(workers_t *self, const char *route_key);
/* The live worker with this name in any service, or NULL. */
worker_t *workers_find_name(workers_t *self, const char *name);
char *workers_route_key(zframe_t *route);   /* freshly allocated hex */

#endif
