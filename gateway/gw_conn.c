/* One WebSocket connection: reassembly of fragmented messages, the queue of
 * frames waiting for the socket to be writable (libwebsockets writes one
 * frame per WRITEABLE callback), closing after that queue is written, and the
 * topics the connection listens to. */
#include "gw_gateway.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_conn_t *gw_conn_new(gw_server_t *server, struct lws *wsi, gw_role_t role)
{
    gw_conn_t *conn = calloc(1, sizeof *conn);
    if (!conn)
        return NULL;
    conn->server = server;
    conn->wsi = wsi;
    conn->role = role;
    conn->id = ++server->next_conn_id;
    snprintf(conn->id_str, sizeof conn->id_str, "%" PRIu64, conn->id);
    snprintf(conn->status, sizeof conn->status, "online");
    double rate, burst;            /* an operator's own rate comes with the welcome */
    gw_rates_pick(&server->cfg.rates, 0, &rate, &burst);
    gw_bucket_init(&conn->bucket, rate, burst, beseda_mono_ms());
    conn->topics = zlistx_new();
    if (!conn->topics || zhashx_insert(server->conns, conn->id_str, conn) != 0) {
        zlistx_destroy(&conn->topics);
        free(conn);
        return NULL;
    }
    zlistx_set_destructor(conn->topics, (zlistx_destructor_fn *) zstr_free);
    zlistx_set_duplicator(conn->topics, (zlistx_duplicator_fn *) strdup);
    zlistx_set_comparator(conn->topics, (zlistx_comparator_fn *) strcmp);
    gw_bus_count_conn(server->bus, role, 1);
    beseda_gauge_add(server->metrics.conns[role == GW_ROLE_OPERATOR], 1);
    beseda_counter_inc(server->metrics.accepted[role == GW_ROLE_OPERATOR]);
    return conn;
}

static void drop_output(gw_conn_t *conn)
{
    while (conn->out_head) {
        gw_out_t *next = conn->out_head->next;
        free(conn->out_head);
        conn->out_head = next;
    }
    conn->out_tail = NULL;
    conn->out_bytes = 0;
}

void gw_conn_destroy(gw_conn_t **conn_p)
{
    gw_conn_t *conn = *conn_p;
    if (!conn)
        return;
    gw_server_t *server = conn->server;
    for (char *topic = zlistx_first(conn->topics); topic; topic = zlistx_next(conn->topics))
        if (gw_topics_remove(server->topics, topic, conn->id) == 1)
            gw_bus_unsubscribe(server->bus, topic);
    zlistx_destroy(&conn->topics);
    zhashx_destroy(&conn->announced);
    gw_sendq_clear(conn);
    gw_bus_count_conn(server->bus, conn->role, -1);
    beseda_gauge_add(server->metrics.conns[conn->role == GW_ROLE_OPERATOR], -1);
    zhashx_delete(server->conns, conn->id_str);
    drop_output(conn);
    free(conn->rx);
    free(conn->user_agent);
    free(conn);
    *conn_p = NULL;
}

gw_conn_t *gw_conn_find(gw_server_t *server, uint64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, id);
    return zhashx_lookup(server->conns, key);
}

/* Appends one piece of a message. The limit applies to the whole message,
 * however it was fragmented; past it the rest is not stored. */
gw_rx_t gw_conn_rx(gw_conn_t *conn, const void *data, size_t len, int binary, int final)
{
    if (conn->closing)
        return GW_RX_IGNORE;
    if (!conn->rx_active) {
        conn->rx_active = 1;
        conn->rx_binary = binary;
        conn->rx_len = 0;
    }
    size_t max = conn->server->cfg.limits.max_frame_bytes;
    if (conn->rx_len + len > max) {
        conn->rx_active = 0;
        return GW_RX_TOO_LARGE;
    }
    if (conn->rx_len + len + 1 > conn->rx_cap) {
        size_t cap = conn->rx_cap ? conn->rx_cap : 1024;
        while (cap < conn->rx_len + len + 1)
            cap *= 2;
        unsigned char *grown = realloc(conn->rx, cap);
        if (!grown) {
            log_error("out of memory reassembling a frame", "conn", conn->id_str);
            conn->rx_active = 0;
            return GW_RX_TOO_LARGE;
        }
        conn->rx = grown;
        conn->rx_cap = cap;
    }
    memcpy(conn->rx + conn->rx_len, data, len);
    conn->rx_len += len;
    conn->rx[conn->rx_len] = 0;
    if (!final)
        return GW_RX_MORE;
    conn->rx_active = 0;
    return GW_RX_COMPLETE;
}

void gw_conn_rx_release(gw_conn_t *conn)
{
    if (conn->rx_active)
        return;                 /* a message is still being joined */
    free(conn->rx);
    conn->rx = NULL;
    conn->rx_cap = conn->rx_len = 0;
}

void gw_conn_send(gw_conn_t *conn, char *text)
{
    if (!text)
        return;
    gw_conn_send_copy(conn, text, strlen(text));
    free(text);
}

void gw_conn_send_copy(gw_conn_t *conn, const char *text, size_t len)
{
    if (conn->closing && conn->close_code)
        return;                 /* the close is already queued behind the last frame */
    /* A client that does not read must not make the gateway hold its frames
     * forever: drop it; it reconnects and resumes with sync. The cap is on
     * the backlog before this frame, so that one frame larger than the cap
     * still goes to a client that keeps up (else such a reply would close
     * the same client on every reconnect). */
    if (conn->out_bytes > 0 && conn->out_bytes + len > GW_MAX_OUT_BYTES) {
        log_warn("client too slow; closing", "conn", conn->id_str);
        drop_output(conn);
        conn->closing = 1;
        conn->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        lws_callback_on_writable(conn->wsi);
        return;
    }
    gw_out_t *out = malloc(sizeof *out + LWS_PRE + len);
    if (!out) {
        log_error("out of memory queueing a frame", "conn", conn->id_str);
        return;
    }
    out->next = NULL;
    out->len = len;
    memcpy(out->buf + LWS_PRE, text, len);
    if (conn->out_tail)
        conn->out_tail->next = out;
    else
        conn->out_head = out;
    conn->out_tail = out;
    conn->out_bytes += len;
    beseda_counter_inc(conn->server->metrics.frames_out);
    lws_callback_on_writable(conn->wsi);
}

void gw_conn_error(gw_conn_t *conn, const char *code, const char *message, const char *ref)
{
    gw_conn_error_about(conn, code, message, ref, NULL, NULL);
}

void gw_conn_error_about(gw_conn_t *conn, const char *code, const char *message,
                         const char *ref, const char *req, const char *conversation)
{
    gw_metrics_error(&conn->server->metrics, code);
    char *text = gw_error_json_about(code, message, ref, req, conversation);
    if (!text)
        log_error("cannot build an error frame", "code", code);
    gw_conn_send(conn, text);
}

void gw_conn_close_after(gw_conn_t *conn, int code)
{
    conn->closing = 1;
    conn->close_code = code;
    lws_callback_on_writable(conn->wsi);
}

void gw_conn_close_draining(gw_conn_t *conn, int code)
{
    conn->close_drain = 1;
    gw_conn_close_after(conn, code);
}

/* The close frame of gw_conn_close_draining (RFC 6455 5.5.1: FIN + opcode
 * 8, unmasked, the status code as payload), written as raw bytes: lws 4.1
 * keeps its own close writer to itself. lws then answers the client's
 * close and ends the connection, or the timeout does. */
static int send_close_frame(gw_conn_t *conn)
{
    unsigned char buf[LWS_PRE + 4];
    unsigned char *frame = buf + LWS_PRE;
    frame[0] = 0x88;
    frame[1] = 2;
    frame[2] = (unsigned char) (conn->close_code >> 8);
    frame[3] = (unsigned char) (conn->close_code & 0xff);
    if (lws_write(conn->wsi, frame, 4, LWS_WRITE_RAW) != 4)
        return -1;
    conn->close_sent = 1;
    lws_set_timeout(conn->wsi, PENDING_TIMEOUT_CLOSE_ACK, GW_CLOSE_DRAIN_SECS);
    return 0;
}

int gw_conn_write(gw_conn_t *conn)
{
    gw_out_t *out = conn->out_head;
    if (out) {
        conn->out_head = out->next;
        if (!conn->out_head)
            conn->out_tail = NULL;
        conn->out_bytes -= out->len;
        int n = lws_write(conn->wsi, out->buf + LWS_PRE, out->len, LWS_WRITE_TEXT);
        free(out);
        if (n < 0)
            return -1;
        if (conn->out_head || conn->close_code)
            lws_callback_on_writable(conn->wsi);
        return 0;
    }
    if (conn->close_code && conn->close_drain)
        return conn->close_sent ? 0 : send_close_frame(conn);
    if (conn->close_code) {
        lws_close_reason(conn->wsi, (enum lws_close_status) conn->close_code, NULL, 0);
        return -1;
    }
    return 0;
}

void gw_conn_subscribe(gw_conn_t *conn, const char *topic)
{
    gw_server_t *server = conn->server;
    if (gw_topics_has(server->topics, topic, conn->id))
        return;
    int rc = gw_topics_add(server->topics, topic, conn->id);
    if (rc < 0 || !zlistx_add_end(conn->topics, (void *) topic)) {
        if (rc >= 0 && gw_topics_remove(server->topics, topic, conn->id) == 1)
            gw_bus_unsubscribe(server->bus, topic);
        log_error("cannot subscribe", "conn", conn->id_str, "topic", topic);
        return;
    }
    if (rc == 1 && gw_bus_subscribe(server->bus, topic) != 0)
        log_error("cannot pass a subscription to the bus thread", "topic", topic);
}

void gw_conn_unsubscribe(gw_conn_t *conn, const char *topic)
{
    void *handle = zlistx_find(conn->topics, (void *) topic);
    if (!handle)
        return;
    zlistx_delete(conn->topics, handle);
    if (gw_topics_remove(conn->server->topics, topic, conn->id) == 1)
        gw_bus_unsubscribe(conn->server->bus, topic);
}

int gw_conn_announce(gw_conn_t *conn, const char *conv_id)
{
    if (!conn->announced && !(conn->announced = zhashx_new()))
        return 1;               /* without memory the frame still goes out */
    if (zhashx_lookup(conn->announced, conv_id))
        return 0;
    /* Entries leave when their chat closes or moves; a connection that
     * somehow keeps more starts over (the cost: one possible repeat). */
    if (zhashx_size(conn->announced) >= GW_ANNOUNCED_MAX)
        zhashx_purge(conn->announced);
    /* The value only marks presence; without memory the frame still goes out. */
    zhashx_insert(conn->announced, conv_id, (void *) "");
    return 1;
}

void gw_conn_forget(gw_conn_t *conn, const char *conv_id)
{
    if (conn->announced)
        zhashx_delete(conn->announced, conv_id);
}

void gw_conn_identity(const gw_conn_t *conn, gw_identity_t *id)
{
    id->gateway_id = conn->server->cfg.gateway_id;
    id->conn_id = conn->id_str;
    id->ip = conn->ip;
    id->site_id = conn->site_id;
    id->visitor_id = conn->visitor_id;
    id->operator_id = conn->operator_id;
    id->user_agent = conn->user_agent;
}
