/* What the gateway does with a complete client frame, with a reply or a
 * delivery from the bus thread, and on its presence timer. All on the lws
 * thread; per-connection state is changed only here and in gw_conn.c.
 *
 * Replies are matched to connections by id: a reply whose connection has
 * closed meanwhile finds nothing and is dropped. */
#include "gw_gateway.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_login(gw_req_kind_t kind)
{
    return kind == GW_REQ_VISITOR_HELLO || kind == GW_REQ_OPERATOR_LOGIN
           || kind == GW_REQ_OPERATOR_RESUME;
}

/* An error answering the frame: it names the frame's ref, request id and
 * conversation (when it got that far). */
static void frame_error(gw_conn_t *conn, const gw_frame_t *f, const char *code,
                        const char *message)
{
    gw_conn_error_about(conn, code, message, f->ref, f->req, f->conversation);
}

/* 0 if the request went to the bus, -1 if the client got an error for it. */
static int send_request(gw_conn_t *conn, const gw_frame_t *f)
{
    gw_server_t *s = conn->server;
    gw_identity_t id;
    gw_conn_identity(conn, &id);
    /* Past this the gateway has answered `unavailable`: a router reaching
     * the request later (a backlog) drops it instead of doing it. */
    int64_t until = beseda_now_ms() + s->cfg.request_timeout_ms;
    size_t len = 0;
    uint8_t *body = gw_frame_pack_until(f, &id, until, &len);
    if (!body) {
        frame_error(conn, f, "internal", NULL);
        return -1;
    }
    if (gw_bus_request_req(s->bus, conn->id, f->kind, f->ref, f->req, f->arg,
                           gw_frame_shard(f, &id), body, len, s->cfg.request_timeout_ms) < 0) {
        frame_error(conn, f, "unavailable", NULL);
        return -1;
    }
    s->in_flight++;
    conn->in_flight++;
    if (is_login(f->kind))
        conn->auth = GW_AUTH_PENDING;
    return 0;
}

/* The send of conv in flight on conn was answered (or failed): the next
 * waiting send of conv goes now (gw_sendq.h). A waiting frame is parsed
 * when it goes, so it sees the connection as it is then. */
static void send_next(gw_conn_t *conn, const char *conv)
{
    size_t len = 0;
    char *data;
    while ((data = gw_sendq_done(conn, conv, &len))) {
        gw_frame_t f;
        int rc = gw_frame_parse(data, len, conn->role, conn->auth, &conn->server->cfg.limits, &f);
        if (rc < 0)
            frame_error(conn, &f, f.error_code, f.error_message);
        else
            rc = send_request(conn, &f);
        gw_frame_clear(&f);
        free(data);
        if (rc == 0)
            return;
    }
}

/* Requests kept in a connection's order per conversation: messages, and
 * the close and transfer that may follow them (a close must not overtake
 * the messages typed before it). */
static int in_conversation_order(gw_req_kind_t kind)
{
    return kind == GW_REQ_SEND || kind == GW_REQ_CLOSE || kind == GW_REQ_TRANSFER;
}

/* A send waits while an earlier one of the same conversation is in flight
 * on this connection, so that a bus retry never lets it overtake. */
static void send_in_order(gw_conn_t *conn, const gw_frame_t *f, const char *data, size_t len)
{
    if (gw_sendq_busy(conn, f->arg)) {
        if (gw_sendq_push(conn, f->arg, data, len, conn->server->cfg.limits.max_frame_bytes) < 0)
            frame_error(conn, f, "rate_limited", "too many messages waiting to be stored");
        return;
    }
    if (gw_sendq_begin(conn, f->arg) < 0) {
        frame_error(conn, f, "internal", NULL);
        return;
    }
    if (send_request(conn, f) < 0)
        send_next(conn, f->arg);
}

/* Early refusal (gw_admission.h): 1 if the frame may go on, else 0 and the
 * client got "overloaded" with a retry_after_ms. A send that would wait
 * behind one of its conversation in flight adds nothing in flight now and
 * goes on (that queue has its own bound). */
static int admit(gw_conn_t *conn, const gw_frame_t *f)
{
    gw_server_t *s = conn->server;
    if (in_conversation_order(f->kind) && gw_sendq_busy(conn, f->arg))
        return 1;
    if (gw_admission_admit(&s->cfg.admission, f->kind, s->in_flight, conn->in_flight))
        return 1;
    int after = gw_admission_retry_after(&s->cfg.admission, (uint32_t) random());
    gw_metrics_error(&s->metrics, "overloaded");
    gw_conn_send(conn, gw_error_json_retry("overloaded", NULL, f->ref, f->req, f->conversation,
                                           after));
    return 0;
}

void gw_dispatch_message(gw_conn_t *conn, const char *data, size_t len)
{
    /* Stopping: requests already sent are being answered; a new frame is
     * not executed — the client is told to reconnect elsewhere and re-sends
     * it there (it was never acked, so it is not a duplicate). */
    if (conn->server->stopping) {
        if (!conn->closing) {
            gw_conn_send(conn, gw_simple_json("reconnect"));
            gw_conn_close_after(conn, LWS_CLOSE_STATUS_GOINGAWAY);
        }
        return;
    }
    gw_frame_t f;
    int rc = gw_frame_parse(data, len, conn->role, conn->auth, &conn->server->cfg.limits, &f);
    /* Every frame, good or bad, takes a token; the check comes after the
     * parse only so that the error can name the frame (ref). */
    if (!gw_bucket_take(&conn->bucket, beseda_mono_ms()))
        frame_error(conn, &f, "rate_limited", NULL);
    else if (rc < 0)
        frame_error(conn, &f, f.error_code, f.error_message);
    else if (f.kind == GW_REQ_PING)
        gw_conn_send(conn, gw_with_req(gw_simple_json("pong"), f.req));
    else if (!admit(conn, &f))
        ;                       /* refused: the client retries after retry_after_ms */
    else if (in_conversation_order(f.kind))
        send_in_order(conn, &f, data, len);
    else
        send_request(conn, &f);
    gw_frame_clear(&f);
}

/* ---------------------------------------------------------------- replies */

static void send_beat(gw_conn_t *conn)
{
    gw_server_t *s = conn->server;
    gw_identity_t id;
    gw_conn_identity(conn, &id);
    size_t len = 0;
    uint8_t *body = gw_pack_presence_beat(&id, conn->status, &len);
    int timeout = s->cfg.beat_ms > 1000 ? s->cfg.beat_ms : 1000;
    if (!body || gw_bus_request(s->bus, conn->id, GW_REQ_PRESENCE_BEAT, "", "", conn->site_id,
                                body, len, timeout) < 0)
        log_warn("cannot send a presence beat", "conn", conn->id_str);
}

static void topic_subscribe(gw_conn_t *conn, char prefix, const char *id)
{
    if (!id || !*id)
        return;
    char topic[GW_ARG_MAX + 3];
    snprintf(topic, sizeof topic, "%c:%s", prefix, id);
    gw_conn_subscribe(conn, topic);
}

static void bind_visitor(gw_conn_t *conn, const Beseda__VisitorWelcome *w, const char *site)
{
    conn->auth = GW_AUTH_DONE;
    snprintf(conn->site_id, sizeof conn->site_id, "%s", *w->site_id ? w->site_id : site);
    snprintf(conn->visitor_id, sizeof conn->visitor_id, "%s", w->visitor_id);
    if (w->conversation)
        topic_subscribe(conn, 'c', w->conversation->id);
    topic_subscribe(conn, 's', conn->site_id);
}

static void bind_operator(gw_conn_t *conn, const Beseda__OperatorWelcome *w)
{
    const Beseda__OperatorInfo *op = w->operator_;
    if (!op || !*op->id) {
        conn->auth = GW_AUTH_NONE;
        return;
    }
    conn->auth = GW_AUTH_DONE;
    /* A logged-in operator answers many chats: the operator frame rate. */
    double rate, burst;
    gw_rates_pick(&conn->server->cfg.rates, 1, &rate, &burst);
    gw_bucket_init(&conn->bucket, rate, burst, beseda_mono_ms());
    snprintf(conn->operator_id, sizeof conn->operator_id, "%s", op->id);
    snprintf(conn->site_id, sizeof conn->site_id, "%s", op->site_id);
    if (strcmp(op->status, "away") == 0 || strcmp(op->status, "busy") == 0)
        snprintf(conn->status, sizeof conn->status, "%s", op->status);
    topic_subscribe(conn, 'o', op->id);
    topic_subscribe(conn, 's', conn->site_id);     /* missed chats */
    topic_subscribe(conn, 't', conn->site_id);     /* the team chat */
    for (size_t i = 0; i < w->n_conversations; i++)
        if (w->conversations[i])
            topic_subscribe(conn, 'c', w->conversations[i]->id);
    /* Count as present at once rather than after the first beat period. */
    send_beat(conn);
}

/* What a successful reply changes on the connection, before its frame is
 * sent: identity and subscriptions, so that nothing published right after
 * the welcome is missed by this gateway. */
static void apply_reply(gw_conn_t *conn, const gw_event_t *ev, const Beseda__RouterReply *r)
{
    if (*r->error_code) {
        if (is_login(ev->kind))
            conn->auth = GW_AUTH_NONE;
        return;
    }
    switch (r->body_case) {
    case BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME:
        if (ev->kind == GW_REQ_VISITOR_HELLO)
            bind_visitor(conn, r->visitor_welcome, ev->arg);
        break;
    case BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME:
        if (ev->kind == GW_REQ_OPERATOR_LOGIN || ev->kind == GW_REQ_OPERATOR_RESUME)
            bind_operator(conn, r->operator_welcome);
        break;
    case BESEDA__ROUTER_REPLY__BODY_ACK:
        /* A new message was accepted: the conversation is this client's
         * now. A duplicate says nothing of the kind (an operator's old
         * message in a chat since handed to a colleague is one), so it
         * must not bring that chat's events. */
        if (!r->ack->duplicate)
            topic_subscribe(conn, 'c', r->ack->conversation_id);
        break;
    case BESEDA__ROUTER_REPLY__BODY_OK:
        if (ev->kind == GW_REQ_STATUS)
            snprintf(conn->status, sizeof conn->status, "%s", ev->arg);
        break;
    case BESEDA__ROUTER_REPLY__BODY_CONVERSATION:
        /* An accepted ring: the chat's events come here from now on. */
        if (ev->kind == GW_REQ_ACCEPT && r->conversation
            && strcasecmp(r->conversation->operator_id, conn->operator_id) == 0)
            topic_subscribe(conn, 'c', r->conversation->id);
        break;
    default:
        break;
    }
    /* A welcome of the wrong kind (never expected) must not leave the
     * connection stuck in "pending". */
    if (is_login(ev->kind) && conn->auth == GW_AUTH_PENDING)
        conn->auth = GW_AUTH_NONE;
}

static void answer_reply(gw_server_t *s, gw_event_t *ev);

static void handle_reply(gw_server_t *s, gw_event_t *ev)
{
    answer_reply(s, ev);
    gw_conn_t *conn = in_conversation_order(ev->kind) ? gw_conn_find(s, ev->conn_id) : NULL;
    if (conn)
        send_next(conn, ev->arg);
}

static void answer_reply(gw_server_t *s, gw_event_t *ev)
{
    gw_metrics_request(&s->metrics, ev->kind);
    gw_metrics_reply(&s->metrics, ev->kind, ev->status == BUS_TIMEOUT,
                     (double) (beseda_mono_ms() - ev->started_ms));
    int silent = ev->kind == GW_REQ_PRESENCE_BEAT || ev->kind == GW_REQ_OPERATOR_GONE;
    if (!silent && s->in_flight > 0)
        s->in_flight--;         /* presence requests are not counted (send_request only) */
    gw_conn_t *conn = gw_conn_find(s, ev->conn_id);
    if (!conn)
        return;                 /* closed meanwhile */
    if (!silent && conn->in_flight > 0)
        conn->in_flight--;
    const char *about = gw_kind_conversation(ev->kind, ev->arg);
    if (ev->status == BUS_TIMEOUT || !ev->body) {
        if (is_login(ev->kind))
            conn->auth = GW_AUTH_NONE;
        if (!silent)
            gw_conn_error_about(conn, "unavailable", NULL, ev->ref, ev->req, about);
        return;
    }
    Beseda__RouterReply *r = beseda__router_reply__unpack(NULL, zframe_size(ev->body),
                                                          zframe_data(ev->body));
    if (!r) {
        log_error("cannot decode a router reply", "conn", conn->id_str);
        if (is_login(ev->kind))
            conn->auth = GW_AUTH_NONE;
        if (!silent)
            gw_conn_error_about(conn, "internal", NULL, ev->ref, ev->req, about);
        return;
    }
    if (silent && *r->error_code)
        log_debug("presence request refused", "conn", conn->id_str, "code", r->error_code);
    apply_reply(conn, ev, r);
    gw_conn_send(conn, gw_reply_json_req(conn->role, ev->kind, ev->ref, ev->req, ev->arg, r));
    /* Logged out: the session is gone server-side; the connection goes too,
     * after the ok (its close sends OperatorGone, which ends the presence). */
    if (ev->kind == GW_REQ_LOGOUT && !*r->error_code
        && r->body_case == BESEDA__ROUTER_REPLY__BODY_OK)
        gw_conn_close_after(conn, LWS_CLOSE_STATUS_NORMAL);
    beseda__router_reply__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------- deliveries */

/* Changes a delivery makes to a connection's subscriptions: a chat assigned
 * to an operator brings its conversation's events; a chat that went to
 * another operator (transfer) stops them, after this last frame. A chat
 * that left the operator (or closed) may be announced again later. */
static void apply_delivery(gw_conn_t *conn, const Beseda__Delivery *d, const char *topic)
{
    if (conn->role != GW_ROLE_OPERATOR)
        return;
    /* A status set elsewhere (another console, the HTTP API) is what this
     * connection's beats carry from now on. */
    if (d->body_case == BESEDA__DELIVERY__BODY_STATUS && d->status
        && strcasecmp(d->status->operator_id, conn->operator_id) == 0
        && (strcmp(d->status->status, "online") == 0 || strcmp(d->status->status, "away") == 0
            || strcmp(d->status->status, "busy") == 0))
        snprintf(conn->status, sizeof conn->status, "%s", d->status->status);
    const Beseda__ConversationInfo *c = d->body_case == BESEDA__DELIVERY__BODY_CONVERSATION
                                      ? d->conversation : NULL;
    if (d->body_case == BESEDA__DELIVERY__BODY_ASSIGNED && d->assigned)
        topic_subscribe(conn, 'c', d->assigned->id);
    else if (c && *c->operator_id && topic[0] == 'c'
             && strcmp(c->operator_id, conn->operator_id) != 0)
        gw_conn_unsubscribe(conn, topic);
    if (c && (strcasecmp(c->operator_id, conn->operator_id) != 0
              || strcmp(c->state, "closed") == 0))
        gw_conn_forget(conn, c->id);
}

/* The o:<operator> and g:<gateway> copies of one assignment both reach a
 * connection whose o: subscription was in time: announce it once. */
static int first_announcement(gw_conn_t *conn, const Beseda__Delivery *d)
{
    if (d->body_case != BESEDA__DELIVERY__BODY_ASSIGNED || !d->assigned
        || conn->role != GW_ROLE_OPERATOR)
        return 1;
    return gw_conn_announce(conn, d->assigned->id);
}

static void deliver(gw_server_t *s, const Beseda__Delivery *d, const char *topic,
                    const uint64_t *ids, size_t n)
{
    char *text[2] = { NULL, NULL };     /* built once per role */
    size_t len[2] = { 0, 0 };
    int built[2] = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        gw_conn_t *conn = gw_conn_find(s, ids[i]);
        if (!conn || conn->auth != GW_AUTH_DONE)
            continue;
        /* Tenants are walls: never hand one site's event to another's client. */
        if (*d->site_id && *conn->site_id && strcmp(d->site_id, conn->site_id) != 0)
            continue;
        if (!first_announcement(conn, d))
            continue;
        int role = conn->role;
        if (!built[role]) {
            text[role] = gw_delivery_json(d, conn->role);
            len[role] = text[role] ? strlen(text[role]) : 0;
            built[role] = 1;
        }
        if (text[role]) {
            beseda_counter_inc(s->metrics.deliveries);
            gw_conn_send_copy(conn, text[role], len[role]);
        }
        apply_delivery(conn, d, topic);
    }
    free(text[0]);
    free(text[1]);
}

/* A ring names the operators it is offered to. */
static int rings_for(const Beseda__ConversationInfo *c, const gw_conn_t *conn)
{
    for (size_t i = 0; c && i < c->n_ringing; i++)
        if (c->ringing[i] && strcasecmp(c->ringing[i], conn->operator_id) == 0)
            return 1;
    return 0;
}

/* On g:<this gateway>: an `assigned` (or a `ring`) for the one connection named in it,
 * which must still be that operator's (conn ids are never reused, but
 * check anyway). */
static void handle_direct(gw_server_t *s, gw_event_t *ev)
{
    Beseda__Delivery *d = beseda__delivery__unpack(NULL, zframe_size(ev->body),
                                                   zframe_data(ev->body));
    if (!d) {
        log_warn("cannot decode a delivery", "topic", ev->topic);
        return;
    }
    gw_conn_t *conn = *d->conn_id ? zhashx_lookup(s->conns, d->conn_id) : NULL;
    if (conn && conn->role == GW_ROLE_OPERATOR && *conn->operator_id
        && ((d->body_case == BESEDA__DELIVERY__BODY_ASSIGNED && d->assigned
             && strcasecmp(d->assigned->operator_id, conn->operator_id) == 0)
            || (d->body_case == BESEDA__DELIVERY__BODY_RING && rings_for(d->ring, conn))))
        deliver(s, d, ev->topic, &conn->id, 1);
    else
        log_debug("delivery for a connection not here (any more)", "conn", d->conn_id);
    beseda__delivery__free_unpacked(d, NULL);
}

static void handle_delivery(gw_server_t *s, gw_event_t *ev)
{
    /* SUB matches prefixes: "g:gw-1" also brings "g:gw-12"'s deliveries. */
    if (strncmp(ev->topic, "g:", 2) == 0) {
        if (strcmp(ev->topic, s->own_topic) == 0)
            handle_direct(s, ev);
        return;
    }
    size_t n = 0;
    uint64_t *ids = gw_topics_conns(s->topics, ev->topic, &n);
    if (!ids)
        return;                 /* nobody here listens (any more) */
    Beseda__Delivery *d = beseda__delivery__unpack(NULL, zframe_size(ev->body),
                                                   zframe_data(ev->body));
    if (d)
        deliver(s, d, ev->topic, ids, n);
    else
        log_warn("cannot decode a delivery", "topic", ev->topic);
    if (d)
        beseda__delivery__free_unpacked(d, NULL);
    free(ids);
}

void gw_dispatch_events(gw_server_t *s)
{
    gw_event_t *ev = gw_bus_take_events(s->bus);
    while (ev) {
        gw_event_t *next = ev->next;
        if (ev->type == GW_EV_REPLY && GW_REQ_IS_API(ev->kind))
            gw_api_reply(s, ev);
        else if (ev->type == GW_EV_REPLY)
            handle_reply(s, ev);
        else
            handle_delivery(s, ev);
        gw_event_destroy(&ev);
        ev = next;
    }
}

/* ---------------------------------------------------------------- presence */

void gw_dispatch_beats(gw_server_t *s)
{
    for (gw_conn_t *conn = zhashx_first(s->conns); conn; conn = zhashx_next(s->conns))
        if (conn->role == GW_ROLE_OPERATOR && conn->auth == GW_AUTH_DONE && !conn->closing)
            send_beat(conn);
}

void gw_dispatch_closed(gw_conn_t *conn)
{
    if (conn->role != GW_ROLE_OPERATOR || conn->auth != GW_AUTH_DONE)
        return;
    gw_server_t *s = conn->server;
    gw_identity_t id;
    gw_conn_identity(conn, &id);
    size_t len = 0;
    uint8_t *body = gw_pack_operator_gone(&id, &len);
    if (!body || gw_bus_request(s->bus, conn->id, GW_REQ_OPERATOR_GONE, "", "", conn->site_id,
                                body, len, GW_GONE_TIMEOUT_MS) < 0)
        log_warn("cannot send operator gone", "conn", conn->id_str);
}
