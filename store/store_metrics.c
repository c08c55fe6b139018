/* See store_metrics.h. Request kinds are read from the protobuf descriptor
 * of StoreRequest, so a new kind gets its series without touching this file. */
#include "store_metrics.h"
#include <stdio.h>
#include <string.h>

/* Every field, ttl_ms too (it has its series, always zero). */
static const beseda_request_kinds_names_t REQUEST_NAMES = {
    "beseda_store_requests_total", "Requests answered, by kind.",
    "beseda_store_request_duration_ms", "Time from taking a request to its reply, by kind "
    "(appends: the whole group commit).",
    0,
};

static beseda_counter_t *mail_counter(beseda_metrics_t *r, const char *result)
{
    return beseda_metrics_counter(r, "beseda_store_mail_total",
                                  "Mail sends by the mailer thread: sent, retry (refused or "
                                  "unreachable, another attempt is due later), failed (given up).",
                                  "result", result);
}

static beseda_counter_t *append_counter(beseda_metrics_t *r, const char *result)
{
    return beseda_metrics_counter(r, "beseda_store_appends_total",
                                  "Appends by outcome: ok (written), duplicate (client id seen), "
                                  "refused (stale_epoch, no_conversation, closed, forbidden), "
                                  "failed (unavailable, bad_request, internal).", "result", result);
}

void store_metrics_init(store_metrics_t *self, beseda_metrics_t *r)
{
    memset(self, 0, sizeof *self);
    if (!r)
        return;
    beseda_request_kinds_init(&self->requests, r, &beseda__store_request__descriptor, &REQUEST_NAMES);
    self->batch_size = beseda_metrics_histogram(r, "beseda_store_batch_size",
                                                "Appends per group commit.", NULL, NULL,
                                                METRICS_SIZE_BOUNDS, METRICS_SIZE_COUNT);
    self->commit_ms = beseda_metrics_histogram(r, "beseda_store_commit_duration_ms",
                                               "Time of one group commit (one transaction).", NULL, NULL,
                                               METRICS_LATENCY_MS_BOUNDS, METRICS_LATENCY_MS_COUNT);
    self->mail_sent = mail_counter(r, "sent");
    self->mail_retry = mail_counter(r, "retry");
    self->mail_failed = mail_counter(r, "failed");
    self->appends_ok = append_counter(r, "ok");
    self->appends_duplicate = append_counter(r, "duplicate");
    self->appends_refused = append_counter(r, "refused");
    self->appends_failed = append_counter(r, "failed");
    self->pg_reconnects = beseda_metrics_counter(r, "beseda_store_pg_connects_total",
                                                 "Successful PostgreSQL connections (the first and "
                                                 "every reconnection).", NULL, NULL);
    self->pg_up = beseda_metrics_gauge(r, "beseda_store_pg_up", "1 while connected to PostgreSQL.",
                                       NULL, NULL);
    self->migrated = beseda_metrics_gauge(r, "beseda_store_migrations_applied",
                                          "1 once the schema migrations are applied.", NULL, NULL);
    self->worker_up = beseda_metrics_gauge(r, "beseda_store_worker_up",
                                           "1 while the bus worker serves requests.", NULL, NULL);
    self->deferred = beseda_metrics_gauge(r, "beseda_store_deferred",
                                          "Requests received and waiting to be served.", NULL, NULL);
    self->skipped_expired = beseda_metrics_counter(r, "beseda_store_skipped_total",
                                                   "Requests dropped unanswered: expired (the sender's "
                                                   "deadline passed before the store reached them) or "
                                                   "resend (a copy of a request already held).",
                                                   "reason", "expired");
    self->skipped_resend = beseda_metrics_counter(r, "beseda_store_skipped_total",
                                                  "Requests dropped unanswered: expired (the sender's "
                                                  "deadline passed before the store reached them) or "
                                                  "resend (a copy of a request already held).",
                                                  "reason", "resend");
    self->verifying = beseda_metrics_gauge(r, "beseda_store_logins_verifying",
                                           "Logins waiting for their password verification "
                                           "(off the request loop).", NULL, NULL);
}

void store_metrics_request(store_metrics_t *self, int body_case, double ms)
{
    if (self)
        beseda_request_kinds_observe(&self->requests, body_case, ms);
}

void store_metrics_append(store_metrics_t *self, const Beseda__StoreReply *reply)
{
    if (!self)
        return;
    if (!reply || (reply->error_code && *reply->error_code) || !reply->append || !reply->append->status)
        beseda_counter_inc(self->appends_failed);
    else if (strcmp(reply->append->status, "ok") == 0)
        beseda_counter_inc(self->appends_ok);
    else if (strcmp(reply->append->status, "duplicate") == 0)
        beseda_counter_inc(self->appends_duplicate);
    else
        beseda_counter_inc(self->appends_refused);
}

int store_metrics_ready(void *arg, char *reason, size_t size)
{
    store_metrics_t *self = arg;
    if (!beseda_gauge_get(self->pg_up))
        snprintf(reason, size, "PostgreSQL is not connected");
    else if (!beseda_gauge_get(self->migrated))
        snprintf(reason, size, "migrations are not applied yet");
    else if (!beseda_gauge_get(self->worker_up))
        snprintf(reason, size, "the bus worker is not serving");
    else
        return 1;
    return 0;
}
