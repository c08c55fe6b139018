/* The broker loop, in the manner of Malamute: one poller, one handler per
 * verb. Requests are routed to the rendezvous owner of their shard key among
 * the live workers of the named service; ZMQ_ROUTER_MANDATORY turns a send to
 * a vanished peer into an error we act on (drop the worker, pick again)
 * instead of a silent loss. */
#include "broker.h"
#include "admin.h"
#include "beseda.pb-c.h"
#include "bus.h"
#include "gateways.h"
#include "log.h"
#include "util.h"
#include "workers.h"
#include <errno.h>
#include <inttypes.h>

#define HWM_MESSAGES 100000
#define MAX_PICK_TRIES 8
/* A (re)started broker routes nothing for this long: every live worker
 * re-registers with its next heartbeat (BUS_HEARTBEAT_MS), so the worker set,
 * the shard owners and the epochs are settled before the first request is
 * routed. Routing at the first worker's heartbeat would move keys to it, then
 * back as the others join, and the writes made under the first epochs would
 * be refused as stale. Clients retry "no_worker" within
 * BUS_NO_WORKER_RETRY_MS, so the settle costs a delay, not an error. */
#define SETTLE_MS (BUS_HEARTBEAT_MS + BUS_HEARTBEAT_MS / 2)

struct broker_t {
    zsock_t *frontend;        /* ROUTER: clients and workers */
    zsock_t *xsub;            /* publishers connect here */
    zsock_t *xpub;            /* subscribers connect here */
    workers_t *workers;
    gateways_t *gateways;     /* load reports, for besedactl status */
    int64_t started_ms;       /* monotonic */
    bool settled;             /* SETTLE_MS passed since the start: requests are routed */
    int64_t next_hb_ms;
    uint64_t requests;
    beseda_metrics_t *metrics;        /* not owned; NULL: none */
    beseda_counter_t *relayed;        /* deliveries relayed publisher -> subscribers */
    beseda_counter_t *malformed;
};

static zsock_t *bind_socket(int type, const char *endpoint)
{
    zsock_t *sock = zsock_new(type);
    if (!sock)
        return NULL;
    zsock_set_sndhwm(sock, HWM_MESSAGES);
    zsock_set_rcvhwm(sock, HWM_MESSAGES);
    zsock_set_linger(sock, 0);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory(sock, 1);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        log_error("cannot bind", "endpoint", endpoint, "error", zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

broker_t *broker_new(const char *endpoint, const char *pub_endpoint, const char *sub_endpoint)
{
    broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->frontend = bind_socket(ZMQ_ROUTER, endpoint);
    self->xsub = bind_socket(ZMQ_XSUB, pub_endpoint);
    self->xpub = bind_socket(ZMQ_XPUB, sub_endpoint);
    self->workers = workers_new();
    self->gateways = gateways_new();
    self->started_ms = beseda_mono_ms();
    if (!self->frontend || !self->xsub || !self->xpub || !self->workers || !self->gateways) {
        broker_destroy(&self);
        return NULL;
    }
    return self;
}

void broker_attach_metrics(broker_t *self, beseda_metrics_t *metrics)
{
    self->metrics = metrics;
    workers_set_metrics(self->workers, metrics);
    self->relayed = beseda_metrics_counter(metrics, "beseda_broker_deliveries_relayed_total",
                                           "Published messages relayed from XSUB to XPUB.", NULL, NULL);
    self->malformed = beseda_metrics_counter(metrics, "beseda_broker_malformed_total",
                                             "Frontend messages dropped as malformed.", NULL, NULL);
    /* Services a deployment always has: their series exist from the start. */
    workers_stats(self->workers, "router");
    workers_stats(self->workers, "store");
}

void broker_destroy(broker_t **self_p)
{
    broker_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy(&self->frontend);
    zsock_destroy(&self->xsub);
    zsock_destroy(&self->xpub);
    workers_destroy(&self->workers);
    gateways_destroy(&self->gateways);
    free(self);
    *self_p = NULL;
}

/* Sends msg to the peer named by its first frame. Returns 0, or -1 with
 * errno EHOSTUNREACH when the peer is gone. msg is always consumed. */
static int send_to_peer(broker_t *self, zmsg_t **msg)
{
    int rc = zmsg_send(msg, self->frontend);
    if (rc != 0)
        zmsg_destroy(msg);
    return rc;
}

static void reply_error(broker_t *self, zframe_t *client, const char *corr, const char *code)
{
    zmsg_t *msg = zmsg_new();
    zframe_t *route = zframe_dup(client);
    zmsg_append(msg, &route);
    zmsg_addstr(msg, "BC1");
    zmsg_addstr(msg, "ERR");
    zmsg_addstr(msg, corr);
    zmsg_addstr(msg, code);
    send_to_peer(self, &msg);
}

/* Tells a worker to leave gracefully: it says BYE, finishes, exits. */
static void send_drain(broker_t *self, worker_t *w)
{
    zmsg_t *msg = zmsg_new();
    zframe_t *route = zframe_dup(w->route);
    zmsg_append(msg, &route);
    zmsg_addstr(msg, "BW1");
    zmsg_addstr(msg, "DRAIN");
    log_info("drain requested", "service", w->service, "worker", w->name);
    if (send_to_peer(self, &msg) != 0)
        log_warn("drain not delivered", "worker", w->name);
}

/* A request to BUS_BROKER_SERVICE: answered here (admin.h). */
static void handle_admin_request(broker_t *self, zframe_t *client, const char *corr, zframe_t *body)
{
    broker_admin_view_t view = { self->workers, self->gateways, self->requests, self->started_ms,
                                 beseda_mono_ms() };
    worker_t *drain = NULL;
    size_t len = 0;
    uint8_t *buf = broker_admin_answer(&view, zframe_data(body), zframe_size(body), &drain, &len);
    if (!buf) {
        log_error("out of memory answering an admin request");
        return;                 /* the client times out */
    }
    if (drain)
        send_drain(self, drain);
    zmsg_t *out = zmsg_new();
    zframe_t *route = zframe_dup(client);
    zmsg_append(out, &route);
    zmsg_addstr(out, "BC1");
    zmsg_addstr(out, "REP");
    zmsg_addstr(out, corr);
    zmsg_addmem(out, buf, len);
    free(buf);
    send_to_peer(self, &out);
}

/* ["BC1","STAT",GatewayStats] from a gateway. */
static void handle_client_stat(broker_t *self, zmsg_t *msg)
{
    zframe_t *body = zmsg_first(msg);
    Beseda__GatewayStats *stats = body ? beseda__gateway_stats__unpack(NULL, zframe_size(body),
                                                                       zframe_data(body)) : NULL;
    if (!stats) {
        log_warn("malformed gateway stats");
        return;
    }
    if (gateways_report(self->gateways, stats->name, stats->visitors, stats->operators,
                        beseda_mono_ms()) != 0)
        log_debug("gateway stats ignored", "gateway", stats->name);
    beseda__gateway_stats__free_unpacked(stats, NULL);
}

/* ["BC1","REQ",service,shard_key,corr,body] from a client. */
static void handle_client_request(broker_t *self, zframe_t *client, zmsg_t *msg)
{
    if (zmsg_size(msg) != 4) {
        beseda_counter_inc(self->malformed);
        log_warn("malformed client request");
        return;
    }
    char *svc = zmsg_popstr(msg);
    if (svc && strcmp(svc, BUS_BROKER_SERVICE) == 0) {
        free(zmsg_popstr(msg));           /* the shard key names the verb; the body says it too */
        char *corr = zmsg_popstr(msg);
        zframe_t *body = zmsg_pop(msg);
        if (corr && body)
            handle_admin_request(self, client, corr, body);
        free(corr);
        zframe_destroy(&body);
        free(svc);
        return;
    }
    zmsg_pushstr(msg, svc ? svc : "");
    free(svc);
    char *service = zmsg_popstr(msg);
    char *key = zmsg_popstr(msg);
    char *corr = zmsg_popstr(msg);
    zframe_t *body = zmsg_pop(msg);
    self->requests++;
    workers_stats_t *stats = workers_stats(self->workers, service);
    if (!self->settled && beseda_mono_ms() - self->started_ms < SETTLE_MS) {
        reply_error(self, client, corr, "no_worker");      /* retried by the client */
        free(service);
        free(key);
        free(corr);
        zframe_destroy(&body);
        return;
    }
    if (!self->settled) {
        self->settled = true;
        log_info("workers settled: routing requests");
    }
    for (int tries = 0; tries < MAX_PICK_TRIES; tries++) {
        worker_t *w = workers_pick(self->workers, service, key);
        if (!w) {
            beseda_counter_inc(stats ? stats->no_worker : NULL);
            reply_error(self, client, corr, "no_worker");
            break;
        }
        char epoch[24];
        snprintf(epoch, sizeof epoch, "%" PRIu64, workers_epoch(self->workers, service));
        zmsg_t *out = zmsg_new();
        zframe_t *route = zframe_dup(w->route);
        zmsg_append(out, &route);
        zmsg_addstr(out, "BW1");
        zmsg_addstr(out, "REQ");
        zframe_t *client_copy = zframe_dup(client);
        zmsg_append(out, &client_copy);
        zmsg_addstr(out, corr);
        zmsg_addstr(out, key);
        zmsg_addstr(out, epoch);
        zframe_t *body_copy = zframe_dup(body);
        zmsg_append(out, &body_copy);
        if (send_to_peer(self, &out) == 0) {
            w->requests++;
            beseda_counter_inc(stats ? stats->routed : NULL);
            break;
        }
        char *dead = strdup(w->route_key);
        workers_remove(self->workers, dead, errno == EHOSTUNREACH ? "disconnected" : "send failed");
        free(dead);
    }
    free(service);
    free(key);
    free(corr);
    zframe_destroy(&body);
}

/* ["BW1","REPLY",client_route,corr,body] from a worker. */
static void handle_worker_reply(broker_t *self, zmsg_t *msg)
{
    if (zmsg_size(msg) != 3) {
        beseda_counter_inc(self->malformed);
        log_warn("malformed worker reply");
        return;
    }
    zframe_t *client = zmsg_pop(msg);
    zframe_t *corr = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    zmsg_t *out = zmsg_new();
    zmsg_append(out, &client);
    zmsg_addstr(out, "BC1");
    zmsg_addstr(out, "REP");
    zmsg_append(out, &corr);
    zmsg_append(out, &body);
    /* A client that went away is not an error: its request is void. */
    send_to_peer(self, &out);
}

static void handle_worker(broker_t *self, zframe_t *route, zmsg_t *msg)
{
    char *verb = zmsg_popstr(msg);
    if (!verb)
        return;
    if (strcmp(verb, "HB") == 0 && zmsg_size(msg) == 2) {
        char *service = zmsg_popstr(msg);
        char *name = zmsg_popstr(msg);
        workers_heartbeat(self->workers, route, service, name, beseda_mono_ms());
        free(service);
        free(name);
    } else if (strcmp(verb, "REPLY") == 0) {
        handle_worker_reply(self, msg);
    } else if (strcmp(verb, "BYE") == 0) {
        char *key = workers_route_key(route);
        workers_remove(self->workers, key, "said bye");
        free(key);
        /* Answer the BYE: it is the last frame to this worker, so once the
         * worker reads it, it holds every request routed to it and can leave
         * without one waiting for its client's resend. */
        zmsg_t *out = zmsg_new();
        zframe_t *to = zframe_dup(route);
        zmsg_append(out, &to);
        zmsg_addstr(out, "BW1");
        zmsg_addstr(out, "BYE");
        send_to_peer(self, &out);
    } else
        log_warn("unknown worker verb", "verb", verb);
    free(verb);
}

static void handle_frontend(broker_t *self)
{
    zmsg_t *msg = zmsg_recv(self->frontend);
    if (!msg)
        return;
    zframe_t *route = zmsg_pop(msg);
    char *proto = zmsg_popstr(msg);
    if (route && proto && strcmp(proto, "BW1") == 0)
        handle_worker(self, route, msg);
    else if (route && proto && strcmp(proto, "BC1") == 0) {
        char *verb = zmsg_popstr(msg);
        if (verb && strcmp(verb, "REQ") == 0)
            handle_client_request(self, route, msg);
        else if (verb && strcmp(verb, "STAT") == 0)
            handle_client_stat(self, msg);
        free(verb);
    } else {
        beseda_counter_inc(self->malformed);
        log_warn("unknown protocol on frontend");
    }
    free(proto);
    zframe_destroy(&route);
    zmsg_destroy(&msg);
}

static void forward(zsock_t *from, zsock_t *to, beseda_counter_t *count)
{
    zmsg_t *msg = zmsg_recv(from);
    if (msg && zmsg_send(&msg, to) == 0)
        beseda_counter_inc(count);
    zmsg_destroy(&msg);
}

static void heartbeat_workers(broker_t *self)
{
    int64_t now = beseda_mono_ms();
    if (now < self->next_hb_ms)
        return;
    self->next_hb_ms = now + BUS_HEARTBEAT_MS;
    workers_expire(self->workers, now);
    zlistx_t *gone = zlistx_new();
    zlistx_set_destructor(gone, (zlistx_destructor_fn *) zstr_free);
    for (worker_t *w = workers_first(self->workers); w; w = workers_next(self->workers)) {
        zmsg_t *msg = zmsg_new();
        zframe_t *route = zframe_dup(w->route);
        zmsg_append(msg, &route);
        zmsg_addstr(msg, "BW1");
        zmsg_addstr(msg, "HB");
        if (send_to_peer(self, &msg) != 0 && errno == EHOSTUNREACH)
            zlistx_add_end(gone, strdup(w->route_key));
    }
    for (char *key = zlistx_first(gone); key; key = zlistx_next(gone))
        workers_remove(self->workers, key, "disconnected");
    zlistx_destroy(&gone);
}

/* Handles at most BURST_MESSAGES waiting messages of one socket. Taking a
 * bounded burst from every ready socket in each turn keeps one busy socket
 * from starving the others: under a steady stream of requests, deliveries
 * (XSUB) and new subscriptions (XPUB) still move every turn, and a gateway's
 * subscription reaches the routers without waiting for the requests behind
 * it. The burst amortises the poll over many messages. */
#define BURST_MESSAGES 256

static void drain_socket(broker_t *self, zsock_t *sock)
{
    for (int i = 0; i < BURST_MESSAGES && (zsock_events(sock) & ZMQ_POLLIN); i++) {
        if (sock == self->frontend)
            handle_frontend(self);
        else if (sock == self->xsub)
            forward(self->xsub, self->xpub, self->relayed);
        else
            forward(self->xpub, self->xsub, NULL);   /* subscriptions travel upstream */
    }
}

int broker_run(broker_t *self, volatile sig_atomic_t *stop)
{
    zmq_pollitem_t items[] = {
        { zsock_resolve(self->xpub), 0, ZMQ_POLLIN, 0 },      /* subscriptions first: they are rare and unblock deliveries */
        { zsock_resolve(self->xsub), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve(self->frontend), 0, ZMQ_POLLIN, 0 },
    };
    zsock_t *socks[] = { self->xpub, self->xsub, self->frontend };
    while (!*stop) {
        beseda_metrics_beat(self->metrics);
        heartbeat_workers(self);
        int wait = (int) (self->next_hb_ms - beseda_mono_ms());
        int rc = zmq_poll(items, 3, wait < 0 ? 0 : wait);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;              /* a signal: the loop condition decides */
            if (zmq_errno() == ETERM)
                break;
            log_error("poll failed", "error", zmq_strerror(zmq_errno()));
            break;
        }
        for (int i = 0; i < 3; i++)
            if (items[i].revents & ZMQ_POLLIN)
                drain_socket(self, socks[i]);
    }
    return 0;
}
