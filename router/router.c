/* The router's loop and dispatch: decode a gateway request, hand it to its
 * handler (one switch, one handler per request kind, in visitor.c,
 * operator.c and chat.c); decode a store reply, take its job out of the
 * pending table and run the job's next step. See router.h. */
#include "router.h"
#include "assign.h"
#include "routing.h"
#include "log.h"
#include "team.h"
#include "transfer.h"
#include "api.h"
#include "visitor.h"
#include "visitor_forms.h"
#include "util.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_MAX_WAIT_MS   1000   /* wake at least this often to check the stop flag */
#define DRAIN_BATCH        100    /* messages read per readiness before polling again */

static void op_name_free(void **item)
{
    free(*item);
    *item = NULL;
}

router_t *router_new(const router_config_t *cfg)
{
    router_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    token_key_derive(cfg->secret, self->token_key);
    self->worker = bus_worker_new(cfg->broker, ROUTER_SERVICE, cfg->name);
    self->store = bus_client_new(cfg->broker);
    self->pub = bus_pub_new(cfg->broker_pub);
    self->redis = redis_new(cfg->redis_host, cfg->redis_port);
    self->presence = self->redis ? presence_new(self->redis, cfg->presence_ttl_ms,
                                                          cfg->reassign_grace_ms) : NULL;
    self->pending = pending_table_new();
    self->convs = conv_cache_new(CONV_CACHE_MAX, CONV_CACHE_TTL_MS);
    self->op_names = zhashx_new();
    self->inflight = zhashx_new();
    self->assigning = claim_set_new(CLAIMS_MAX);
    router_metrics_init(&self->metrics, cfg->metrics);
    if (self->redis)
        redis_set_metrics(self->redis, self->metrics.redis_calls, self->metrics.redis_errors,
                          self->metrics.redis_latency, self->metrics.redis_up);
    if (!self->worker || !self->store || !self->pub || !self->redis || !self->presence
        || !self->pending || !self->convs || !self->op_names || !self->inflight
        || !self->assigning) {
        log_error("router cannot start: sockets or memory");
        router_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->op_names, op_name_free);
    return self;
}

void router_destroy(router_t **self_p)
{
    router_t *self = *self_p;
    if (!self)
        return;
    pending_table_destroy(&self->pending);
    bus_worker_destroy(&self->worker);
    bus_client_destroy(&self->store);
    zsock_destroy(&self->pub);
    presence_destroy(&self->presence);
    redis_destroy(&self->redis);
    conv_cache_destroy(&self->convs);
    zhashx_destroy(&self->op_names);
    zhashx_destroy(&self->inflight);
    claim_set_destroy(&self->assigning);
    sodium_memzero(self->token_key, sizeof self->token_key);
    free(self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ retries in flight */

/* A gateway resends a request it has no answer for after BUS_ATTEMPT_MS,
 * with the same correlation id. While the first copy still waits for the
 * store, the resend is dropped here: the first answer serves both, and a
 * slow store is not handed twice the work (nor a failed login counted
 * twice). Once answered, a resend is served again (idempotently). */
static char *inflight_key(const bus_request_t *req)
{
    char *hex = zframe_strhex(req->route);
    char *key = hex ? zsys_sprintf("%s/%s", hex, req->corr) : NULL;
    free(hex);
    return key;
}

/* 1 if the request is new (now remembered), 0 if a copy is being worked on. */
static int inflight_begin(router_t *self, const bus_request_t *req)
{
    char *key = inflight_key(req);
    if (!key)
        return 1;
    int fresh = zhashx_lookup(self->inflight, key) == NULL;
    if (fresh) {
        if (zhashx_size(self->inflight) >= INFLIGHT_MAX)
            zhashx_purge(self->inflight);     /* worst case: one duplicate served */
        zhashx_insert(self->inflight, key, (void *) 1);
    }
    zstr_free(&key);
    return fresh;
}

static void inflight_end(router_t *self, const bus_request_t *req)
{
    char *key = inflight_key(req);
    if (key)
        zhashx_delete(self->inflight, key);
    zstr_free(&key);
}

/* ------------------------------------------------------------ replies */

void *router_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(msg, buf);
    return buf;
}

void router_reply(router_t *self, job_t *job, Beseda__RouterReply *reply)
{
    if (!job || !job->req)
        return;
    size_t len;
    void *buf = router_pack(&reply->base, &len);
    if (!buf) {
        log_error("reply not sent: out of memory", "corr", job->req->corr);
        return;
    }
    if (bus_worker_reply(self->worker, job->req, buf, len) != 0)
        log_warn("reply not sent", "corr", job->req->corr);
    free(buf);
    router_metrics_request(&self->metrics, job->msg ? (int) job->msg->body_case : 0,
                           (double) (beseda_mono_ms() - job->started_ms));
    inflight_end(self, job->req);
    /* One answer per request: a second one would be a bug, make it a no-op. */
    bus_request_destroy(&job->req);
}

void router_reply_ok(router_t *self, job_t *job)
{
    Beseda__Empty empty = BESEDA__EMPTY__INIT;
    Beseda__RouterReply reply = BESEDA__ROUTER_REPLY__INIT;
    reply.body_case = BESEDA__ROUTER_REPLY__BODY_OK;
    reply.ok = &empty;
    router_reply(self, job, &reply);
}

void router_fail(router_t *self, job_t **job_p, const char *code, const char *message)
{
    job_t *job = *job_p;
    if (job && job->req) {
        router_metrics_error(&self->metrics, code);
        Beseda__RouterReply reply = BESEDA__ROUTER_REPLY__INIT;
        reply.error_code = (char *) code;
        reply.error_message = (char *) (message ? message : code);
        router_reply(self, job, &reply);
    }
    job_destroy(job_p);
}

void router_drop(router_t *self, job_t **job_p)
{
    job_t *job = *job_p;
    if (job && job->req) {
        inflight_end(self, job->req);
        bus_request_destroy(&job->req);
    }
    job_destroy(job_p);
}

/* ------------------------------------------------------------ store calls */

void router_store_call(router_t *self, job_t **job_p, const char *shard_key,
                       Beseda__StoreRequest *request)
{
    /* The store drops, unanswered, what it reaches after we stopped waiting. */
    request->ttl_ms = (uint32_t) self->cfg.store_timeout_ms;
    size_t len;
    void *buf = router_pack(&request->base, &len);
    uint64_t corr = buf ? bus_client_request(self->store, STORE_SERVICE, shard_key, buf, len,
                                             self->cfg.store_timeout_ms, NULL)
                        : 0;
    free(buf);
    if (corr == 0) {
        log_error("store request not sent", "key", shard_key);
        router_fail(self, job_p, "internal", "cannot reach the store");
        return;
    }
    router_metrics_store_call(&self->metrics, (*job_p)->step);
    (*job_p)->store_sent_ms = beseda_mono_ms();
    if (pending_table_put(self->pending, corr, job_p) != 0) {
        bus_client_cancel(self->store, corr);
        router_fail(self, job_p, "internal", "out of memory");
    }
}

const char *router_store_error_code(const Beseda__StoreReply *reply)
{
    const char *code = reply->error_code;
    if (!code || !*code)
        return NULL;
    /* Codes the store may use that the client protocol knows as they are. */
    static const char *const passthrough[] = {
        "unavailable", "forbidden", "no_conversation", "conversation_closed",
        "no_such_site", "bad_session", "bad_login", NULL
    };
    for (int i = 0; passthrough[i]; i++)
        if (strcmp(code, passthrough[i]) == 0)
            return passthrough[i];
    if (strcmp(code, "stale_epoch") == 0)
        return "unavailable";      /* the gateway retries; the broker routes to the owner */
    if (strcmp(code, "not_found") == 0)
        return "no_conversation";
    if (strcmp(code, "closed") == 0)
        return "conversation_closed";
    return "internal";
}

bool router_store_failed(router_t *self, job_t **job_p, const Beseda__StoreReply *reply)
{
    const char *code = router_store_error_code(reply);
    if (!code)
        return false;
    if (strcmp(reply->error_code, "stale_epoch") == 0 && *job_p && (*job_p)->req) {
        /* The key moved since the request was routed here: the gateway's
         * resend reaches its owner now (a delay, not an error). */
        log_info("store refused a stale epoch: left to the resend",
                 "step", job_step_name((*job_p)->step));
        router_drop(self, job_p);
        return true;
    }
    log_warn("store answered an error", "error", reply->error_code,
             "detail", reply->error_message);
    router_fail(self, job_p, code, reply->error_message[0] ? reply->error_message : code);
    return true;
}

void router_opaque_key(const char *value, char out[33])
{
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *) value, strlen(value), NULL, 0);
    sodium_bin2hex(out, 33, h, sizeof h);
}

/* ------------------------------------------------------------ dispatch */

static void handle_request(router_t *self, bus_request_t *req)
{
    if (req->epoch > self->epoch_seen)
        self->epoch_seen = req->epoch;
    if (!inflight_begin(self, req)) {
        log_debug("resend of a request in progress dropped", "corr", req->corr);
        bus_request_destroy(&req);
        return;
    }
    Beseda__RouterRequest *msg = beseda__router_request__unpack(
        NULL, zframe_size(req->body), zframe_data(req->body));
    job_t *job = job_new(STEP_HELLO, &req, &msg);
    if (!job) {
        log_error("request dropped: out of memory");
        inflight_end(self, req);
        bus_request_destroy(&req);
        if (msg)
            beseda__router_request__free_unpacked(msg, NULL);
        return;
    }
    if (!job->msg) {
        log_warn("malformed request body", "corr", job->req->corr);
        router_fail(self, &job, "bad_request", "request body is not a RouterRequest");
        return;
    }
    /* Its gateway stopped waiting (a backlog past capacity): doing it now
     * would only delay the requests someone still waits for. Unanswered, so
     * nothing is acked; the client's retry (same client_id) is a new request. */
    if (job->msg->deadline_unix_ms && beseda_now_ms() >= job->msg->deadline_unix_ms) {
        beseda_counter_inc(self->metrics.skipped_expired);
        log_debug("request dropped: its gateway stopped waiting", "corr", job->req->corr);
        router_drop(self, &job);
        return;
    }
    switch (job->msg->body_case) {
    case BESEDA__ROUTER_REQUEST__BODY_VISITOR_HELLO:   visitor_hello(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGIN:  operator_login(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_OPERATOR_RESUME: operator_resume(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_SEND:            chat_send(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_TYPING:          chat_typing(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_SYNC:            chat_sync(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_SET_STATUS:      operator_set_status(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_PRESENCE_BEAT:   operator_beat(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_OPERATOR_GONE:   operator_gone(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_HISTORY:         chat_history(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_CLOSE:           chat_close(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGOUT: operator_logout(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_TRANSFER:        transfer_request(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_TEAM_SEND:       team_send(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_TEAM_SYNC:       team_sync(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_SURVEY:
    case BESEDA__ROUTER_REQUEST__BODY_OFFLINE:
    case BESEDA__ROUTER_REQUEST__BODY_TRANSCRIPT:      visitor_form(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_GET:
    case BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_PUT:
    case BESEDA__ROUTER_REQUEST__BODY_API_OPERATORS:
    case BESEDA__ROUTER_REQUEST__BODY_API_MAIL_OUTBOX:
    case BESEDA__ROUTER_REQUEST__BODY_API_STATUS:
    case BESEDA__ROUTER_REQUEST__BODY_API_INBOX:
    case BESEDA__ROUTER_REQUEST__BODY_API_ARCHIVE:     api_request(self, job); break;
    case BESEDA__ROUTER_REQUEST__BODY_ACCEPT:          ring_accept(self, job); break;
    default:
        log_warn("request without a known body", "corr", job->req->corr);
        router_fail(self, &job, "bad_request", "unknown request kind");
    }
}

static void run_step(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    switch (job->step) {
    case STEP_HELLO:   visitor_on_hello(self, job, reply); break;
    case STEP_LOGIN:
    case STEP_RESUME:  operator_on_welcome(self, job, reply); break;
    case STEP_APPEND:  chat_on_append(self, job, reply); break;
    case STEP_LOOKUP:  chat_on_lookup(self, job, reply); break;
    case STEP_FETCH:   chat_on_fetch(self, job, reply); break;
    case STEP_HISTORY: chat_on_history(self, job, reply); break;
    case STEP_CLOSE:   chat_on_close(self, job, reply); break;
    case STEP_QUEUE:   assign_on_queue(self, job, reply); break;
    case STEP_ASSIGN:  assign_on_assign(self, job, reply); break;
    case STEP_LOGOUT:  operator_on_logout(self, job, reply); break;
    case STEP_ROUTE_STEP:      route_on_step(self, job, reply); break;
    case STEP_ACCEPT:          ring_on_accept(self, job, reply); break;
    case STEP_ACCEPT_LOST:     ring_on_lost(self, job, reply); break;
    case STEP_DUE:             due_on_due(self, job, reply); break;
    case STEP_DUE_ROUTE:       due_on_route(self, job, reply); break;
    case STEP_HELLO_ROUTE:     visitor_on_route(self, job, reply); break;
    case STEP_TRANSFER_GROUPS: transfer_on_groups(self, job, reply); break;
    case STEP_TRANSFER:        transfer_on_transfer(self, job, reply); break;
    case STEP_TEAM_APPEND:     team_on_append(self, job, reply); break;
    case STEP_TEAM_FETCH:      team_on_fetch(self, job, reply); break;
    case STEP_API_SESSION:     api_on_session(self, job, reply); break;
    case STEP_API_CALL:        api_on_call(self, job, reply); break;
    case STEP_VISITOR_FORM:    visitor_form_on_reply(self, job, reply); break;
    case STEP_APPEND_REPLAY:   chat_on_append_replay(self, job, reply); break;
    }
}

static void handle_store_reply(router_t *self, bus_reply_t *r)
{
    job_t *job = pending_table_take(self->pending, r->corr_id);
    if (!job) {
        zframe_destroy(&r->body);
        return;
    }
    router_metrics_store_reply(&self->metrics, job->step, r->status == BUS_TIMEOUT,
                               (double) (beseda_mono_ms() - job->store_sent_ms));
    if (r->status == BUS_TIMEOUT) {
        const Beseda__RouterRequest *msg = job->msg;
        const char *site = job->site_id ? job->site_id : msg ? msg->site_id : "";
        if (!site[0] && msg && msg->body_case == BESEDA__ROUTER_REQUEST__BODY_VISITOR_HELLO)
            site = msg->visitor_hello->site_id;
        log_warn("store did not answer in time", "step", job_step_name(job->step),
                 "site", site, "conversation", job->conv_id, "operator",
                 msg ? msg->operator_id : job->operator_id);
        if (job->step == STEP_QUEUE || job->step == STEP_ASSIGN)
            assign_abandon(self, job);
        if (job->step == STEP_ROUTE_STEP)
            route_abandon(self, job);
        if (job->step == STEP_DUE)
            due_abandon(self);
        if (job->step == STEP_LOGIN)
            operator_login_abandon(self, job);
        if (job->step == STEP_HELLO_ROUTE) {
            visitor_on_route(self, job, NULL);
            return;
        }
        router_fail(self, &job, "unavailable", "the store did not answer in time");
        return;
    }
    Beseda__StoreReply *reply = beseda__store_reply__unpack(NULL, zframe_size(r->body),
                                                            zframe_data(r->body));
    zframe_destroy(&r->body);
    if (!reply) {
        log_warn("malformed store reply");
        router_fail(self, &job, "internal", "malformed store reply");
        return;
    }
    run_step(self, job, reply);
    beseda__store_reply__free_unpacked(reply, NULL);
}

/* ------------------------------------------------------------ loop */

static bool sock_readable(zsock_t *sock)
{
    return (zsock_events(sock) & ZMQ_POLLIN) != 0;
}

static void drain_worker(router_t *self)
{
    zsock_t *sock = bus_worker_sock(self->worker);
    for (int i = 0; i < DRAIN_BATCH && sock_readable(sock); i++) {
        bus_request_t *req = NULL;
        if (bus_worker_recv(self->worker, &req) == 1 && req)
            handle_request(self, req);
    }
}

static void drain_store(router_t *self)
{
    zsock_t *sock = bus_client_sock(self->store);
    for (int i = 0; i < DRAIN_BATCH && sock_readable(sock); i++) {
        bus_reply_t r = { 0 };
        if (bus_client_recv(self->store, &r) == 1)
            handle_store_reply(self, &r);
    }
}

static void expire_store(router_t *self)
{
    bus_reply_t r = { 0 };
    while (bus_client_expire(self->store, &r) == 1) {
        handle_store_reply(self, &r);
        memset(&r, 0, sizeof r);
    }
}

static int next_wait_ms(router_t *self, bool leaving)
{
    int wait = LOOP_MAX_WAIT_MS;
    int tick = bus_worker_next_tick_ms(self->worker);
    if (!leaving && tick < wait)
        wait = tick;
    int store = bus_client_next_timeout_ms(self->store);
    if (store >= 0 && store < wait)
        wait = store;
    int64_t sweep = self->next_sweep_ms - beseda_mono_ms();
    if (!leaving && self->epoch_seen != 0 && sweep < wait)
        wait = (int) (sweep < 0 ? 0 : sweep);
    int64_t due = due_wait_ms(self);
    if (!leaving && due < wait)
        wait = (int) (due < 0 ? 0 : due);
    return wait < 0 ? 0 : wait;
}

/* Every SWEEP_INTERVAL_MS, look for operators whose presence ended. Only a
 * router that has served a request knows an epoch to write with; before
 * that it leaves the expiries to the others (or to its first request). */
static void sweep_when_due(router_t *self)
{
    int64_t now = beseda_mono_ms();
    if (now < self->next_sweep_ms || self->epoch_seen == 0)
        return;
    self->next_sweep_ms = now + SWEEP_INTERVAL_MS;
    operator_sweep(self);
}

/* What the admin listener reads: liveness, readiness inputs, queue depth.
 * Redis is pinged when nothing else asked it lately, so that readiness
 * reflects it even on an idle router. */
static void update_metrics(router_t *self)
{
    router_metrics_t *m = &self->metrics;
    if (!m->registry)
        return;
    beseda_metrics_beat(m->registry);
    beseda_gauge_set(m->broker_connected,
                     bus_worker_broker_silence_ms(self->worker) < BUS_DEAD_AFTER_MS);
    beseda_gauge_set(m->pending, (int64_t) pending_table_size(self->pending));
    int64_t now = beseda_mono_ms();
    if (now >= m->next_redis_ping_ms && self->redis) {
        m->next_redis_ping_ms = now + ROUTER_REDIS_PING_MS;
        redisReply *pong = redis_cmd(self->redis, "PING");
        if (pong)
            freeReplyObject(pong);
    }
}

static void loop_once(router_t *self, zpoller_t *poller, bool leaving)
{
    update_metrics(self);
    zpoller_wait(poller, next_wait_ms(self, leaving));
    /* Check both sockets whatever zpoller returned: it names only one. */
    drain_worker(self);
    drain_store(self);
    if (!leaving) {
        bus_worker_tick(self->worker);
        sweep_when_due(self);
        due_when_due(self);
    }
    expire_store(self);
}

int router_run(router_t *self, volatile sig_atomic_t *stop)
{
    zpoller_t *poller = zpoller_new(bus_worker_sock(self->worker),
                                    bus_client_sock(self->store), NULL);
    if (!poller) {
        log_error("cannot create poller");
        return -1;
    }
    log_info("router serving", "name", self->cfg.name);
    /* A DRAIN from the broker (besedactl drain) leaves the same way as SIGTERM. */
    while (!*stop && !bus_worker_drain_requested(self->worker))
        loop_once(self, poller, false);

    /* Leave cleanly: the broker stops sending us requests, and jobs still
     * waiting for the store get their answer if it comes soon. */
    bus_worker_bye(self->worker);
    int64_t until = beseda_mono_ms() + SHUTDOWN_DRAIN_MS;
    /* Requests the broker routed here before it saw the BYE are still on
     * their way: serve them too (its answer to the BYE comes after them), so
     * that no gateway waits a resend attempt for them. */
    while ((pending_table_size(self->pending) > 0 || !bus_worker_bye_acked(self->worker))
           && beseda_mono_ms() < until)
        loop_once(self, poller, true);
    char left[24];
    snprintf(left, sizeof left, "%zu", pending_table_size(self->pending));
    log_info("router stopped", "pending_dropped", left);
    zpoller_destroy(&poller);
    return 0;
}
