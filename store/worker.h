/* The store's request loop: a bus worker of service "store". Requests are
 * handled one at a time in arrival order, except that appends are gathered
 * into group commits (append.h); requests of other kinds that arrive while a
 * batch is gathered wait in a queue and are handled right after it. */
#ifndef STORE_WORKER_H
#define STORE_WORKER_H

#include "store.h"
#include <signal.h>

typedef struct store_worker_t store_worker_t;

/* Connects to the broker; ctx is borrowed. */
store_worker_t *store_worker_new(store_ctx_t *ctx, const char *broker, const char *name,
                                 size_t batch_max, int batch_wait_ms);
void store_worker_destroy(store_worker_t **self_p);
/* The loop beats into registry (for /healthz); not owned, may be NULL. */
void store_worker_set_registry(store_worker_t *self, beseda_metrics_t *registry);
/* Serves until *stop is set; then says BYE to the broker. Returns 0. */
int store_worker_run(store_worker_t *self, volatile sig_atomic_t *stop);

#endif
