/* The store's metric series (docs/OPERATIONS.md lists them). One struct,
 * filled at start from the process registry; every pointer may be NULL
 * (no registry: unit tests, admin subcommands) and updates then do nothing. */
#ifndef STORE_STORE_METRICS_H
#define STORE_STORE_METRICS_H

#include "beseda.pb-c.h"
#include "metrics.h"

typedef struct {
    beseda_request_kinds_t requests;      /* by field of StoreRequest */
    beseda_histogram_t *batch_size;
    beseda_histogram_t *commit_ms;
    beseda_counter_t *appends_ok;
    beseda_counter_t *appends_duplicate;
    beseda_counter_t *appends_refused;    /* stale_epoch, no_conversation, closed, forbidden */
    beseda_counter_t *appends_failed;     /* unavailable, bad_request, internal */
    beseda_counter_t *pg_reconnects;
    beseda_gauge_t *pg_up;
    beseda_gauge_t *migrated;             /* 1 once the migrations are applied */
    beseda_gauge_t *worker_up;            /* 1 while the bus worker serves */
    beseda_gauge_t *deferred;             /* requests received and waiting to be served */
    beseda_counter_t *skipped_expired;    /* dropped unanswered: their sender gave up */
    beseda_counter_t *skipped_resend;     /* a resend of a request already held */
    beseda_gauge_t *verifying;            /* logins waiting for their password check */
    beseda_counter_t *mail_sent;          /* the mailer thread's sends, by outcome */
    beseda_counter_t *mail_retry;
    beseda_counter_t *mail_failed;
} store_metrics_t;

/* Registers every series (each request kind gets its own up front). */
void store_metrics_init(store_metrics_t *self, beseda_metrics_t *registry);
/* One request of kind body_case (a StoreRequest field number) answered in ms. */
void store_metrics_request(store_metrics_t *self, int body_case, double ms);
/* Counts the outcome of one append from its reply (NULL: failed). */
void store_metrics_append(store_metrics_t *self, const Beseda__StoreReply *reply);
/* Ready: PostgreSQL connected, migrations applied, the worker serving. */
int store_metrics_ready(void *self, char *reason, size_t size);

#endif
