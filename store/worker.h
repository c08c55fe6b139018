/* The store's request loop: a bus worker of service "store". Requests are
 * read as soon as the loop is free and held in arrival order; they are served
 * one at a time, except that an append's turn takes every append queued
 * behind it into one group commit (append.h), and that passwords are checked
 * on the auth pool's threads (auth_pool.h). A resend of a request still held
 * is dropped; a request whose ttl_ms ran out before its turn is dropped
 * unanswered (worker.c). */
#ifndef STORE_WORKER_H
#define STORE_WORKER_H

#include "store.h"
#include <signal.h>

typedef struct store_worker_t store_worker_t;

/* Connects to the broker; ctx is borrowed. auth_threads: password
 * verification threads (0: verify on the loop). */
store_worker_t *store_worker_new(store_ctx_t *ctx, const char *broker, const char *name,
                                 size_t batch_max, int batch_wait_ms, int auth_threads);
void store_worker_destroy(store_worker_t **self_p);
/* The loop beats into registry (for /healthz); not owned, may be NULL. */
void store_worker_set_registry(store_worker_t *self, beseda_metrics_t *registry);
/* Serves until *stop is set; then says BYE to the broker. Returns 0. */
int store_worker_run(store_worker_t *self, volatile sig_atomic_t *stop);

#endif
