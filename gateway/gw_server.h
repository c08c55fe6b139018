/* The gateway server: libwebsockets context, connections, the bus thread.
 * main() fills a gw_config_t, calls gw_server_new and gw_server_run. */
#ifndef BESEDA_GW_SERVER_H
#define BESEDA_GW_SERVER_H

#include "gw_admission.h"
#include "gw_limits.h"
#include "metrics.h"
#include <signal.h>

#define GW_SHUTDOWN_GRACE_MS  2000   /* time clients get to receive "reconnect" */
#define GW_SHUTDOWN_REPLIES_MS 1000  /* time the requests in flight get to be answered first */

typedef struct {
    const char *host;
    int port;
    const char *web_root;
    const char *allowed_origins;   /* comma list; "" = the defaults */
    const char *trusted_proxies;   /* comma list of addresses/CIDRs whose X-Forwarded-For counts */
    const char *gateway_id;
    const char *broker;
    const char *broker_sub;
    int beat_ms;
    int request_timeout_ms;
    gw_rates_t rates;              /* frames per second and burst, per role */
    gw_limits_t limits;
    gw_admission_t admission;      /* requests in flight before "overloaded" (gw_admission.h) */
    beseda_metrics_t *metrics;     /* not owned; NULL: no metrics */
    int ops_on_main_port;          /* /metrics and /readyz on the main port (no admin listener) */
} gw_config_t;

typedef struct gw_server_t gw_server_t;

gw_server_t *gw_server_new(const gw_config_t *config);
void gw_server_destroy(gw_server_t **self_p);
/* The server's metric series (for the readiness callback of an admin
 * listener: it reads only gauges). */
void *gw_server_metrics(gw_server_t *self);
/* Serves until *stop becomes non-zero (a signal handler sets it), then stops
 * accepting, tells every client to reconnect, closes them and returns 0.
 * Returns -1 if the server could not run. */
int gw_server_run(gw_server_t *self, volatile sig_atomic_t *stop);

#endif
