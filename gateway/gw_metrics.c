/* See gw_metrics.h. Error codes are registered on first use (the registry
 * returns the same series afterwards); everything else up front. */
#include "gw_metrics.h"
#include <stdio.h>
#include <string.h>

static const char *KIND_NAMES[GW_METRICS_KINDS] = {
    [GW_REQ_PING] = "ping",
    [GW_REQ_VISITOR_HELLO] = "visitor_hello",
    [GW_REQ_OPERATOR_LOGIN] = "operator_login",
    [GW_REQ_OPERATOR_RESUME] = "operator_resume",
    [GW_REQ_SEND] = "send",
    [GW_REQ_TYPING] = "typing",
    [GW_REQ_SYNC] = "sync",
    [GW_REQ_STATUS] = "status",
    [GW_REQ_HISTORY] = "history",
    [GW_REQ_CLOSE] = "close",
    [GW_REQ_PRESENCE_BEAT] = "presence_beat",
    [GW_REQ_OPERATOR_GONE] = "operator_gone",
    [GW_REQ_LOGOUT] = "logout",
    [GW_REQ_ACCEPT] = "accept",
    [GW_REQ_TRANSFER] = "transfer",
    [GW_REQ_TEAM_SEND] = "team_send",
    [GW_REQ_TEAM_SYNC] = "team_sync",
    [GW_REQ_SURVEY] = "survey",
    [GW_REQ_OFFLINE] = "offline",
    [GW_REQ_TRANSCRIPT] = "transcript",
    [GW_REQ_API_SETTINGS_GET] = "api_settings_get",
    [GW_REQ_API_SETTINGS_PUT] = "api_settings_put",
    [GW_REQ_API_OPERATORS] = "api_operators",
    [GW_REQ_API_STATUS] = "api_status",
    [GW_REQ_API_MAIL_OUTBOX] = "api_mail_outbox",
    [GW_REQ_API_INBOX] = "api_inbox",
    [GW_REQ_API_ARCHIVE] = "api_archive",
};

const char *gw_metrics_kind_name(gw_req_kind_t kind)
{
    return (unsigned) kind < GW_METRICS_KINDS ? KIND_NAMES[kind] : NULL;
}

static void init_kinds(gw_metrics_t *self, beseda_metrics_t *r)
{
    for (int k = 0; k < GW_METRICS_KINDS; k++) {
        const char *name = KIND_NAMES[k];
        if (!name || k == GW_REQ_PING)
            continue;           /* ping never reaches the bus */
        self->requests[k] = beseda_metrics_counter(r, "beseda_gateway_requests_total",
                                                   "Requests to the routers that finished (answered or timed out), by kind.", "kind", name);
        self->timeouts[k] = beseda_metrics_counter(r, "beseda_gateway_request_timeouts_total",
                                                   "Requests that got no answer in time, by kind.",
                                                   "kind", name);
        self->latency[k] = beseda_metrics_histogram(r, "beseda_gateway_request_duration_ms",
                                                    "Time from a request to its answer (or timeout), "
                                                    "by kind.", "kind", name,
                                                    METRICS_LATENCY_MS_BOUNDS, METRICS_LATENCY_MS_COUNT);
    }
}

void gw_metrics_init(gw_metrics_t *self, beseda_metrics_t *r)
{
    memset(self, 0, sizeof *self);
    self->registry = r;
    if (!r)
        return;
    static const char *ROLES[2] = { [GW_ROLE_VISITOR] = "visitor", [GW_ROLE_OPERATOR] = "operator" };
    for (int i = 0; i < 2; i++) {
        self->conns[i] = beseda_metrics_gauge(r, "beseda_gateway_connections",
                                              "Open WebSocket connections, by role.", "role", ROLES[i]);
        self->accepted[i] = beseda_metrics_counter(r, "beseda_gateway_connections_accepted_total",
                                                   "WebSocket connections accepted, by role.",
                                                   "role", ROLES[i]);
    }
    self->frames_in = beseda_metrics_counter(r, "beseda_gateway_frames_in_total",
                                             "WebSocket messages received from clients.", NULL, NULL);
    self->frames_out = beseda_metrics_counter(r, "beseda_gateway_frames_out_total",
                                              "WebSocket messages queued to clients.", NULL, NULL);
    init_kinds(self, r);
    self->deliveries = beseda_metrics_counter(r, "beseda_gateway_deliveries_total",
                                              "Frames sent to clients from bus deliveries.", NULL, NULL);
    self->dropped = beseda_metrics_counter(r, "beseda_gateway_deliveries_dropped_total",
                                           "Deliveries dropped because the connection thread was behind "
                                           "(clients resume with sync).", NULL, NULL);
    self->bus_connected = beseda_metrics_gauge(r, "beseda_gateway_bus_connected",
                                               "1 while the bus thread is connected to the broker.",
                                               NULL, NULL);
    self->accepting = beseda_metrics_gauge(r, "beseda_gateway_accepting",
                                           "1 while the listener takes new clients (0 when stopping).",
                                           NULL, NULL);
}

int gw_metrics_ready(void *arg, char *reason, size_t size)
{
    gw_metrics_t *self = arg;
    if (!beseda_gauge_get(self->accepting))
        snprintf(reason, size, "the listener is not accepting (starting or stopping)");
    else if (!beseda_gauge_get(self->bus_connected))
        snprintf(reason, size, "the bus thread is not connected to the broker");
    else
        return 1;
    return 0;
}

void gw_metrics_request(gw_metrics_t *self, gw_req_kind_t kind)
{
    if (self && (unsigned) kind < GW_METRICS_KINDS)
        beseda_counter_inc(self->requests[kind]);
}

void gw_metrics_reply(gw_metrics_t *self, gw_req_kind_t kind, int timed_out, double ms)
{
    if (!self || (unsigned) kind >= GW_METRICS_KINDS)
        return;
    if (timed_out)
        beseda_counter_inc(self->timeouts[kind]);
    beseda_histogram_observe(self->latency[kind], ms);
}

void gw_metrics_error(gw_metrics_t *self, const char *code)
{
    if (!self || !self->registry || !code)
        return;
    /* Error frames are rare next to messages; the registry lookup (a mutex
     * and a short scan) costs less than the frame itself. */
    beseda_counter_inc(beseda_metrics_counter(self->registry, "beseda_gateway_errors_total",
                                              "Error frames sent to clients, by code (PROTOCOL.md).",
                                              "code", code));
}
