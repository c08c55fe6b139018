/* Connections: each visitor and operator is one client WebSocket of the one
 * libwebsockets context. Output goes through a per-connection queue written
 * when the socket is writable (as a browser's send buffer would); input is
 * assembled into whole messages and handed to the protocol in use. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

int conn_open(conn_t *conn)
{
    gen_t *gen = conn->gen;
    struct lws_client_connect_info info;
    memset(&info, 0, sizeof info);
    info.context = gen->ctx;
    info.address = gen->host;
    info.port = gen->port;
    info.path = conn->is_operator ? gen->operator_path : gen->visitor_path;
    info.host = gen->host;
    info.origin = gen->origin;
    info.protocol = gen->proto->subprotocol;
    info.local_protocol_name = gen_lws_protocols[0].name;
    info.userdata = conn;
    info.pwsi = &conn->wsi;
    conn->state = CONN_CONNECTING;
    conn->attempts++;
    conn->connect_start_us = gen_now_us();
    conn->rx_len = 0;
    gen->in_flight++;
    if (!lws_client_connect_via_info(&info)) {
        /* pwsi was cleared; the failure callback may already have run. */
        if (conn->state == CONN_CONNECTING) {
            gen->in_flight--;
            conn->state = CONN_IDLE;
            conn->retry_at_us = gen_now_us() + GEN_RETRY_DELAY_US;
        }
        return -1;
    }
    return 0;
}

int conn_send(conn_t *conn, const void *data, size_t len, int binary)
{
    if (!conn->wsi || conn->state < CONN_OPEN) {
        gen_error(conn->gen, "send_not_connected");
        return -1;
    }
    if (conn->out_count >= GEN_MAX_QUEUE_FRAMES) {
        gen_error(conn->gen, "queue_full");
        return -1;
    }
    out_frame_t *f = malloc(sizeof *f + LWS_PRE + len);
    if (!f) {
        gen_error(conn->gen, "out_of_memory");
        return -1;
    }
    f->next = NULL;
    f->len = len;
    f->binary = binary;
    memcpy(f->data + LWS_PRE, data, len);
    if (conn->out_tail)
        conn->out_tail->next = f;
    else
        conn->out_head = f;
    conn->out_tail = f;
    conn->out_count++;
    conn->last_tx_us = gen_now_us();
    lws_callback_on_writable(conn->wsi);
    return 0;
}

void conn_set_ready(conn_t *conn)
{
    gen_t *gen = conn->gen;
    if (conn->state == CONN_READY)
        return;
    conn->state = CONN_READY;
    if (gen->in_flight)
        gen->in_flight--;
    if (conn->is_operator) {
        gen->ready_operators++;
    } else {
        gen->ready_visitors++;
        hist_record(gen->connect_hist, gen_now_us() - conn->connect_start_us);
    }
}

void conn_free_queues(conn_t *conn)
{
    while (conn->out_head) {
        out_frame_t *next = conn->out_head->next;
        free(conn->out_head);
        conn->out_head = next;
    }
    conn->out_tail = NULL;
    conn->out_count = 0;
    free(conn->rx);
    conn->rx = NULL;
    conn->rx_len = conn->rx_cap = 0;
}

/* Writes queued frames until the socket would block. */
static int on_writable(conn_t *conn, struct lws *wsi)
{
    for (int i = 0; i < 64 && conn->out_head; i++) {
        out_frame_t *f = conn->out_head;
        int n = lws_write(wsi, f->data + LWS_PRE, f->len, f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < (int) f->len) {
            gen_error(conn->gen, "write_failed");
            return -1;
        }
        conn->out_head = f->next;
        if (!conn->out_head)
            conn->out_tail = NULL;
        conn->out_count--;
        free(f);
        if (lws_send_pipe_choked(wsi))
            break;
    }
    if (conn->out_head)
        lws_callback_on_writable(wsi);
    return 0;
}

static int append_rx(conn_t *conn, const void *in, size_t len)
{
    if (conn->rx_len + len > GEN_MAX_RX_BYTES) {
        gen_error(conn->gen, "input_too_large");
        return -1;
    }
    if (conn->rx_len + len > conn->rx_cap) {
        size_t cap = conn->rx_cap ? conn->rx_cap : 1024;
        while (cap < conn->rx_len + len)
            cap *= 2;
        uint8_t *rx = realloc(conn->rx, cap);
        if (!rx) {
            gen_error(conn->gen, "out_of_memory");
            return -1;
        }
        conn->rx = rx;
        conn->rx_cap = cap;
    }
    memcpy(conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    return 0;
}

/* Appends a received chunk and passes on every whole message. */
static int on_receive(conn_t *conn, struct lws *wsi, const void *in, size_t len)
{
    if (append_rx(conn, in, len) < 0)
        return -1;
    const gen_proto_t *proto = conn->gen->proto;
    if (!proto->stream && !(lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0))
        return 0;
    long used = proto->on_input(conn, conn->rx, conn->rx_len);
    if (used < 0)
        return -1;
    memmove(conn->rx, conn->rx + used, conn->rx_len - (size_t) used);
    conn->rx_len -= (size_t) used;
    return 0;
}

/* The connection failed or closed: retry while connecting, else give up on it. */
static void on_gone(conn_t *conn, const char *why)
{
    gen_t *gen = conn->gen;
    int was_connecting = conn->state == CONN_CONNECTING || conn->state == CONN_OPEN;
    if (was_connecting && gen->in_flight)
        gen->in_flight--;
    if (conn->state == CONN_READY) {
        if (conn->is_operator)
            gen->ready_operators--;
        else
            gen->ready_visitors--;
    }
    conn->wsi = NULL;
    conn_free_queues(conn);
    if (gen->quit)
        return;
    gen_error(gen, why);
    if (was_connecting && conn->attempts < GEN_CONNECT_ATTEMPTS) {
        conn->state = CONN_IDLE;
        conn->retry_at_us = gen_now_us() + GEN_RETRY_DELAY_US * conn->attempts;
    } else {
        conn->state = CONN_FAILED;
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    conn_t *conn = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!conn)
            return -1;
        conn->state = CONN_OPEN;
        conn->gen->proto->on_open(conn);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return conn ? on_writable(conn, wsi) : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return conn ? on_receive(conn, wsi, in, len) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (conn)
            on_gone(conn, "connect_failed");
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (conn)
            on_gone(conn, conn->state == CONN_READY ? "closed_by_server" : "closed_while_connecting");
        break;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols gen_lws_protocols[] = {
    { "loadgen", callback, 0, 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};
