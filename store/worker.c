/* See worker.h. One thread serves the bus and PostgreSQL; password hashing
 * runs on the auth pool's threads (auth_pool.h).
 *
 * Requests are read off the socket as soon as the loop is free and held in
 * memory, in two arrival-ordered queues (appends, everything else), so that
 * the store knows what it holds:
 * - a resend (same client route and correlation id) of a request still held
 *   is dropped: the bus client resends every BUS_ATTEMPT_MS, and an
 *   overloaded store must not get the same work several times;
 * - a request whose sender stopped waiting (StoreRequest.ttl_ms counted from
 *   when it was received) is dropped unanswered when its turn comes: work
 *   nobody waits for is not done, so a backlog dies out with its deadlines
 *   instead of outliving the load.
 * Group commit without idle waiting: when an append's turn comes, every
 * append already queued (up to BESEDA_BATCH_MAX) goes into one transaction;
 * what arrives meanwhile forms the next batch. Under load (the previous
 * batch held more than one append) BESEDA_BATCH_WAIT_MS adds a wait for more
 * appends before committing: fewer, larger commits cost less CPU per append
 * on a busy machine; a quiet store never waits. */
#include "worker.h"
#include "append.h"
#include "auth_pool.h"
#include "bus.h"
#include "log.h"
#include "util.h"
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_LEAVE_MS 2000      /* after the BYE, serve what is on its way this long at most */
#define STORE_HELD_MAX 20000     /* requests held in memory; more wait in the socket */

/* A login whose password is being verified on the auth pool. */
typedef struct {
    store_item_t *item;
    store_mem_t *mem;
    Beseda__StoreReply *reply;
    store_login_t login;
    int64_t started_ms;
} login_wait_t;

struct store_worker_t {
    store_ctx_t *ctx;
    bus_worker_t *bus;
    store_batch_t *batch;
    zlist_t *appends;            /* store_item_t *, arrival order */
    zlist_t *others;             /* store_item_t *, arrival order */
    zhashx_t *held;              /* item key -> item, for every request not yet answered */
    uint64_t next_seq;
    int batch_wait_ms;
    size_t last_batch;           /* appends in the previous group commit */
    store_auth_pool_t *auth;     /* NULL: passwords are verified on the loop */
    zhashx_t *logins;            /* login id (text) -> login_wait_t * */
    uint64_t next_login;
    beseda_metrics_t *registry;  /* not owned; the loop beats into it */
};

void store_worker_set_registry(store_worker_t *self, beseda_metrics_t *registry)
{
    self->registry = registry;
}

static void login_wait_free(login_wait_t **w_p)
{
    login_wait_t *w = *w_p;
    if (!w)
        return;
    store_item_destroy(&w->item);
    store_mem_destroy(&w->mem);
    free(w);
    *w_p = NULL;
}

static void login_wait_destructor(void **item)
{
    login_wait_free((login_wait_t **) item);
}

store_worker_t *store_worker_new(store_ctx_t *ctx, const char *broker, const char *name,
                                 size_t batch_max, int batch_wait_ms, int auth_threads)
{
    store_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = ctx;
    self->batch_wait_ms = batch_wait_ms;
    self->bus = bus_worker_new(broker, "store", name);
    self->batch = store_batch_new(batch_max);
    self->appends = zlist_new();
    self->others = zlist_new();
    self->held = zhashx_new();
    self->logins = zhashx_new();
    self->auth = auth_threads > 0 ? store_auth_pool_new(auth_threads) : NULL;
    if (!self->bus || !self->batch || !self->appends || !self->others || !self->held
        || !self->logins || (auth_threads > 0 && !self->auth)) {
        store_worker_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->logins, login_wait_destructor);
    return self;
}

static void drain_list(zlist_t **list_p)
{
    if (!*list_p)
        return;
    store_item_t *item;
    while ((item = zlist_pop(*list_p)))
        store_item_destroy(&item);
    zlist_destroy(list_p);
}

void store_worker_destroy(store_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_worker_t *self = *self_p;
    store_auth_pool_destroy(&self->auth);      /* joins the threads first */
    zhashx_destroy(&self->logins);
    drain_list(&self->appends);
    drain_list(&self->others);
    zhashx_destroy(&self->held);
    store_batch_destroy(&self->batch);
    bus_worker_destroy(&self->bus);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ intake */

static int is_append(const store_item_t *item)
{
    return item->msg && item->msg->body_case == BESEDA__STORE_REQUEST__BODY_APPEND;
}

static size_t queued(const store_worker_t *self)
{
    return zlist_size(self->appends) + zlist_size(self->others);
}

static void gauge_queue(store_worker_t *self)
{
    if (self->ctx->metrics)
        beseda_gauge_set(self->ctx->metrics->deferred, (int64_t) queued(self));
}

/* One request from the socket, decoded and stamped; NULL if none was ready
 * or it could not be held. */
static store_item_t *receive(store_worker_t *self)
{
    bus_request_t *request = NULL;
    if (bus_worker_recv(self->bus, &request) != 1 || !request)
        return NULL;
    store_item_t *item = calloc(1, sizeof *item);
    char *route = item ? zframe_strhex(request->route) : NULL;
    if (item)
        item->key = route ? zsys_sprintf("%s/%s", route, request->corr) : NULL;
    free(route);
    if (!item || !item->key) {
        log_error("store request dropped: out of memory", "corr", request->corr);
        free(item);
        bus_request_destroy(&request);
        return NULL;
    }
    item->request = request;
    item->seq = ++self->next_seq;
    if (request->body)
        item->msg = beseda__store_request__unpack(NULL, zframe_size(request->body),
                                                  zframe_data(request->body));
    if (item->msg && item->msg->ttl_ms)
        item->deadline_ms = beseda_mono_ms() + item->msg->ttl_ms;
    return item;
}

/* Holds item in its queue, unless a copy of it is held already. */
static void hold(store_worker_t *self, store_item_t *item)
{
    if (zhashx_lookup(self->held, item->key)) {
        beseda_counter_inc(self->ctx->metrics ? self->ctx->metrics->skipped_resend : NULL);
        log_debug("resend of a request already held dropped", "corr", item->request->corr);
        store_item_destroy(&item);
        return;
    }
    zlist_t *list = is_append(item) ? self->appends : self->others;
    if (zhashx_insert(self->held, item->key, item) != 0 || zlist_append(list, item) != 0) {
        zhashx_delete(self->held, item->key);
        log_error("store request dropped: out of memory", "corr", item->request->corr);
        store_item_destroy(&item);
    }
}

/* Reads everything the socket has ready (up to STORE_HELD_MAX held). */
static void intake(store_worker_t *self)
{
    zsock_t *sock = bus_worker_sock(self->bus);
    while (zhashx_size(self->held) < STORE_HELD_MAX && (zsock_events(sock) & ZMQ_POLLIN)) {
        store_item_t *item = receive(self);
        if (item)
            hold(self, item);
    }
    gauge_queue(self);
}

/* Waits up to timeout_ms for the bus socket or a password verdict. */
static void wait_input(store_worker_t *self, int timeout_ms)
{
    zmq_pollitem_t items[2] = {
        { zsock_resolve(bus_worker_sock(self->bus)), 0, ZMQ_POLLIN, 0 },
        { NULL, self->auth ? store_auth_pool_fd(self->auth) : -1, ZMQ_POLLIN, 0 },
    };
    zmq_poll(items, self->auth ? 2 : 1, timeout_ms);
}

/* ------------------------------------------------------------ replies */

/* The request is answered (or given up): resends are served again from now. */
static void forget(store_worker_t *self, store_item_t **item_p)
{
    if (*item_p && (*item_p)->key && zhashx_lookup(self->held, (*item_p)->key) == *item_p)
        zhashx_delete(self->held, (*item_p)->key);
    store_item_destroy(item_p);
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

static int body_case(const store_item_t *item)
{
    return item->msg ? (int) item->msg->body_case : 0;
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
    store_metrics_request(self->ctx->metrics, body_case(item), (double) (beseda_mono_ms() - started));
}

/* ------------------------------------------------------------ logins */

static void gauge_logins(store_worker_t *self)
{
    if (self->ctx->metrics)
        beseda_gauge_set(self->ctx->metrics->verifying, (int64_t) zhashx_size(self->logins));
}

/* Looks the operator up and hands the password check to the pool; the
 * login is finished by take_verdicts. Answers now when the lookup fails or
 * the pool cannot take it (then the check runs here, as before the pool). */
static void login_begin(store_worker_t *self, store_item_t **item_p)
{
    login_wait_t *w = calloc(1, sizeof *w);
    store_mem_t *mem = store_mem_new();
    Beseda__StoreReply *reply = mem ? store_mem_alloc(mem, sizeof *reply) : NULL;
    if (!w || !reply) {
        free(w);
        store_mem_destroy(&mem);
        handle_one(self, *item_p);        /* answers "internal" if memory stays short */
        forget(self, item_p);
        return;
    }
    beseda__store_reply__init(reply);
    *w = (login_wait_t) { .item = *item_p, .mem = mem, .reply = reply,
                          .started_ms = beseda_mono_ms() };
    *item_p = NULL;
    const Beseda__StoreOperatorLogin *req = w->item->msg->operator_login;
    store_err_t err = store_login_lookup(self->ctx, req, reply, mem, &w->login);
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, ++self->next_login);
    if (err == STORE_OK
        && store_auth_pool_submit(self->auth, self->next_login, w->login.hash, req->password,
                                  w->item->deadline_ms) == 0
        && zhashx_insert(self->logins, id, w) == 0) {
        gauge_logins(self);
        return;
    }
    if (err == STORE_OK)   /* not queued (no memory): verify here; a stray verdict is ignored */
        err = store_login_finish(self->ctx, req, reply, mem, &w->login,
                                 crypto_pwhash_str_verify(w->login.hash, req->password,
                                                          strlen(req->password)) == 0);
    store_reply_error(reply, err);
    send_reply(self, w->item->request, reply);
    store_metrics_request(self->ctx->metrics, body_case(w->item),
                          (double) (beseda_mono_ms() - w->started_ms));
    forget(self, &w->item);
    login_wait_free(&w);
}

static void login_end(store_worker_t *self, login_wait_t *w, auth_verdict_t verdict)
{
    if (verdict == AUTH_EXPIRED) {
        beseda_counter_inc(self->ctx->metrics ? self->ctx->metrics->skipped_expired : NULL);
        log_debug("login dropped: its sender stopped waiting", "corr", w->item->request->corr);
    } else {
        store_err_t err = store_login_finish(self->ctx, w->item->msg->operator_login, w->reply,
                                             w->mem, &w->login, verdict == AUTH_GOOD);
        store_reply_error(w->reply, err);
        send_reply(self, w->item->request, w->reply);
        store_metrics_request(self->ctx->metrics, body_case(w->item),
                              (double) (beseda_mono_ms() - w->started_ms));
    }
    forget(self, &w->item);
}

/* Finishes every login whose password was checked. */
static void take_verdicts(store_worker_t *self)
{
    uint64_t id;
    auth_verdict_t verdict;
    while (self->auth && store_auth_pool_take(self->auth, &id, &verdict) == 1) {
        char key[24];
        snprintf(key, sizeof key, "%" PRIu64, id);
        login_wait_t *w = zhashx_lookup(self->logins, key);
        if (!w)
            continue;
        login_end(self, w, verdict);
        zhashx_delete(self->logins, key);     /* frees w */
        gauge_logins(self);
    }
}

/* ------------------------------------------------------------ appends */

static bool expired(const store_item_t *item, int64_t now)
{
    return item->deadline_ms && now >= item->deadline_ms;
}

/* Pops the head of list, dropping (unanswered) what expired before it. */
static store_item_t *pop_live(store_worker_t *self, zlist_t *list)
{
    store_item_t *item;
    int64_t now = beseda_mono_ms();
    while ((item = zlist_pop(list)) && expired(item, now)) {
        beseda_counter_inc(self->ctx->metrics ? self->ctx->metrics->skipped_expired : NULL);
        log_debug("request dropped: its sender stopped waiting", "corr", item->request->corr);
        forget(self, &item);
    }
    return item;
}

/* Moves queued appends into the batch until it is full or none is left. */
static void take_appends(store_worker_t *self)
{
    while (!store_batch_full(self->batch)) {
        store_item_t *item = pop_live(self, self->appends);
        if (!item)
            break;
        store_batch_add(self->batch, &item);
    }
}

/* BESEDA_BATCH_WAIT_MS > 0: waits that long for more appends to join. */
static void gather(store_worker_t *self)
{
    int64_t deadline = beseda_mono_ms() + self->batch_wait_ms;
    for (;;) {
        take_appends(self);
        int64_t left = deadline - beseda_mono_ms();
        if (store_batch_full(self->batch) || left <= 0)
            break;
        zmq_pollitem_t item = { zsock_resolve(bus_worker_sock(self->bus)), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, (long) left) <= 0)
            break;
        intake(self);
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
    double took = (double) (beseda_mono_ms() - started);
    char count[24], ms[24];
    snprintf(count, sizeof count, "%zu", n);
    snprintf(ms, sizeof ms, "%.0f", took);
    log_debug("group commit", "appends", count, "ms", ms);
    store_metrics_t *m = self->ctx->metrics;
    if (m) {
        beseda_histogram_observe(m->batch_size, (double) n);
        beseda_histogram_observe(m->commit_ms, took);
    }
    for (size_t i = 0; i < n; i++) {
        store_item_t *item = store_batch_item(self->batch, i);
        send_reply(self, item->request, replies ? replies[i] : NULL);
        store_metrics_append(m, replies ? replies[i] : NULL);
        store_metrics_request(m, BESEDA__STORE_REQUEST__BODY_APPEND,
                              (double) (beseda_mono_ms() - started));
        if (zhashx_lookup(self->held, item->key) == item)
            zhashx_delete(self->held, item->key);
    }
    store_mem_destroy(&mem);
    store_batch_clear(self->batch);
}

/* An append's turn: it and the appends queued behind it, in one commit. */
static void serve_appends(store_worker_t *self, store_item_t *first)
{
    store_batch_add(self->batch, &first);
    /* No database: answer at once rather than gather for nothing. Waiting
     * for more pays only under load (the last batch was not alone): a lone
     * append at a quiet moment is committed at once. */
    if (store_db_conn(self->ctx->db)) {
        if (self->batch_wait_ms > 0 && self->last_batch > 1)
            gather(self);
        else
            take_appends(self);
    }
    self->last_batch = store_batch_count(self->batch);
    commit_batch(self);
}

/* ------------------------------------------------------------ loop */

/* The oldest live request of either queue, or NULL. */
static store_item_t *next_item(store_worker_t *self, bool *append)
{
    for (;;) {
        store_item_t *a = zlist_first(self->appends), *o = zlist_first(self->others);
        if (!a && !o)
            return NULL;
        *append = a && (!o || a->seq < o->seq);
        store_item_t *item = pop_live(self, *append ? self->appends : self->others);
        if (item)
            return item;
    }
}

static void serve(store_worker_t *self, store_item_t *item, bool append)
{
    if (append)
        serve_appends(self, item);
    else if (self->auth && body_case(item) == BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGIN)
        login_begin(self, &item);
    else {
        handle_one(self, item);
        forget(self, &item);
    }
}

/* cap_ms >= 0 (leaving): no more heartbeats, wait at most that long. */
static int next_timeout_ms(store_worker_t *self, int cap_ms)
{
    int timeout = cap_ms >= 0 ? cap_ms : bus_worker_next_tick_ms(self->bus);
    int retry = store_db_retry_in_ms(self->ctx->db);
    if (retry > 0 && retry < timeout)
        timeout = retry;
    return timeout < 0 ? 0 : timeout;
}

/* One turn: read what arrived, finish checked logins, serve the oldest
 * request; with nothing to do, wait up to the next timer (leaving: cap_ms). */
static void turn(store_worker_t *self, int cap_ms)
{
    intake(self);
    take_verdicts(self);
    bool append = false;
    store_item_t *item = next_item(self, &append);
    if (!item) {
        wait_input(self, next_timeout_ms(self, cap_ms));
        intake(self);
        take_verdicts(self);
        item = next_item(self, &append);
    }
    if (item)
        serve(self, item, append);
    else
        store_db_idle(self->ctx->db);  /* notice a closed connection; reconnect when due */
    gauge_queue(self);
}

/* After the BYE: serves what is held, the logins under verification, and
 * what the broker routed here before it saw the BYE (its answer to the BYE
 * comes after them), so no client has to resend one to another store.
 * Bounded by STORE_LEAVE_MS for a broker that does not answer; whatever is
 * left then is resent by its client. */
static void finish(store_worker_t *self)
{
    int64_t until = beseda_mono_ms() + STORE_LEAVE_MS;
    for (;;) {
        int64_t left = until - beseda_mono_ms();
        bool idle = queued(self) == 0 && zhashx_size(self->logins) == 0;
        if (left <= 0 || (idle && bus_worker_bye_acked(self->bus)))
            break;
        turn(self, (int) left);
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
        turn(self, -1);
    }
    bus_worker_bye(self->bus);
    finish(self);
    beseda_gauge_set(self->ctx->metrics ? self->ctx->metrics->worker_up : NULL, 0);
    log_info("store worker stopped");
    return 0;
}
