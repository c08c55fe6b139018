/* The beseda client protocol (docs/PROTOCOL.md) as the widget and the
 * console speak it: a visitor says hello and gets its conversation in the
 * welcome; it sends messages and waits for acks; an operator logs in, gets
 * chats `assigned`, syncs what came before the assignment, and answers every
 * visitor message. */
#include "gen.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define FRAME_MAX_BYTES (GEN_TEXT_MAX_BYTES + 512)

static int send_text(conn_t *conn, const char *text, int len)
{
    if (len < 0 || len >= FRAME_MAX_BYTES) {
        gen_error(conn->gen, "frame_build_failed");
        return -1;
    }
    return conn_send(conn, text, (size_t) len, 0);
}

static void on_open(conn_t *conn)
{
    gen_t *gen = conn->gen;
    conn->hellos++;
    conn->rehello_at_us = 0;
    char frame[FRAME_MAX_BYTES];
    int n;
    if (conn->is_operator) {
        const char *login = gen->op_logins[conn->index];
        const char *tab = strchr(login, '\t');
        if (!tab) {
            gen_error(gen, "bad_operator_login");
            return;
        }
        n = snprintf(frame, sizeof frame, "{\"type\":\"login\",\"email\":\"%.*s\",\"password\":\"%s\"}",
                     (int) (tab - login), login, tab + 1);
    } else {
        n = snprintf(frame, sizeof frame,
                     "{\"type\":\"hello\",\"site\":\"%s\",\"page\":{\"url\":\"http://shop.bench/item/%" PRIu32
                     "\",\"title\":\"Bench item\",\"referrer\":\"\",\"language\":\"en-US\"}}",
                     gen->site, conn->index);
    }
    send_text(conn, frame, n);
}

static int send_message(conn_t *conn, uint32_t msgno, int64_t sched_us)
{
    gen_t *gen = conn->gen;
    char id[LEDGER_ID_MAX], frame[FRAME_MAX_BYTES];
    if (ledger_format_id(id, sizeof id, 'v', conn->index, msgno, sched_us) < 0)
        return -1;
    int n = snprintf(frame, sizeof frame, "{\"type\":\"send\",\"conversation\":\"%s\",\"client_id\":\"%s\",\"text\":\"%s\"}",
                     conn->conversation, id, gen->padding);
    return send_text(conn, frame, n);
}

static void ping(conn_t *conn)
{
    send_text(conn, "{\"type\":\"ping\"}", 15);
}

/* The operator answers message msgno of visitor vidx in `conversation`. */
static void reply(conn_t *conn, const char *conversation, uint32_t vidx, uint32_t msgno)
{
    gen_t *gen = conn->gen;
    char id[LEDGER_ID_MAX], frame[FRAME_MAX_BYTES];
    if (ledger_format_id(id, sizeof id, 'o', vidx, msgno, gen_now_us()) < 0)
        return;
    int n = snprintf(frame, sizeof frame, "{\"type\":\"send\",\"conversation\":\"%s\",\"client_id\":\"%s\",\"text\":\"re %s\"}",
                     conversation, id, gen->padding);
    if (send_text(conn, frame, n) == 0)
        ledger_on_reply_sent(gen->ledger, vidx, msgno);
}

/* One chat message seen by this connection (live `message`, or from the
 * `messages` answer to a sync: from_sync). */
static void on_chat_message(conn_t *conn, json_t *msg, const char *conversation, int from_sync)
{
    gen_t *gen = conn->gen;
    const char *client_id = json_string_value(json_object_get(msg, "client_id"));
    json_t *seq_j = json_object_get(msg, "seq");
    int64_t seq = json_is_integer(seq_j) ? json_integer_value(seq_j) : -1;
    char kind;
    uint32_t vidx, msgno;
    int64_t sched;
    if (!client_id || ledger_parse_id(client_id, strlen(client_id), &kind, &vidx, &msgno, &sched) < 0) {
        gen_error(gen, "foreign_message");
        return;
    }
    int64_t now = gen_now_us();
    if (conn->is_operator && kind == 'v') {
        int first = from_sync ? ledger_on_synced(gen->ledger, vidx, msgno, now)
                              : ledger_on_delivered(gen->ledger, vidx, msgno, seq, now);
        if (first == 1 && gen->replies && conversation)
            reply(conn, conversation, vidx, msgno);
    } else if (from_sync) {
        return;                    /* history the client had or will render by seq */
    } else if (conn->is_operator) {
        ledger_on_operator_echo(gen->ledger, vidx, msgno, seq);
    } else if (kind == 'o') {
        ledger_on_reply_received(gen->ledger, vidx, msgno, seq, sched, now);
    } else {
        ledger_on_echo(gen->ledger, vidx, msgno, seq);
    }
}

static void on_welcome(conn_t *conn, json_t *frame)
{
    if (!conn->is_operator) {
        const char *id = json_string_value(json_object_get(json_object_get(frame, "conversation"), "id"));
        if (!id || strlen(id) >= sizeof conn->conversation) {
            gen_error(conn->gen, "welcome_without_conversation");
            return;
        }
        strcpy(conn->conversation, id);
    } else {
        send_text(conn, "{\"type\":\"status\",\"status\":\"online\"}", 35);
    }
    conn_set_ready(conn);
}

/* A chat assigned with messages already in it: fetch them, as the console does. */
static void on_assigned(conn_t *conn, json_t *frame)
{
    json_t *c = json_object_get(frame, "conversation");
    const char *id = json_string_value(json_object_get(c, "id"));
    json_t *last = json_object_get(c, "last_seq");
    if (!id || !json_is_integer(last) || json_integer_value(last) < 1)
        return;
    char out[256];
    int n = snprintf(out, sizeof out, "{\"type\":\"sync\",\"conversation\":\"%s\",\"after\":0}", id);
    send_text(conn, out, n);
}

static void on_ack(conn_t *conn, json_t *frame)
{
    if (conn->is_operator)
        return;
    gen_t *gen = conn->gen;
    const char *client_id = json_string_value(json_object_get(frame, "client_id"));
    char kind;
    uint32_t vidx, msgno;
    int64_t sched;
    if (!client_id || ledger_parse_id(client_id, strlen(client_id), &kind, &vidx, &msgno, &sched) < 0
        || vidx != conn->index) {
        gen_error(gen, "foreign_ack");
        return;
    }
    if (json_is_true(json_object_get(frame, "duplicate")))
        gen_error(gen, "ack_marked_duplicate");
    ledger_on_ack(gen->ledger, vidx, msgno, gen_now_us());
}

static void on_error_frame(conn_t *conn, json_t *frame)
{
    const char *code = json_string_value(json_object_get(frame, "code"));
    /* Before the welcome, a busy backend answers hello/login with
     * `unavailable`: the widget and console say it again a little later. */
    if (conn->state != CONN_READY && code && (!strcmp(code, "unavailable") || !strcmp(code, "internal"))
        && conn->hellos < GEN_MAX_HELLOS)
        conn->rehello_at_us = gen_now_us() + GEN_REHELLO_DELAY_US;
    char kind[48];
    snprintf(kind, sizeof kind, "server:%s", code ? code : "?");
    gen_error(conn->gen, kind);
    /* An error about one of our messages: `ref` is its client id. */
    const char *ref = json_string_value(json_object_get(frame, "ref"));
    char k;
    uint32_t vidx, msgno;
    int64_t sched;
    if (!conn->is_operator && ref && ledger_parse_id(ref, strlen(ref), &k, &vidx, &msgno, &sched) == 0 && k == 'v'
        && vidx == conn->index)
        ledger_on_rejected(conn->gen->ledger, vidx, msgno);
}

static void dispatch(conn_t *conn, json_t *frame)
{
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (!type) {
        gen_error(conn->gen, "frame_without_type");
    } else if (!strcmp(type, "message")) {
        on_chat_message(conn, frame, json_string_value(json_object_get(frame, "conversation")), 0);
    } else if (!strcmp(type, "ack")) {
        on_ack(conn, frame);
    } else if (!strcmp(type, "messages")) {
        const char *conv = json_string_value(json_object_get(frame, "conversation"));
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(frame, "messages"), i, m) on_chat_message(conn, m, conv, 1);
    } else if (!strcmp(type, "welcome")) {
        on_welcome(conn, frame);
    } else if (!strcmp(type, "assigned")) {
        on_assigned(conn, frame);
    } else if (!strcmp(type, "error")) {
        on_error_frame(conn, frame);
    } else if (!strcmp(type, "reconnect")) {
        gen_error(conn->gen, "server_asked_reconnect");
    }
    /* pong, ok, typing, conversation, operators: nothing to measure */
}

static long on_input(conn_t *conn, const uint8_t *buf, size_t len)
{
    json_error_t err;
    json_t *frame = json_loadb((const char *) buf, len, 0, &err);
    if (!json_is_object(frame)) {
        gen_error(conn->gen, "bad_json_from_server");
    } else {
        dispatch(conn, frame);
    }
    json_decref(frame);
    return (long) len;
}

const gen_proto_t gen_proto_beseda = {
    .subprotocol = "beseda.v1",
    .stream = 0,
    .on_open = on_open,
    .on_input = on_input,
    .send_message = send_message,
    .ping = ping,
};
