/* The router's metric series (docs/OPERATIONS.md), kept in router_t and
 * updated by the router's one thread; read by the admin listener's thread.
 * Without a registry every pointer is NULL and updates do nothing. */
#ifndef BESEDA_ROUTER_METRICS_H
#define BESEDA_ROUTER_METRICS_H

#include "beseda.pb-c.h"
#include "metrics.h"
#include "pending.h"
#include <stdint.h>

#define ROUTER_METRICS_STEPS   32   /* > the last job_step_t */
#define ROUTER_REDIS_PING_MS 2000   /* readiness: Redis is asked at least this often */

typedef struct {
    beseda_metrics_t *registry;                          /* not owned */
    beseda_request_kinds_t requests;                     /* by RouterRequest's oneof fields */
    beseda_counter_t *store_calls[ROUTER_METRICS_STEPS]; /* by job_step_t */
    beseda_histogram_t *store_latency[ROUTER_METRICS_STEPS];
    beseda_counter_t *store_timeouts;
    beseda_counter_t *skipped_expired;                   /* requests reached after their deadline */
    beseda_gauge_t *pending;
    beseda_counter_t *redis_calls;
    beseda_counter_t *redis_errors;
    beseda_histogram_t *redis_latency;
    beseda_gauge_t *redis_up;
    beseda_counter_t *assign_assigned;
    beseda_counter_t *assign_reassigned;
    beseda_counter_t *assign_requeued;
    beseda_counter_t *queued;
    beseda_gauge_t *broker_connected;
    int64_t next_redis_ping_ms;                          /* router thread only */
} router_metrics_t;

void router_metrics_init(router_metrics_t *self, beseda_metrics_t *registry);
/* A gateway request answered (body_case 0: undecodable) after ms. */
void router_metrics_request(router_metrics_t *self, int body_case, double ms);
/* An answer with an error code (registered on first use). */
void router_metrics_error(router_metrics_t *self, const char *code);
void router_metrics_store_call(router_metrics_t *self, job_step_t step);
void router_metrics_store_reply(router_metrics_t *self, job_step_t step, int timed_out, double ms);
/* Ready: the broker heard from recently and Redis reachable (gauges only). */
int router_metrics_ready(void *self, char *reason, size_t size);

#endif
