/* The bus protocol between processes and the broker (see bus.h for frames).
 *
 * The client keeps every request until it is answered or its deadline passes,
 * and resends it on a fixed attempt timer: after a worker is killed the
 * broker notices within BUS_DEAD_AFTER_MS and routes the resend to a survivor.
 * Resends reuse the correlation id, so a late reply from the first attempt
 * completes the request and a second reply is ignored. */
#include "bus.h"
#include "log.h"
#include "util.h"
#include <inttypes.h>
#include <string.h>
#include <sodium.h>

#define CLIENT_PROTO "BC1"
#define WORKER_PROTO "BW1"
#define HWM_MESSAGES 100000

/* ------------------------------------------------------------------ client */

typedef struct {
    uint64_t corr_id;
    char *service;
    char *shard_key;
    zframe_t *body;
    void *user;
    int64_t deadline_ms;      /* monotonic */
    int64_t resend_ms;        /* monotonic: next attempt */
    int attempts;             /* sends so far */
} pending_t;

struct bus_client_t {
    zsock_t *sock;
    zhashx_t *pending;        /* corr id (decimal text) -> pending_t */
    uint64_t next_corr;
    /* No pending request is due (resend or deadline) before this time, so
     * the loops that call bus_client_expire/next_timeout on every pass cost
     * O(1) instead of a walk over every request in flight. It may be early
     * (a request it counted was answered): then a walk finds nothing due. */
    int64_t next_due_ms;
};

/* The wait before the next attempt: two quick retries, then doubling, so a
 * dead worker's requests move within seconds while an overloaded service is
 * not sent its whole backlog again every second. */
static int64_t attempt_wait_ms(int attempts)
{
    int64_t wait = BUS_ATTEMPT_MS;
    for (int i = 2; i < attempts && wait < 8 * BUS_ATTEMPT_MS; i++)
        wait *= 2;
    return wait;
}

static void note_due(bus_client_t *self, int64_t t)
{
    if (t < self->next_due_ms)
        self->next_due_ms = t;
}

static void pending_free(void **item)
{
    pending_t *p = (pending_t *) *item;
    if (!p)
        return;
    free(p->service);
    free(p->shard_key);
    zframe_destroy(&p->body);
    free(p);
    *item = NULL;
}

static void set_hwm(zsock_t *sock)
{
    zsock_set_sndhwm(sock, HWM_MESSAGES);
    zsock_set_rcvhwm(sock, HWM_MESSAGES);
    zsock_set_linger(sock, 0);
}

bus_client_t *bus_client_new(const char *broker_endpoint)
{
    bus_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock)
        goto fail;
    set_hwm(self->sock);
    if (zsock_connect(self->sock, "%s", broker_endpoint) < 0) {
        log_error("cannot connect to broker", "endpoint", broker_endpoint);
        goto fail;
    }
    self->pending = zhashx_new();
    if (!self->pending)
        goto fail;
    zhashx_set_destructor(self->pending, pending_free);
    /* Random start so that correlation ids of a restarted client never match
     * stale replies meant for its previous life. */
    self->next_corr = ((uint64_t) randombytes_random() << 20) + 1;
    self->next_due_ms = INT64_MAX;
    return self;
fail:
    bus_client_destroy(&self);
    return NULL;
}

void bus_client_destroy(bus_client_t **self_p)
{
    bus_client_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->pending);
    zsock_destroy(&self->sock);
    free(self);
    *self_p = NULL;
}

zsock_t *bus_client_sock(bus_client_t *self) { return self->sock; }
size_t bus_client_pending(bus_client_t *self) { return zhashx_size(self->pending); }

static int client_send(bus_client_t *self, pending_t *p)
{
    char corr[24];
    snprintf(corr, sizeof corr, "%" PRIu64, p->corr_id);
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, CLIENT_PROTO);
    zmsg_addstr(msg, "REQ");
    zmsg_addstr(msg, p->service);
    zmsg_addstr(msg, p->shard_key);
    zmsg_addstr(msg, corr);
    zframe_t *body = zframe_dup(p->body);
    zmsg_append(msg, &body);
    /* A full queue (broker gone for long) is not fatal: the attempt timer
     * resends later, the deadline bounds it. */
    int rc = zmsg_send(&msg, self->sock);
    zmsg_destroy(&msg);
    return rc;
}

uint64_t bus_client_request(bus_client_t *self, const char *service, const char *shard_key,
                            const void *body, size_t len, int timeout_ms, void *user)
{
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        return 0;
    p->corr_id = self->next_corr++;
    p->service = strdup(service);
    p->shard_key = strdup(shard_key ? shard_key : "");
    p->body = zframe_new(body, len);
    p->user = user;
    int64_t now = beseda_mono_ms();
    p->deadline_ms = now + timeout_ms;
    p->attempts = 1;
    p->resend_ms = now + attempt_wait_ms(p->attempts);
    if (!p->service || !p->shard_key || !p->body) {
        void *item = p;
        pending_free(&item);
        return 0;
    }
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, p->corr_id);
    zhashx_insert(self->pending, key, p);
    note_due(self, p->resend_ms < p->deadline_ms ? p->resend_ms : p->deadline_ms);
    client_send(self, p);
    return p->corr_id;
}

void bus_client_cancel(bus_client_t *self, uint64_t corr_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, corr_id);
    zhashx_delete(self->pending, key);
}

int bus_client_report(bus_client_t *self, const void *body, size_t len)
{
    zmsg_t *msg = zmsg_new();
    if (!msg)
        return -1;
    zmsg_addstr(msg, CLIENT_PROTO);
    zmsg_addstr(msg, "STAT");
    zmsg_addmem(msg, body, len);
    int rc = zmsg_send(&msg, self->sock);
    zmsg_destroy(&msg);
    return rc;
}

int bus_client_recv(bus_client_t *self, bus_reply_t *reply)
{
    zmsg_t *msg = zmsg_recv(self->sock);
    if (!msg)
        return -1;
    int rc = 0;
    char *proto = zmsg_popstr(msg);
    char *verb = zmsg_popstr(msg);
    char *corr = zmsg_popstr(msg);
    if (!proto || !verb || !corr || strcmp(proto, CLIENT_PROTO) != 0)
        goto done;
    pending_t *p = zhashx_lookup(self->pending, corr);
    if (!p)
        goto done;              /* answered already, or cancelled */
    if (strcmp(verb, "ERR") == 0) {
        /* No worker for the service yet (starting, or all restarting):
         * try again soon instead of waiting a whole attempt. */
        p->resend_ms = beseda_mono_ms() + BUS_NO_WORKER_RETRY_MS;
        note_due(self, p->resend_ms);
        goto done;
    }
    if (strcmp(verb, "REP") != 0)
        goto done;
    reply->corr_id = p->corr_id;
    reply->user = p->user;
    reply->status = BUS_OK;
    reply->body = zmsg_pop(msg);
    if (!reply->body)
        reply->body = zframe_new_empty();
    zhashx_delete(self->pending, corr);
    rc = 1;
done:
    free(proto);
    free(verb);
    free(corr);
    zmsg_destroy(&msg);
    return rc;
}

int bus_client_expire(bus_client_t *self, bus_reply_t *reply)
{
    int64_t now = beseda_mono_ms();
    if (now < self->next_due_ms)
        return 0;
    int64_t next = INT64_MAX;
    for (pending_t *p = zhashx_first(self->pending); p; p = zhashx_next(self->pending)) {
        if (now >= p->deadline_ms) {
            reply->corr_id = p->corr_id;
            reply->user = p->user;
            reply->status = BUS_TIMEOUT;
            reply->body = NULL;
            /* Deleting the cursor item ends this iteration: return at once,
             * and walk again on the next call for further expiries. */
            zhashx_delete(self->pending, zhashx_cursor(self->pending));
            self->next_due_ms = now;
            return 1;
        }
        if (now >= p->resend_ms) {
            p->attempts++;
            p->resend_ms = now + attempt_wait_ms(p->attempts);
            client_send(self, p);
        }
        int64_t t = p->resend_ms < p->deadline_ms ? p->resend_ms : p->deadline_ms;
        if (t < next)
            next = t;
    }
    self->next_due_ms = next;
    return 0;
}

int bus_client_next_timeout_ms(bus_client_t *self)
{
    if (zhashx_size(self->pending) == 0)
        return -1;
    int64_t now = beseda_mono_ms();
    if (self->next_due_ms == INT64_MAX)
        return -1;
    return self->next_due_ms <= now ? 0 : (int) (self->next_due_ms - now);
}

/* ------------------------------------------------------------------ worker */

struct bus_worker_t {
    zsock_t *sock;
    char *service;
    char *name;
    int64_t next_hb_ms;
    int64_t broker_seen_ms;
    bool leaving;
    bool bye_acked;           /* the broker answered our BYE */
    bool drain_requested;     /* the broker sent DRAIN */
    bool broker_lost;         /* silent for BUS_DEAD_AFTER_MS: warned once, until it is back */
};

bus_worker_t *bus_worker_new(const char *broker_endpoint, const char *service, const char *name)
{
    bus_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->service = strdup(service);
    self->name = strdup(name);
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->service || !self->name || !self->sock)
        goto fail;
    set_hwm(self->sock);
    if (zsock_connect(self->sock, "%s", broker_endpoint) < 0) {
        log_error("cannot connect to broker", "endpoint", broker_endpoint);
        goto fail;
    }
    self->broker_seen_ms = beseda_mono_ms();
    bus_worker_tick(self);    /* registers at once */
    return self;
fail:
    bus_worker_destroy(&self);
    return NULL;
}

void bus_worker_destroy(bus_worker_t **self_p)
{
    bus_worker_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->sock);
    free(self->service);
    free(self->name);
    free(self);
    *self_p = NULL;
}

zsock_t *bus_worker_sock(bus_worker_t *self) { return self->sock; }

void bus_worker_tick(bus_worker_t *self)
{
    int64_t now = beseda_mono_ms();
    if (self->leaving || now < self->next_hb_ms)
        return;
    if (!self->broker_lost && now - self->broker_seen_ms >= BUS_DEAD_AFTER_MS) {
        self->broker_lost = true;
        char silent[24];
        snprintf(silent, sizeof silent, "%lld", (long long) (now - self->broker_seen_ms));
        log_warn("lost the broker", "service", self->service, "worker", self->name,
                 "silent_ms", silent);
    }
    zstr_sendx(self->sock, WORKER_PROTO, "HB", self->service, self->name, NULL);
    self->next_hb_ms = now + BUS_HEARTBEAT_MS;
}

int bus_worker_next_tick_ms(bus_worker_t *self)
{
    int64_t left = self->next_hb_ms - beseda_mono_ms();
    return left < 0 ? 0 : (int) left;
}

int64_t bus_worker_broker_silence_ms(bus_worker_t *self)
{
    return beseda_mono_ms() - self->broker_seen_ms;
}

bool bus_worker_drain_requested(bus_worker_t *self) { return self->drain_requested; }

void bus_worker_bye(bus_worker_t *self)
{
    /* Linger 0 (set_hwm) would drop the replies the owner sends while it
     * finishes: keep them for a bounded time when the socket is closed. */
    zsock_set_linger(self->sock, BUS_BYE_LINGER_MS);
    zstr_sendx(self->sock, WORKER_PROTO, "BYE", NULL);
    self->leaving = true;
}

bool bus_worker_bye_acked(bus_worker_t *self) { return self->bye_acked; }

void bus_request_destroy(bus_request_t **self_p)
{
    bus_request_t *self = *self_p;
    if (!self)
        return;
    zframe_destroy(&self->route);
    zframe_destroy(&self->body);
    free(self->shard_key);
    free(self);
    *self_p = NULL;
}

int bus_worker_recv(bus_worker_t *self, bus_request_t **request)
{
    zmsg_t *msg = zmsg_recv(self->sock);
    if (!msg)
        return -1;
    int64_t now = beseda_mono_ms();
    if (self->broker_lost) {
        self->broker_lost = false;
        char silent[24];
        snprintf(silent, sizeof silent, "%lld", (long long) (now - self->broker_seen_ms));
        log_warn("broker is back", "service", self->service, "worker", self->name,
                 "silent_ms", silent);
    }
    self->broker_seen_ms = now;
    int rc = 0;
    char *proto = zmsg_popstr(msg);
    char *verb = zmsg_popstr(msg);
    if (proto && verb && strcmp(proto, WORKER_PROTO) == 0 && strcmp(verb, "DRAIN") == 0) {
        if (!self->drain_requested)
            log_info("drain requested by the broker", "service", self->service, "worker", self->name);
        self->drain_requested = true;
        goto done;
    }
    if (proto && verb && strcmp(proto, WORKER_PROTO) == 0 && strcmp(verb, "BYE") == 0) {
        self->bye_acked = self->leaving;
        goto done;
    }
    if (!proto || !verb || strcmp(proto, WORKER_PROTO) != 0 || strcmp(verb, "REQ") != 0)
        goto done;
    if (zmsg_size(msg) != 5) {
        log_warn("malformed request from broker");
        goto done;
    }
    bus_request_t *req = calloc(1, sizeof *req);
    if (!req)
        goto done;
    req->route = zmsg_pop(msg);
    char *corr = zmsg_popstr(msg);
    req->shard_key = zmsg_popstr(msg);
    char *epoch = zmsg_popstr(msg);
    req->body = zmsg_pop(msg);
    snprintf(req->corr, sizeof req->corr, "%s", corr ? corr : "");
    req->epoch = epoch ? strtoull(epoch, NULL, 10) : 0;
    free(corr);
    free(epoch);
    *request = req;
    rc = 1;
done:
    free(proto);
    free(verb);
    zmsg_destroy(&msg);
    return rc;
}

int bus_worker_reply(bus_worker_t *self, const bus_request_t *request, const void *body, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, WORKER_PROTO);
    zmsg_addstr(msg, "REPLY");
    zframe_t *route = zframe_dup(request->route);
    zmsg_append(msg, &route);
    zmsg_addstr(msg, request->corr);
    zmsg_addmem(msg, body, len);
    int rc = zmsg_send(&msg, self->sock);
    zmsg_destroy(&msg);
    return rc;
}

/* --------------------------------------------------------------- pub / sub */

zsock_t *bus_pub_new(const char *broker_pub_endpoint)
{
    zsock_t *pub = zsock_new(ZMQ_PUB);
    if (!pub)
        return NULL;
    set_hwm(pub);
    if (zsock_connect(pub, "%s", broker_pub_endpoint) < 0) {
        log_error("cannot connect publisher", "endpoint", broker_pub_endpoint);
        zsock_destroy(&pub);
    }
    return pub;
}

int bus_publish(zsock_t *pub, const char *topic, const void *body, size_t len)
{
    zmsg_t *msg = zmsg_new();
    zmsg_addstr(msg, topic);
    zmsg_addmem(msg, body, len);
    int rc = zmsg_send(&msg, pub);
    zmsg_destroy(&msg);
    return rc;
}

zsock_t *bus_sub_new(const char *broker_sub_endpoint)
{
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub)
        return NULL;
    set_hwm(sub);
    if (zsock_connect(sub, "%s", broker_sub_endpoint) < 0) {
        log_error("cannot connect subscriber", "endpoint", broker_sub_endpoint);
        zsock_destroy(&sub);
    }
    return sub;
}
