/* The admin HTTP listener every process can run beside its work (libmicrohttpd,
 * its own thread): GET /metrics (Prometheus text 0.0.4), GET /healthz (200
 * "ok" while the process loop beats, 503 when it has not for
 * ADMIN_STALL_MS after a first beat; before it, "ok: starting"), GET /readyz (200 "ready" when the process can do its job,
 * else 503 with the reason). Anything else is 404, other methods 405.
 *
 * The readiness callback runs on the listener's thread: it must only read
 * atomics (gauges of the registry), never the process's own structures. */
#ifndef BESEDA_ADMIN_HTTP_H
#define BESEDA_ADMIN_HTTP_H

#include "metrics.h"
#include <stddef.h>

#define ADMIN_STALL_MS          10000   /* a loop silent this long is not healthy */
#define ADMIN_MAX_CONNECTIONS      32
#define ADMIN_TIMEOUT_S             5   /* idle admin connections are closed */
#define ADMIN_PROBE_TIMEOUT_MS   2000

/* Returns 1 if ready; else 0 and writes why into reason (a short sentence). */
typedef int (beseda_ready_fn)(void *arg, char *reason, size_t size);

typedef struct beseda_admin_t beseda_admin_t;

/* Starts listening on addr ("host:port", "[v6]:port" or ":port" for every
 * interface). Returns NULL (and logs why) on a bad address or a failed bind. */
beseda_admin_t *beseda_admin_new(const char *addr, beseda_metrics_t *metrics,
                                 beseda_ready_fn *ready, void *ready_arg);
void beseda_admin_destroy(beseda_admin_t **self_p);

/* /healthz and /readyz answers, shared with the gateway, which serves them
 * on its own HTTP port: fills body, returns the HTTP status. */
int beseda_admin_health(beseda_metrics_t *metrics, char *body, size_t size);
int beseda_admin_readiness(beseda_ready_fn *ready, void *arg, char *body, size_t size);

/* Checks that addr parses as the listener would accept it (for start-up
 * validation of the configuration). */
int beseda_admin_addr_valid(const char *addr);

/* The --healthcheck mode of every binary: GET path on addr (the listener of
 * a running process), print the body on stdout. Returns 0 on HTTP 200, 1
 * otherwise (unreachable, timeout, other status). No curl in the image. */
int beseda_admin_probe(const char *addr, const char *path);

/* If argv holds "--healthcheck", removes it and returns 1 (the binary then
 * parses its configuration as usual and probes instead of serving). */
int beseda_admin_take_healthcheck_flag(int *argc, char **argv);

#endif
