/* The bus thread: see gw_bus.h for why it exists. Commands arrive on the
 * actor pipe as [verb, pointer] (REQ) or [verb, topic] (SUB/UNSUB); events
 * leave through the locked list `queue`. */
#include "gw_bus.h"
#include "beseda.pb-c.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How often the requests in flight are checked for resends and deadlines.
 * bus_client walks every request in flight for that, so it must not run
 * once per message: under load, with thousands in flight, that walk was a
 * third of this thread's time. Deadlines are >= 100 ms and resends 1 s
 * apart, so 50 ms of lateness is noise. */
#define GW_EXPIRE_CHECK_MS  50
/* Commands taken from the pipe per pass of the poller: many, so that a
 * burst costs one poll() and not one each, but bounded, so that replies and
 * deliveries are not kept waiting behind a long burst. */
#define GW_COMMANDS_PER_PASS 256

typedef struct {
    uint64_t conn_id;
    gw_req_kind_t kind;
    char *ref;
    char *req;
    char *arg;
    char *shard;
    uint8_t *body;
    size_t len;
    int timeout_ms;
    int64_t started_ms;        /* monotonic, when the lws thread asked */
    void *handle;              /* in the bus thread's outstanding list */
} command_t;

struct gw_bus_t {
    zactor_t *actor;
    char *broker;
    char *broker_sub;
    gw_wake_fn *wake;
    void *wake_arg;
    int start_failed;
    _Atomic int connected;     /* the DEALER has a connection to the broker */
    pthread_mutex_t lock;      /* guards everything below */
    gw_event_t *head;
    gw_event_t *tail;
    size_t queued;
    uint64_t dropped;
    char report_name[128];     /* empty: no load reports yet */
    uint32_t visitors;         /* open connections by role */
    uint32_t operators;
};

static void command_free(command_t **cmd_p)
{
    command_t *cmd = *cmd_p;
    if (!cmd)
        return;
    free(cmd->ref);
    free(cmd->req);
    free(cmd->arg);
    free(cmd->shard);
    free(cmd->body);
    free(cmd);
    *cmd_p = NULL;
}

void gw_event_destroy(gw_event_t **event_p)
{
    gw_event_t *ev = *event_p;
    if (!ev)
        return;
    free(ev->ref);
    free(ev->req);
    free(ev->arg);
    free(ev->topic);
    zframe_destroy(&ev->body);
    free(ev);
    *event_p = NULL;
}

/* Appends an event. Returns 1 if the queue was empty (the lws thread must
 * be woken), 0 if it joined events that a wake-up already covers, -1 if it
 * was dropped (then destroyed). The lws thread always takes the whole
 * queue, so "non-empty" implies "a wake-up is on its way": waking only on
 * the empty → non-empty step keeps that true with far fewer wake-ups. */
static int push_event(gw_bus_t *self, gw_event_t *ev)
{
    int dropped = 0, was_empty = 0;
    pthread_mutex_lock(&self->lock);
    /* A stalled lws thread must not make this one grow without end. Replies
     * are kept (each has a waiting client); deliveries may drop: sequence
     * numbers and sync repair that, as for any pub/sub loss. */
    if (ev->type == GW_EV_DELIVERY && self->queued >= GW_BUS_QUEUE_MAX) {
        self->dropped++;
        dropped = 1;
    } else {
        was_empty = self->head == NULL;
        if (self->tail)
            self->tail->next = ev;
        else
            self->head = ev;
        self->tail = ev;
        self->queued++;
    }
    uint64_t total = self->dropped;
    pthread_mutex_unlock(&self->lock);
    if (dropped) {
        gw_event_destroy(&ev);
        /* Log the 1st, 2nd, 4th, 8th... drop: visible, but never a flood. */
        if ((total & (total - 1)) == 0) {
            char count[24];
            snprintf(count, sizeof count, "%" PRIu64, total);
            log_warn("lws thread behind; deliveries dropped", "total", count);
        }
    }
    return dropped ? -1 : was_empty;
}

gw_event_t *gw_bus_take_events(gw_bus_t *self)
{
    pthread_mutex_lock(&self->lock);
    gw_event_t *list = self->head;
    self->head = self->tail = NULL;
    self->queued = 0;
    pthread_mutex_unlock(&self->lock);
    return list;
}

void gw_bus_set_report_name(gw_bus_t *self, const char *name)
{
    pthread_mutex_lock(&self->lock);
    snprintf(self->report_name, sizeof self->report_name, "%s", name ? name : "");
    pthread_mutex_unlock(&self->lock);
}

void gw_bus_count_conn(gw_bus_t *self, gw_role_t role, int delta)
{
    if (!self)
        return;                /* unit tests run connections without a bus */
    pthread_mutex_lock(&self->lock);
    uint32_t *n = role == GW_ROLE_OPERATOR ? &self->operators : &self->visitors;
    if (delta > 0 || *n > 0)
        *n += (uint32_t) delta;
    pthread_mutex_unlock(&self->lock);
}

uint64_t gw_bus_dropped(gw_bus_t *self)
{
    pthread_mutex_lock(&self->lock);
    uint64_t n = self->dropped;
    pthread_mutex_unlock(&self->lock);
    return n;
}

/* Turns a finished request (answered or timed out) into an event. The
 * command becomes part of the event; `body` is taken. */
static int push_reply(gw_bus_t *self, command_t *cmd, bus_status_t status, zframe_t *body)
{
    gw_event_t *ev = calloc(1, sizeof *ev);
    if (!ev) {
        zframe_destroy(&body);
        command_free(&cmd);
        return -1;
    }
    ev->type = GW_EV_REPLY;
    ev->conn_id = cmd->conn_id;
    ev->kind = cmd->kind;
    ev->ref = cmd->ref;
    ev->req = cmd->req;
    ev->arg = cmd->arg;
    ev->started_ms = cmd->started_ms;
    cmd->ref = cmd->req = cmd->arg = NULL;
    ev->status = status;
    ev->body = body;
    command_free(&cmd);
    return push_event(self, ev);
}

/* ------------------------------------------------------------ bus thread */

typedef struct {
    gw_bus_t *bus;
    bus_client_t *client;
    zsock_t *sub;
    zlistx_t *outstanding;     /* command_t of requests in flight */
    int woke;                  /* the queue became non-empty since the last wake-up */
    int64_t next_report_ms;    /* monotonic: next load report to the broker */
    int64_t next_expire_ms;    /* monotonic: next walk over the requests in flight */
    bool broker_lost;          /* disconnected from the broker (warned once) */
} thread_t;

/* Sends the broker this gateway's load when due; a lost report is simply
 * replaced by the next one. */
static void report_load(thread_t *t)
{
    int64_t now = beseda_mono_ms();
    if (now < t->next_report_ms)
        return;
    t->next_report_ms = now + BUS_HEARTBEAT_MS;
    Beseda__GatewayStats stats = BESEDA__GATEWAY_STATS__INIT;
    char name[sizeof t->bus->report_name];
    pthread_mutex_lock(&t->bus->lock);
    memcpy(name, t->bus->report_name, sizeof name);
    stats.visitors = t->bus->visitors;
    stats.operators = t->bus->operators;
    pthread_mutex_unlock(&t->bus->lock);
    if (!*name)
        return;
    stats.name = name;
    uint8_t buf[256];
    if (beseda__gateway_stats__get_packed_size(&stats) > sizeof buf)
        return;
    size_t len = beseda__gateway_stats__pack(&stats, buf);
    bus_client_report(t->client, buf, len);
}

static void start_request(thread_t *t, command_t *cmd)
{
    /* The body is copied by bus_client; release it now, keep the rest as the
     * request's user data until the reply. */
    uint64_t corr = bus_client_request(t->client, GW_BUS_SERVICE, cmd->shard, cmd->body,
                                       cmd->len, cmd->timeout_ms, cmd);
    free(cmd->body);
    cmd->body = NULL;
    if (corr != 0)
        cmd->handle = zlistx_add_end(t->outstanding, cmd);
    if (corr != 0 && !cmd->handle)
        bus_client_cancel(t->client, corr);
    if (corr == 0 || !cmd->handle) {
        log_warn("cannot queue a bus request");
        if (push_reply(t->bus, cmd, BUS_TIMEOUT, NULL) == 1)
            t->woke = 1;
    }
}

/* Returns -1 when the thread must stop. */
static int handle_command(thread_t *t, zsock_t *pipe)
{
    zmsg_t *msg = zmsg_recv(pipe);
    if (!msg)
        return -1;
    char *verb = zmsg_popstr(msg);
    int rc = 0;
    if (!verb || strcmp(verb, "$TERM") == 0)
        rc = -1;
    else if (strcmp(verb, "REQ") == 0) {
        zframe_t *f = zmsg_first(msg);
        command_t *cmd = NULL;
        if (f && zframe_size(f) == sizeof cmd) {
            memcpy(&cmd, zframe_data(f), sizeof cmd);
            start_request(t, cmd);
        }
    } else if (strcmp(verb, "SUB") == 0 || strcmp(verb, "UNSUB") == 0) {
        char *topic = zmsg_popstr(msg);
        if (topic && verb[0] == 'S')
            zsock_set_subscribe(t->sub, topic);
        else if (topic)
            zsock_set_unsubscribe(t->sub, topic);
        free(topic);
    }
    free(verb);
    zmsg_destroy(&msg);
    return rc;
}

/* Returns -1 when the thread must stop. */
static int drain_commands(thread_t *t, zsock_t *pipe)
{
    for (int i = 0; i < GW_COMMANDS_PER_PASS && (zsock_events(pipe) & ZMQ_POLLIN); i++)
        if (handle_command(t, pipe) < 0)
            return -1;
    return 0;
}

static void finish(thread_t *t, command_t *cmd, bus_status_t status, zframe_t *body)
{
    zlistx_delete(t->outstanding, cmd->handle);
    if (push_reply(t->bus, cmd, status, body) == 1)
        t->woke = 1;
}

static void drain_replies(thread_t *t)
{
    zsock_t *sock = bus_client_sock(t->client);
    while (zsock_events(sock) & ZMQ_POLLIN) {
        bus_reply_t reply;
        int rc = bus_client_recv(t->client, &reply);
        if (rc < 0)
            break;
        if (rc == 1)
            finish(t, reply.user, reply.status, reply.body);
    }
}

static void drain_deliveries(thread_t *t)
{
    while (zsock_events(t->sub) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(t->sub);
        if (!msg)
            break;
        char *topic = zmsg_popstr(msg);
        zframe_t *body = zmsg_pop(msg);
        zmsg_destroy(&msg);
        gw_event_t *ev = topic && body ? calloc(1, sizeof *ev) : NULL;
        if (!ev) {
            free(topic);
            zframe_destroy(&body);
            continue;
        }
        ev->type = GW_EV_DELIVERY;
        ev->topic = topic;
        ev->body = body;
        if (push_event(t->bus, ev) == 1)
            t->woke = 1;
    }
}

/* Resends and timeouts, at most every GW_EXPIRE_CHECK_MS. */
static void expire_requests(thread_t *t)
{
    int64_t now = beseda_mono_ms();
    if (now < t->next_expire_ms)
        return;
    t->next_expire_ms = now + GW_EXPIRE_CHECK_MS;
    bus_reply_t reply;
    while (bus_client_expire(t->client, &reply) == 1)
        finish(t, reply.user, BUS_TIMEOUT, NULL);
}

/* How long the poller may sleep: until the next check while requests are
 * in flight (counted by our own list: bus_client would walk them all),
 * else until the next load report is due. */
static int poll_timeout_ms(thread_t *t)
{
    int64_t now = beseda_mono_ms();
    int64_t until = t->next_report_ms;
    if (zlistx_size(t->outstanding) > 0 && t->next_expire_ms < until)
        until = t->next_expire_ms;
    if (until <= now)
        return 0;
    return until - now > BUS_ATTEMPT_MS ? BUS_ATTEMPT_MS : (int) (until - now);
}

/* Commands whose reply has not come are freed when the thread stops:
 * bus_client does not own its requests' user data. */
static void free_outstanding(thread_t *t)
{
    if (!t->outstanding)
        return;
    for (command_t *cmd = zlistx_first(t->outstanding); cmd; cmd = zlistx_next(t->outstanding))
        command_free(&cmd);
    zlistx_destroy(&t->outstanding);
}

/* Watches the DEALER's connection to the broker (for /readyz). The monitor
 * sees only events after it starts, so the socket reconnects once it does:
 * nothing was sent yet, and the connection is then reported either way. */
static zactor_t *watch_connection(thread_t *t)
{
    zsock_t *sock = bus_client_sock(t->client);
    zactor_t *monitor = zactor_new(zmonitor, sock);
    if (!monitor)
        return NULL;
    zstr_sendx(monitor, "LISTEN", "CONNECTED", "DISCONNECTED", NULL);
    zstr_sendx(monitor, "START", NULL);
    zsock_wait(monitor);
    zsock_disconnect(sock, "%s", t->bus->broker);
    if (zsock_connect(sock, "%s", t->bus->broker) != 0)
        zactor_destroy(&monitor);
    return monitor;
}

static void on_monitor_event(thread_t *t, zactor_t *monitor)
{
    zmsg_t *msg = zmsg_recv(monitor);
    char *event = msg ? zmsg_popstr(msg) : NULL;
    /* Losing the broker and getting it back are warnings (the first
     * connection is not): requests wait meanwhile. */
    if (event && strcmp(event, "CONNECTED") == 0) {
        if (t->broker_lost)
            log_warn("broker is back", "broker", t->bus->broker);
        else
            log_info("broker connection", "event", event, "broker", t->bus->broker);
        t->broker_lost = false;
        atomic_store(&t->bus->connected, 1);
    } else if (event && strcmp(event, "DISCONNECTED") == 0) {
        if (!t->broker_lost)
            log_warn("lost the broker", "broker", t->bus->broker);
        t->broker_lost = true;
        atomic_store(&t->bus->connected, 0);
    }
    free(event);
    zmsg_destroy(&msg);
}

int gw_bus_connected(gw_bus_t *self)
{
    return self ? atomic_load(&self->connected) : 0;
}

static void bus_thread(zsock_t *pipe, void *args)
{
    thread_t t = { .bus = args };
    t.client = bus_client_new(t.bus->broker);
    t.sub = bus_sub_new(t.bus->broker_sub);
    t.outstanding = zlistx_new();
    zactor_t *monitor = t.client ? watch_connection(&t) : NULL;
    zpoller_t *poller = NULL;
    if (t.client && t.sub && t.outstanding && monitor)
        poller = zpoller_new(pipe, bus_client_sock(t.client), t.sub, monitor, NULL);
    if (!poller) {
        t.bus->start_failed = 1;
        goto done;
    }
    /* Never wait inside a send: with the broker gone the DEALER's queue
     * fills, and a failed send is simply retried by the attempt timer. */
    zsock_set_sndtimeo(bus_client_sock(t.client), 0);
    /* Let an OperatorGone sent while stopping leave before the socket closes. */
    zsock_set_linger(bus_client_sock(t.client), 500);
    zsock_signal(pipe, 0);
    for (;;) {
        void *which = zpoller_wait(poller, poll_timeout_ms(&t));
        if (which == pipe && drain_commands(&t, pipe) < 0)
            break;
        if (which == bus_client_sock(t.client))
            drain_replies(&t);
        else if (which == t.sub)
            drain_deliveries(&t);
        else if (which == monitor)
            on_monitor_event(&t, monitor);
        expire_requests(&t);
        report_load(&t);
        if (t.woke) {
            t.woke = 0;
            t.bus->wake(t.bus->wake_arg);
        }
    }
done:
    free_outstanding(&t);
    if (t.bus->start_failed)
        zsock_signal(pipe, 1);
    zpoller_destroy(&poller);
    zactor_destroy(&monitor);
    zsock_destroy(&t.sub);
    bus_client_destroy(&t.client);
}

/* ------------------------------------------------------------ lws thread */

gw_bus_t *gw_bus_new(const char *broker, const char *broker_sub, gw_wake_fn *wake, void *wake_arg)
{
    gw_bus_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    self->broker = strdup(broker);
    self->broker_sub = strdup(broker_sub);
    self->wake = wake;
    self->wake_arg = wake_arg;
    /* The pipe is the lws thread's only way in; a deep queue rides out a
     * bus thread that is briefly busy, and sends never wait (below). */
    zsys_set_pipehwm(GW_BUS_PIPE_HWM);
    if (self->broker && self->broker_sub)
        self->actor = zactor_new(bus_thread, self);
    if (!self->actor || self->start_failed) {
        gw_bus_destroy(&self);
        return NULL;
    }
    zsock_set_sndtimeo(zactor_sock(self->actor), 0);
    return self;
}

void gw_bus_destroy(gw_bus_t **self_p)
{
    gw_bus_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy(&self->actor);
    gw_event_t *ev = gw_bus_take_events(self);
    while (ev) {
        gw_event_t *next = ev->next;
        gw_event_destroy(&ev);
        ev = next;
    }
    pthread_mutex_destroy(&self->lock);
    free(self->broker);
    free(self->broker_sub);
    free(self);
    *self_p = NULL;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

int gw_bus_request(gw_bus_t *self, uint64_t conn_id, gw_req_kind_t kind, const char *ref,
                   const char *arg, const char *shard_key, uint8_t *body, size_t len,
                   int timeout_ms)
{
    return gw_bus_request_req(self, conn_id, kind, ref, "", arg, shard_key, body, len, timeout_ms);
}

int gw_bus_request_req(gw_bus_t *self, uint64_t conn_id, gw_req_kind_t kind, const char *ref,
                       const char *req, const char *arg, const char *shard_key, uint8_t *body,
                       size_t len, int timeout_ms)
{
    command_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd) {
        free(body);
        return -1;
    }
    cmd->conn_id = conn_id;
    cmd->kind = kind;
    cmd->ref = dup_or_empty(ref);
    cmd->req = dup_or_empty(req);
    cmd->arg = dup_or_empty(arg);
    cmd->shard = dup_or_empty(shard_key);
    cmd->body = body;
    cmd->len = len;
    cmd->timeout_ms = timeout_ms;
    cmd->started_ms = beseda_mono_ms();
    if (!cmd->ref || !cmd->req || !cmd->arg || !cmd->shard || !body
        || zsock_send(zactor_sock(self->actor), "sb", "REQ", &cmd, sizeof cmd) != 0) {
        command_free(&cmd);
        return -1;
    }
    return 0;
}

int gw_bus_subscribe(gw_bus_t *self, const char *topic)
{
    return zsock_send(zactor_sock(self->actor), "ss", "SUB", topic);
}

int gw_bus_unsubscribe(gw_bus_t *self, const char *topic)
{
    return zsock_send(zactor_sock(self->actor), "ss", "UNSUB", topic);
}
