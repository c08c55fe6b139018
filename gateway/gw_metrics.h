/* The gateway's metric series (docs/OPERATIONS.md). Updated by the lws
 * thread, read by whoever scrapes; all pointers may be NULL (no registry, as
 * in unit tests) and updates then do nothing. */
#ifndef BESEDA_GW_METRICS_H
#define BESEDA_GW_METRICS_H

#include "gw_frame.h"
#include "metrics.h"

#define GW_METRICS_KINDS GW_REQ_KIND_COUNT

typedef struct {
    beseda_metrics_t *registry;                 /* not owned */
    beseda_gauge_t *conns[2];                   /* by gw_role_t */
    beseda_counter_t *accepted[2];
    beseda_counter_t *frames_in;
    beseda_counter_t *frames_out;
    beseda_counter_t *requests[GW_METRICS_KINDS];
    beseda_counter_t *timeouts[GW_METRICS_KINDS];
    beseda_histogram_t *latency[GW_METRICS_KINDS];
    beseda_counter_t *deliveries;               /* frames sent to clients from deliveries */
    beseda_counter_t *dropped;                  /* deliveries dropped: lws thread behind */
    beseda_gauge_t *bus_connected;
    beseda_gauge_t *accepting;                  /* 1 while the listener takes new clients */
    uint64_t dropped_seen;                      /* gw_bus_dropped() already counted */
} gw_metrics_t;

void gw_metrics_init(gw_metrics_t *self, beseda_metrics_t *registry);
/* "visitor_hello", "send", ...; NULL for GW_REQ_NONE and out-of-range kinds. */
const char *gw_metrics_kind_name(gw_req_kind_t kind);
void gw_metrics_request(gw_metrics_t *self, gw_req_kind_t kind);
void gw_metrics_reply(gw_metrics_t *self, gw_req_kind_t kind, int timed_out, double ms);
/* Ready: listener accepting and the bus connected (reads gauges only, so
 * any thread may call it). */
int gw_metrics_ready(void *self, char *reason, size_t size);
/* An error frame sent with this code (registered on first use). */
void gw_metrics_error(gw_metrics_t *self, const char *code);

#endif
