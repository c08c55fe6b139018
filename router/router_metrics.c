/* See router_metrics.h. Request kinds come from RouterRequest's descriptor
 * and store steps from job_step_name(), so both stay in step with the code. */
#include "router_metrics.h"
#include <stdio.h>
#include <string.h>

static const beseda_request_kinds_names_t REQUEST_NAMES = {
    "beseda_router_requests_total", "Gateway requests answered, by kind.",
    "beseda_router_request_duration_ms", "Time from a gateway request to its answer, by kind.",
    1,
};

static void init_store(router_metrics_t *self, beseda_metrics_t *r)
{
    /* Every step that has a name (job_step_name() answers "?" past the last). */
    for (int s = STEP_HELLO; s < ROUTER_METRICS_STEPS; s++) {
        const char *step = job_step_name((job_step_t) s);
        if (!step || strcmp(step, "?") == 0)
            continue;
        self->store_calls[s] = beseda_metrics_counter(r, "beseda_router_store_calls_total",
                                                      "Requests sent to the store, by step.", "step", step);
        self->store_latency[s] = beseda_metrics_histogram(r, "beseda_router_store_call_duration_ms",
                                                          "Time from a store request to its answer "
                                                          "(or timeout), by step.", "step", step,
                                                          METRICS_LATENCY_MS_BOUNDS,
                                                          METRICS_LATENCY_MS_COUNT);
    }
    self->store_timeouts = beseda_metrics_counter(r, "beseda_router_store_timeouts_total",
                                                  "Store requests that got no answer in time.", NULL, NULL);
    self->skipped_expired = beseda_metrics_counter(r, "beseda_router_skipped_total",
                                                   "Gateway requests dropped unanswered: expired (the "
                                                   "gateway's deadline passed before the router reached "
                                                   "them).", "reason", "expired");
    self->pending = beseda_metrics_gauge(r, "beseda_router_pending",
                                         "Jobs waiting for a store answer (continuations).", NULL, NULL);
}

static void init_redis(router_metrics_t *self, beseda_metrics_t *r)
{
    self->redis_calls = beseda_metrics_counter(r, "beseda_router_redis_calls_total",
                                               "Redis round trips (commands sent).", NULL, NULL);
    self->redis_errors = beseda_metrics_counter(r, "beseda_router_redis_errors_total",
                                                "Redis commands that failed or found Redis unreachable.",
                                                NULL, NULL);
    self->redis_latency = beseda_metrics_histogram(r, "beseda_router_redis_duration_ms",
                                                   "Time of one Redis round trip.", NULL, NULL,
                                                   METRICS_LATENCY_MS_BOUNDS, METRICS_LATENCY_MS_COUNT);
    self->redis_up = beseda_metrics_gauge(r, "beseda_router_redis_up",
                                          "1 while the last Redis round trip worked.", NULL, NULL);
}

static beseda_counter_t *assignment(beseda_metrics_t *r, const char *result)
{
    return beseda_metrics_counter(r, "beseda_router_assignments_total",
                                  "Assignment changes published: assigned (from the queue), "
                                  "reassigned (from an offline operator), requeued (back to the queue).",
                                  "result", result);
}

void router_metrics_init(router_metrics_t *self, beseda_metrics_t *r)
{
    memset(self, 0, sizeof *self);
    self->registry = r;
    if (!r)
        return;
    beseda_request_kinds_init(&self->requests, r, &beseda__router_request__descriptor, &REQUEST_NAMES);
    init_store(self, r);
    init_redis(self, r);
    self->assign_assigned = assignment(r, "assigned");
    self->assign_reassigned = assignment(r, "reassigned");
    self->assign_requeued = assignment(r, "requeued");
    self->queued = beseda_metrics_counter(r, "beseda_router_queued_total",
                                          "Conversations left in the queue: no operator was free.",
                                          NULL, NULL);
    self->broker_connected = beseda_metrics_gauge(r, "beseda_router_broker_connected",
                                                  "1 while the broker was heard from within "
                                                  "three heartbeats.", NULL, NULL);
}

void router_metrics_request(router_metrics_t *self, int body_case, double ms)
{
    beseda_request_kinds_observe(&self->requests, body_case, ms);
}

void router_metrics_error(router_metrics_t *self, const char *code)
{
    if (!self->registry || !code)
        return;
    /* Errors are the exception; a registry lookup costs less than the reply. */
    beseda_counter_inc(beseda_metrics_counter(self->registry, "beseda_router_errors_total",
                                              "Gateway requests answered with an error, by code.",
                                              "code", code));
}

void router_metrics_store_call(router_metrics_t *self, job_step_t step)
{
    if ((unsigned) step < ROUTER_METRICS_STEPS)
        beseda_counter_inc(self->store_calls[step]);
}

void router_metrics_store_reply(router_metrics_t *self, job_step_t step, int timed_out, double ms)
{
    if (timed_out)
        beseda_counter_inc(self->store_timeouts);
    if ((unsigned) step < ROUTER_METRICS_STEPS)
        beseda_histogram_observe(self->store_latency[step], ms);
}

int router_metrics_ready(void *arg, char *reason, size_t size)
{
    router_metrics_t *self = arg;
    if (!beseda_gauge_get(self->broker_connected))
        snprintf(reason, size, "the broker has not been heard from recently");
    else if (!beseda_gauge_get(self->redis_up))
        snprintf(reason, size, "Redis is not reachable");
    else
        return 1;
    return 0;
}
