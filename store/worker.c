/* See worker.h. Everything runs on one thread: libpq calls block, but they
 * are short (a batch is one round trip) and the heartbeat is sent between
 * them; the broker declares a worker dead only after 3 s of silence. */
#include "worker.h"
#include "append.h"
#include "bus.h"
#include "log.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_LEAVE_MS 2000      /* after the BYE, serve what is on its way this long at most */

struct store_worker_t {
    store_ctx_t *ctx;
    bus_worker_t *bus;
    store_batch_t *batch;
    zlist_t *deferred;           /* store_item_t * that arrived behind a batch */
    int batch_wait_ms;
    beseda_metrics_t *registry;  /* not owned; the loop beats into it */
};

void store_worker_set_registry(store_worker_t *self, beseda_metrics_t *registry)
{
    self->registry = registry;
}

store_worker_t *store_worker_new(store_ctx_t *ctx, const char *broker, const char *name,
                                 size_t batch_max, int batch_wait_ms)
{
    store_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = ctx;
    self->batch_wait_ms = batch_wait_ms;
    self->bus = bus_worker_new(broker, "store", name);
    self->batch = store_batch_new(batch_max);
    self->deferred = zlist_new();
    if (!self->bus || !self->batch || !self->deferred) {
        store_worker_destroy(&self);
        return NULL;
    }
    return self;
}

void store_worker_destroy(store_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_worker_t *self = *self_p;
    if (self->deferred) {
        store_item_t *item;
        while ((item = zlist_pop(self->deferred)))
            store_item_destroy(&item);
        zlist_destroy(&self->deferred);
    }
    store_batch_destroy(&self->batch);
    bus_worker_destroy(&self->bus);
    free(self);
    *self_p = NULL;
}

/* Waits up to timeout_ms for the bus socket; 1 if readable. */
static int wait_readable(store_worker_t *self, int timeout_ms)
{
    zmq_pollitem_t item = { zsock_resolve(bus_worker_sock(self->bus)), 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll(&item, 1, timeout_ms);
    return rc > 0 && (item.revents & ZMQ_POLLIN);
}

/* One request from the socket, decoded; NULL if none was ready. */
static store_item_t *receive(store_worker_t *self)
{
    bus_request_t *request = NULL;
    if (bus_worker_recv(self->bus, &request) != 1 || !request)
        return NULL;
    store_item_t *item = calloc(1, sizeof *item);
    if (!item) {
        bus_request_destroy(&request);
        return NULL;
    }
    item->request = request;
    if (request->body)
        item->msg = beseda__store_request__unpack(NULL, zframe_size(request->body),
                                                  zframe_data(request->body));
    return item;
}

static int is_append(const store_item_t *item)
{
    return item->msg && item->msg->body_case == BESEDA__STORE_REQUEST__BODY_APPEND;
}

/* Packs and sends; a NULL reply (the arena ran out of memory) becomes a
 * plain "internal" error so the client is not left to time out. */
static void send_reply(store_worker_t *self, const bus_request_t *request, Beseda__StoreReply *reply)
{
    Beseda__StoreReply fallback = BESEDA__STORE_REPLY__INIT;
    if (!reply) {
        fallback.error_code = (char *) store_err_code(STORE_INTERNAL);
        reply = &fallback;
    }
    size_t len = beseda__store_reply__get_packed_size(reply);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        log_error("out of memory packing a reply");
        return;
    }
    beseda__store_reply__pack(reply, buf);
    if (bus_worker_reply(self->bus, request, buf, len) != 0)
        log_warn("store reply not sent", "corr", request->corr);
    free(buf);
}

static void handle_one(store_worker_t *self, store_item_t *item)
{
    int64_t started = beseda_mono_ms();
    store_mem_t *mem = store_mem_new();
    Beseda__StoreReply *reply = mem ? store_mem_alloc(mem, sizeof *reply) : NULL;
    if (reply) {
        beseda__store_reply__init(reply);
        if (item->msg)
            store_handle(self->ctx, item->msg, reply, mem);
        else
            reply->error_code = (char *) store_err_code(STORE_BAD_REQUEST);
    }
    send_reply(self, item->request, reply);
    store_mem_destroy(&mem);
    store_metrics_request(self->ctx->metrics, item->msg ? (int) item->msg->body_case : 0,
                          (double) (beseda_mono_ms() - started));
}

/* Gathers more appends behind the first for up to batch_wait_ms; other
 * requests read meanwhile go to the deferred queue, in order. */
static void gather(store_worker_t *self)
{
    int64_t deadline = beseda_mono_ms() + self->batch_wait_ms;
    while (!store_batch_full(self->batch)) {
        int64_t left = deadline - beseda_mono_ms();
        if (!wait_readable(self, left > 0 ? (int) left : 0))
            break;
        store_item_t *item = receive(self);
        if (!item)
            continue;                    /* a heartbeat */
        if (is_append(item))
            store_batch_add(self->batch, &item);
        else if (zlist_append(self->deferred, item) == 0)
            beseda_gauge_set(self->ctx->metrics ? self->ctx->metrics->deferred : NULL,
                             (int64_t) zlist_size(self->deferred));
        else {
            handle_one(self, item);      /* cannot queue: answer now rather than drop */
            store_item_destroy(&item);
        }
    }
}

static void commit_batch(store_worker_t *self)
{
    size_t n = store_batch_count(self->batch);
    int64_t started = beseda_mono_ms();
    store_mem_t *mem = store_mem_new();
    Beseda__StoreReply **replies = mem ? store_mem_alloc(mem, n * sizeof *replies) : NULL;
    if (replies)
        store_batch_commit(self->ctx, self->batch, replies, mem);
    char count[24], ms[24];
    snprintf(count, sizeof count, "%zu", n);
    snprintf(ms, sizeof ms, "%lld", (long long) (beseda_mono_ms() - started));
    log_debug("group commit", "appends", count, "ms", ms);
    store_metrics_t *m = self->ctx->metrics;
    if (m) {
        double took = (double) (beseda_mono_ms() - started);
        beseda_histogram_observe(m->batch_size, (double) n);
        beseda_histogram_observe(m->commit_ms, took);
        for (size_t i = 0; i < n; i++) {
            store_metrics_append(m, replies ? replies[i] : NULL);
            store_metrics_request(m, BESEDA__STORE_REQUEST__BODY_APPEND, took);
        }
    }
    for (size_t i = 0; i < n; i++)
        send_reply(self, store_batch_item(self->batch, i)->request, replies ? replies[i] : NULL);
    store_mem_destroy(&mem);
    store_batch_clear(self->batch);
}

static void handle_append(store_worker_t *self, store_item_t **item_p)
{
    store_batch_add(self->batch, item_p);
    /* No database: answer at once rather than gather for nothing. */
    if (store_db_conn(self->ctx->db))
        gather(self);
    commit_batch(self);
}

static void process(store_worker_t *self, store_item_t *item)
{
    if (is_append(item))
        handle_append(self, &item);
    else
        handle_one(self, item);
    store_item_destroy(&item);
}

static int next_timeout_ms(store_worker_t *self)
{
    int timeout = bus_worker_next_tick_ms(self->bus);
    int retry = store_db_retry_in_ms(self->ctx->db);
    if (retry > 0 && retry < timeout)
        timeout = retry;
    return timeout < 0 ? 0 : timeout;
}

/* After the BYE: answers the requests read behind the last batch, then those
 * the broker routed here before it saw the BYE (its answer to the BYE comes
 * after them), so no client has to resend one to another store. Bounded by
 * STORE_LEAVE_MS for a broker that does not answer; whatever is left then is
 * resent by its client. */
static void finish(store_worker_t *self)
{
    int64_t until = beseda_mono_ms() + STORE_LEAVE_MS;
    for (;;) {
        store_item_t *item = zlist_pop(self->deferred);
        if (!item) {
            int64_t left = until - beseda_mono_ms();
            if (bus_worker_bye_acked(self->bus) || left <= 0)
                break;
            if (wait_readable(self, (int) left))
                item = receive(self);   /* NULL: a control frame (the BYE's answer) */
        }
        if (item)
            process(self, item);
    }
}

int store_worker_run(store_worker_t *self, volatile sig_atomic_t *stop)
{
    log_info("store worker serving");
    beseda_gauge_set(self->ctx->metrics ? self->ctx->metrics->worker_up : NULL, 1);
    /* A DRAIN from the broker (besedactl drain) ends the loop as SIGTERM does. */
    while (!*stop && !bus_worker_drain_requested(self->bus)) {
        beseda_metrics_beat(self->registry);
        bus_worker_tick(self->bus);
        store_item_t *item = zlist_pop(self->deferred);
        if (item && self->ctx->metrics)
            beseda_gauge_set(self->ctx->metrics->deferred, (int64_t) zlist_size(self->deferred));
        if (!item && wait_readable(self, next_timeout_ms(self)))
            item = receive(self);
        if (item)
            process(self, item);
        else
            store_db_idle(self->ctx->db);  /* notice a closed connection; reconnect when due */
    }
    bus_worker_bye(self->bus);
    finish(self);
    beseda_gauge_set(self->ctx->metrics ? self->ctx->metrics->worker_up : NULL, 0);
    log_info("store worker stopped");
    return 0;
}
