/* The libwebsockets side: one context, one protocol ("beseda.v1") that
 * serves both HTTP (static files, /healthz, /readyz, /metrics) and the two WebSocket endpoints,
 * told apart by path. The whole server runs on the thread that calls
 * gw_server_run, in a libev loop (epoll) that lws joins as a foreign loop:
 * lws's own loop is poll(), which hands every descriptor to the kernel on
 * every wake-up, so its cost grew with the idle connections. The bus thread
 * only wakes the loop (ev_async_send, which also merges wake-ups that come
 * before the loop got round to them), and the woken loop drains the whole
 * bus queue. */
#include "admin_http.h"
#include "bind_probe.h"
#include "gw_gateway.h"
#include "gw_static.h"
#include "log.h"
#include "util.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define GW_TICK_MS  250   /* timer granularity: presence beats, stop flag */
/* lws gives every WebSocket a receive buffer of this size and hands a
 * longer message over in pieces of it (gw_conn_rx joins them). Chat frames
 * are a few hundred bytes; 16 KiB here cost about 3 KiB of resident memory
 * per idle connection. */
#define GW_RX_CHUNK_BYTES  1024

typedef struct {
    gw_conn_t *conn;       /* WebSocket connections only */
    gw_api_req_t *api;     /* an HTTP API request in progress */
} pss_t;

/* The bus thread's wake-up must never touch a destroyed loop: it goes
 * through this lock, and the loop is unhooked before it is destroyed. */
typedef struct {
    pthread_mutex_t lock;
    struct ev_loop *loop;          /* NULL: nobody to wake any more */
    ev_async *async;
} waker_t;

typedef struct {
    gw_server_t server;    /* first: the context user pointer is both */
    waker_t waker;
    struct ev_loop *loop;  /* owned; lws runs in it as a foreign loop */
    ev_async bus_ready;    /* the bus thread queued events */
    volatile sig_atomic_t *stop;
    int64_t next_beat_ms;
    gw_static_t *files;    /* the web root, read at start (gw_static.c) */
} server_box_t;

static gw_server_t *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ------------------------------------------------------------------ HTTP */

static int http_text_close(struct lws *wsi, unsigned status, const char *body, int close)
{
    unsigned char head[LWS_PRE + 1024];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    unsigned char text[LWS_PRE + 128];
    size_t n = strlen(body);
    if (n > sizeof text - LWS_PRE)
        n = sizeof text - LWS_PRE;
    memcpy(text + LWS_PRE, body, n);
    if (lws_add_http_common_headers(wsi, status, "text/plain; charset=utf-8", n, &p, end)
        || lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                       (const unsigned char *) "nosniff", 7, &p, end)
        || lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                       (const unsigned char *) "no-store", 8, &p, end)
        || (close && lws_add_http_header_by_name(wsi, (const unsigned char *) "connection:",
                                                 (const unsigned char *) "close", 5, &p, end))
        || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (lws_write(wsi, text + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int) n || close)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_text(struct lws *wsi, unsigned status, const char *body)
{
    return http_text_close(wsi, status, body, 0);
}

/* A body of any length (the metrics page); lws buffers what the socket
 * does not take at once. */
static int http_body(struct lws *wsi, unsigned status, const char *type, const char *body)
{
    unsigned char head[LWS_PRE + 1024];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    size_t n = strlen(body);
    unsigned char *buf = malloc(LWS_PRE + n + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, body, n);
    int rc = -1;
    if (!lws_add_http_common_headers(wsi, status, type, n, &p, end)
        && !lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                        (const unsigned char *) "no-store", 8, &p, end)
        && !lws_finalize_write_http_header(wsi, start, &p, end)
        && lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) == (int) n
        && !lws_http_transaction_completed(wsi))
        rc = 0;
    free(buf);
    return rc;
}

/* /metrics and /readyz, also on the admin listener when one is configured. */
static int serve_ops(gw_server_t *s, struct lws *wsi, const char *uri)
{
    if (strcmp(uri, "/metrics") == 0) {
        char *text = beseda_metrics_render(s->cfg.metrics);
        if (!text)
            return http_text(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "out of memory\n");
        int rc = http_body(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text);
        free(text);
        return rc;
    }
    char body[320];
    int status = beseda_admin_readiness(gw_metrics_ready, &s->metrics, body, sizeof body);
    return http_text(wsi, (unsigned) status, body);
}

static int http_redirect(struct lws *wsi, const char *location)
{
    unsigned char head[LWS_PRE + 512];
    unsigned char *p = head + LWS_PRE, *end = head + sizeof head - 1;
    if (lws_http_redirect(wsi, HTTP_STATUS_MOVED_PERMANENTLY, (const unsigned char *) location,
                          (int) strlen(location), &p, end) < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *) name,
                                       (const unsigned char *) value, (int) strlen(value), p, end);
}

/* Static files come from memory (gw_static.c): hashed names are cached for
 * a year, the entry points revalidated (ETag, 304); the precompressed
 * variant the client accepts is sent as it is. */
static int serve_file(gw_server_t *s, struct lws *wsi, const char *uri)
{
    const gw_static_entry_t *e = gw_static_find(((server_box_t *) s)->files, uri);
    if (!e)
        return http_text(wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
    char accept[256] = "", inm[512] = "";
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
    if (len > 0 && len < (int) sizeof accept)
        lws_hdr_copy(wsi, accept, sizeof accept, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
    len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH);
    if (len > 0 && len < (int) sizeof inm)
        lws_hdr_copy(wsi, inm, sizeof inm, WSI_TOKEN_HTTP_IF_NONE_MATCH);
    int enc = gw_static_pick_encoding(e, accept);
    int not_modified = inm[0] && gw_static_etag_matches(inm, e->etag);
    char etag[48];
    gw_static_variant_etag(e, enc, etag, sizeof etag);
    unsigned char head[LWS_PRE + 2048];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    if (not_modified) {
        if (lws_add_http_header_status(wsi, HTTP_STATUS_NOT_MODIFIED, &p, end))
            return -1;
    } else if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, e->mime, e->len[enc], &p, end)
               || (enc != GW_ENC_IDENTITY
                   && add_header(wsi, "content-encoding:", enc == GW_ENC_BR ? "br" : "gzip", &p, end))) {
        return -1;
    }
    if (add_header(wsi, "etag:", etag, &p, end)
        || add_header(wsi, "vary:", "Accept-Encoding", &p, end)
        || add_header(wsi, "cache-control:",
                      e->immutable ? "public, max-age=31536000, immutable" : "no-cache", &p, end)
        || add_header(wsi, "content-security-policy:", e->csp, &p, end)
        || add_header(wsi, "x-content-type-options:", "nosniff", &p, end)
        || add_header(wsi, "referrer-policy:", "strict-origin-when-cross-origin", &p, end)
        || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (!not_modified && e->len[enc]) {
        unsigned char *buf = malloc(LWS_PRE + e->len[enc]);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, e->data[enc], e->len[enc]);
        int n = lws_write(wsi, buf + LWS_PRE, e->len[enc], LWS_WRITE_HTTP_FINAL);
        free(buf);
        if (n != (int) e->len[enc])
            return -1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_http(gw_server_t *s, struct lws *wsi, const char *uri)
{
    if (!uri)
        return -1;
    /* The pages take no body: a request with one, or with a length lws
     * would read otherwise than we do (gw_http_framing), is refused and
     * the connection closed, so that no body is taken for a request. */
    long length = -1;
    const char *why = NULL;
    unsigned bad = gw_http_framing(wsi, 0, &length, &why);
    if (bad || length > 0 || (length < 0 && gw_http_lws_awaits_body(wsi)))
        return http_text_close(wsi, bad == 413 ? HTTP_STATUS_REQ_ENTITY_TOO_LARGE
                                               : HTTP_STATUS_BAD_REQUEST,
                               bad == 413 ? "request body too large\n" : "bad request\n", 1);
    if (strcmp(uri, "/healthz") == 0)
        return s->stopping ? http_text(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "stopping\n")
                           : http_text(wsi, HTTP_STATUS_OK, "ok\n");
    /* With an admin listener they are served there only: the main port is
     * the public one (the balancer forwards everything to it). */
    if ((strcmp(uri, "/metrics") == 0 || strcmp(uri, "/readyz") == 0) && s->cfg.ops_on_main_port)
        return serve_ops(s, wsi, uri);
    if (s->stopping)
        return http_text(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "stopping\n");
    if (strcmp(uri, "/console") == 0)
        return http_redirect(wsi, "/console/");
    return serve_file(s, wsi, uri);
}

/* ----------------------------------------------------------- the upgrade */

/* The endpoint of a WebSocket request: 0 visitor, 1 operator, -1 none. */
static int endpoint_role(struct lws *wsi)
{
    char uri[64];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= (int) sizeof uri
        || lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) < 0)
        return -1;
    if (strcmp(uri, "/ws/visitor") == 0)
        return GW_ROLE_VISITOR;
    if (strcmp(uri, "/ws/operator") == 0)
        return GW_ROLE_OPERATOR;
    return -1;
}

/* Absent Origin: a non-browser client, allowed. Present: must be listed. */
int gw_server_origin_allowed(gw_server_t *s, struct lws *wsi)
{
    int len = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
    if (len <= 0)
        return 1;
    char origin[256];
    if (len >= (int) sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
        return 0;
    for (size_t i = 0; i < s->n_origins; i++)
        if (strcasecmp(origin, s->origins[i]) == 0)
            return 1;
    log_info("websocket refused: origin not allowed", "origin", origin);
    return 0;
}

/* Called before the upgrade, while an HTTP answer is still possible: refuse
 * with a status (403 foreign origin, 404 unknown path, 503 stopping).
 * Returns >0 when an answer was written, 0 to let the upgrade proceed. */
static int confirm_upgrade(gw_server_t *s, struct lws *wsi)
{
    unsigned status = 0;
    if (s->stopping)
        status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    else if (endpoint_role(wsi) < 0)
        status = HTTP_STATUS_NOT_FOUND;
    else if (!gw_server_origin_allowed(s, wsi))
        status = HTTP_STATUS_FORBIDDEN;
    if (!status)
        return 0;
    if (lws_return_http_status(wsi, status, NULL))
        return -1;
    return 1;
}

/* ------------------------------------------------------------- WebSocket */

static int on_established(gw_server_t *s, struct lws *wsi, pss_t *pss)
{
    int role = endpoint_role(wsi);
    if (role < 0)
        return -1;
    gw_conn_t *conn = gw_conn_new(s, wsi, (gw_role_t) role);
    if (!conn) {
        log_error("out of memory for a connection");
        return -1;
    }
    /* The peer is the client, unless it is a trusted proxy (the
     * balancer): then X-Forwarded-For says who is behind it. */
    char peer[GW_IP_MAX] = "", xff[1024];
    lws_get_peer_simple(wsi, peer, sizeof peer);
    int xlen = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    int have_xff = xlen > 0 && xlen < (int) sizeof xff
                   && lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) >= 0;
    gw_client_ip(&s->proxies, peer, have_xff ? xff : NULL, conn->ip, sizeof conn->ip);
    int ua = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_USER_AGENT);
    if (ua > 0 && ua < GW_UA_MAX && (conn->user_agent = malloc((size_t) ua + 1))
        && lws_hdr_copy(wsi, conn->user_agent, ua + 1, WSI_TOKEN_HTTP_USER_AGENT) < 0) {
        free(conn->user_agent);        /* not worth refusing the connection for */
        conn->user_agent = NULL;
    }
    pss->conn = conn;
    log_debug("connected", "conn", conn->id_str, "ip", conn->ip,
              "role", role == GW_ROLE_VISITOR ? "visitor" : "operator");
    return 0;
}

static int on_receive(gw_conn_t *conn, struct lws *wsi, const void *in, size_t len)
{
    switch (gw_conn_rx(conn, in, len, lws_frame_is_binary(wsi), lws_is_final_fragment(wsi))) {
    case GW_RX_MORE:
    case GW_RX_IGNORE:
        return 0;
    case GW_RX_TOO_LARGE:
        gw_conn_rx_release(conn);
        gw_conn_error(conn, "frame_too_large", NULL, NULL);
        gw_conn_close_draining(conn, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
        return 0;
    case GW_RX_COMPLETE:
        break;
    }
    beseda_counter_inc(conn->server->metrics.frames_in);
    if (conn->rx_binary)
        gw_conn_error(conn, "binary_frame", NULL, NULL);
    else if (!gw_utf8_valid(conn->rx, conn->rx_len)) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_INVALID_PAYLOAD,
                         (unsigned char *) "invalid UTF-8", 13);
        return -1;
    } else
        gw_dispatch_message(conn, (const char *) conn->rx, conn->rx_len);
    gw_conn_rx_release(conn);
    return 0;
}

static void on_closed(pss_t *pss)
{
    if (!pss || !pss->conn)
        return;
    log_debug("closed", "conn", pss->conn->id_str);
    gw_dispatch_closed(pss->conn);
    gw_conn_destroy(&pss->conn);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    gw_server_t *s = server_of(wsi);
    pss_t *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        if (pss && gw_api_path(in))
            return gw_api_begin(s, wsi, &pss->api, in);
        return serve_http(s, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        return pss && pss->api ? gw_api_body(pss->api, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return pss && pss->api ? gw_api_body_done(pss->api) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss && pss->api ? gw_api_writeable(&pss->api) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss)
            gw_api_release(&pss->api);
        return 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(s, wsi);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Second line of defence; the upgrade check above already answered. */
        return s->stopping || endpoint_role(wsi) < 0 || !gw_server_origin_allowed(s, wsi) ? -1 : 0;
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return pss && pss->conn ? on_receive(pss->conn, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss && pss->conn ? gw_conn_write(pss->conn) : -1;
    case LWS_CALLBACK_CLOSED:
        on_closed(pss);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols PROTOCOLS[] = {
    { "beseda.v1", callback, sizeof(pss_t), GW_RX_CHUNK_BYTES, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ------------------------------------------------------------ lifecycle */

/* Bus thread: ev_async_send is libev's thread-safe wake-up; a second send
 * before the loop ran the first costs no system call. */
static void wake(void *arg)
{
    waker_t *w = arg;
    pthread_mutex_lock(&w->lock);
    if (w->loop)
        ev_async_send(w->loop, w->async);
    pthread_mutex_unlock(&w->lock);
}

/* lws thread: everything the bus thread queued so far, in one go. */
static void on_bus_ready(struct ev_loop *loop, ev_async *watcher, int revents)
{
    (void) loop;
    (void) revents;
    server_box_t *box = watcher->data;
    if (box->server.bus)
        gw_dispatch_events(&box->server);
}

static void lws_log(int level, const char *line)
{
    char text[512];
    snprintf(text, sizeof text, "%s", line);
    text[strcspn(text, "\r\n")] = 0;
    if (level & LLL_ERR)
        log_warn("libwebsockets", "detail", text);
    else
        log_debug("libwebsockets", "detail", text);
}

/* Splits the allowed origins (comma list; trailing "/" dropped) or makes
 * the defaults: the gateway's own address by its host, localhost and
 * 127.0.0.1. */
static int parse_origins(gw_server_t *s)
{
    const char *list = s->cfg.allowed_origins;
    if (!list || !*list) {
        char buf[512];
        snprintf(buf, sizeof buf, "http://%s:%d,http://localhost:%d,http://127.0.0.1:%d",
                 s->cfg.host, s->cfg.port, s->cfg.port, s->cfg.port);
        s->origins_text = strdup(buf);
    } else
        s->origins_text = strdup(list);
    if (!s->origins_text)
        return -1;
    char *save = NULL;
    for (char *tok = strtok_r(s->origins_text, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '/'))
            tok[--n] = 0;
        if (n == 0)
            continue;
        if (s->n_origins == sizeof s->origins / sizeof s->origins[0]) {
            log_error("too many allowed origins", "max", "32");
            return -1;
        }
        s->origins[s->n_origins++] = tok;
    }
    return 0;
}

/* The loop first, then lws inside it. EVFLAG_AUTO picks epoll on Linux. */
static int create_loop(server_box_t *box)
{
    box->loop = ev_loop_new(EVFLAG_AUTO);
    if (!box->loop) {
        log_error("cannot create the event loop");
        return -1;
    }
    ev_async_init(&box->bus_ready, on_bus_ready);
    box->bus_ready.data = box;
    ev_async_start(box->loop, &box->bus_ready);
    return 0;
}

static int create_context(server_box_t *box)
{
    gw_server_t *s = &box->server;
    void *foreign_loops[] = { box->loop };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = s->cfg.port;
    info.iface = s->cfg.host;
    info.protocols = PROTOCOLS;
    info.user = s;
    info.max_http_header_data = 8192;
    info.ka_time = 60;             /* TCP keepalive finds peers that vanished */
    info.ka_probes = 3;
    info.ka_interval = 10;
    if (!strchr(s->cfg.host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.options |= LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign_loops;
    s->context = lws_create_context(&info);
    if (!s->context) {
        /* libwebsockets does not say why: try the same bind for the reason. */
        char port[16];
        snprintf(port, sizeof port, "%d", s->cfg.port);
        int err = beseda_bind_probe_host(s->cfg.host, s->cfg.port);
        log_error("cannot listen", "host", s->cfg.host, "port", port,
                  "error", err ? strerror(err) : "libwebsockets could not create its context");
        return -1;
    }
    return 0;
}

gw_server_t *gw_server_new(const gw_config_t *config)
{
    server_box_t *box = calloc(1, sizeof *box);
    if (!box)
        return NULL;
    gw_server_t *s = &box->server;
    s->cfg = *config;
    gw_metrics_init(&s->metrics, config->metrics);
    if (pthread_mutex_init(&box->waker.lock, NULL) != 0) {
        free(box);
        return NULL;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    s->conns = zhashx_new();
    s->topics = gw_topics_new();
    if (gw_proxies_parse(config->trusted_proxies, &s->proxies) < 0) {
        log_error("BESEDA_TRUSTED_PROXIES is not a list of addresses and CIDRs");
        goto fail;
    }
    box->files = gw_static_load(config->web_root);
    if (!box->files) {
        log_error("out of memory reading the web files", "web_root", config->web_root);
    } else if (gw_static_count(box->files) == 0) {
        log_warn("no web files served: is the web root the built tree (make all)?",
                 "web_root", config->web_root);
    } else {
        char count[24];
        snprintf(count, sizeof count, "%zu", gw_static_count(box->files));
        log_info("web files read into memory", "web_root", config->web_root, "files", count);
    }
    if (!box->files || !s->conns || !s->topics || gw_api_init(s) < 0 || parse_origins(s) < 0 || create_loop(box) < 0
        || create_context(box) < 0)
        goto fail;
    box->waker.async = &box->bus_ready;
    box->waker.loop = box->loop;
    s->bus = gw_bus_new(config->broker, config->broker_sub, wake, &box->waker);
    if (!s->bus) {
        log_error("cannot start the bus thread", "broker", config->broker);
        goto fail;
    }
    gw_bus_set_report_name(s->bus, config->gateway_id);
    /* Subscribed now, long before any login, so that it has reached every
     * router by the time one publishes on it (gw_dispatch.c, handle_direct). */
    int n = snprintf(s->own_topic, sizeof s->own_topic, "g:%s", config->gateway_id);
    if (n < 0 || (size_t) n >= sizeof s->own_topic || !*config->gateway_id
        || gw_bus_subscribe(s->bus, s->own_topic) != 0) {
        log_error("cannot subscribe the gateway's own topic", "gateway", config->gateway_id);
        goto fail;
    }
    return s;
fail:
    gw_server_destroy(&s);
    return NULL;
}

void *gw_server_metrics(gw_server_t *self)
{
    return &self->metrics;
}

void gw_server_destroy(gw_server_t **self_p)
{
    gw_server_t *s = *self_p;
    if (!s)
        return;
    server_box_t *box = (server_box_t *) s;
    pthread_mutex_lock(&box->waker.lock);
    box->waker.loop = NULL;
    pthread_mutex_unlock(&box->waker.lock);
    /* Connections still open are closed here; their CLOSED callbacks still
     * reach the bus (OperatorGone), so the bus thread stops after this. */
    if (s->context)
        lws_context_destroy(s->context);
    s->context = NULL;
    gw_bus_destroy(&s->bus);
    if (box->loop) {
        ev_async_stop(box->loop, &box->bus_ready);
        ev_loop_destroy(box->loop);
    }
    gw_topics_destroy(&s->topics);
    zhashx_destroy(&s->conns);
    gw_api_destroy(s);
    free(s->origins_text);
    gw_static_destroy(&box->files);
    pthread_mutex_destroy(&box->waker.lock);
    free(box);
    *self_p = NULL;
}

/* Values the lws thread samples rather than counts as they happen. */
static void update_gauges(gw_server_t *s)
{
    gw_metrics_t *m = &s->metrics;
    beseda_metrics_beat(s->cfg.metrics);
    beseda_gauge_set(m->bus_connected, gw_bus_connected(s->bus));
    beseda_gauge_set(m->accepting, !s->stopping);
    uint64_t dropped = gw_bus_dropped(s->bus);
    if (dropped > m->dropped_seen) {
        beseda_counter_add(m->dropped, dropped - m->dropped_seen);
        m->dropped_seen = dropped;
    }
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    server_box_t *box = lws_container_of(sul, server_box_t, server.beat_sul);
    gw_server_t *s = &box->server;
    int64_t now = beseda_mono_ms();
    update_gauges(s);
    if (now >= box->next_beat_ms && !s->stopping) {
        box->next_beat_ms = now + s->cfg.beat_ms;
        gw_dispatch_beats(s);
    }
    /* A signal only interrupts epoll_wait, which libev then resumes: the
     * tick is what notices the stop flag. */
    if (*box->stop)
        ev_break(box->loop, EVBREAK_ALL);
    lws_sul_schedule(s->context, 0, &s->beat_sul, on_tick, GW_TICK_MS * LWS_US_PER_MS);
}

/* Stop accepting (new upgrades and pages get 503), let the requests clients
 * already sent be answered (their acks would otherwise be lost with the
 * connection, and the client would have to re-send to learn they were
 * stored), then tell every client to reconnect elsewhere, close them, and
 * give the frames a moment to leave. */
static void shut_down(gw_server_t *s)
{
    s->stopping = 1;
    beseda_gauge_set(s->metrics.accepting, 0);
    server_box_t *box = (server_box_t *) s;
    int64_t replies_until = beseda_mono_ms() + GW_SHUTDOWN_REPLIES_MS;
    while (s->in_flight > 0 && beseda_mono_ms() < replies_until)
        ev_run(box->loop, EVRUN_ONCE);
    char count[24];
    snprintf(count, sizeof count, "%zu", zhashx_size(s->conns));
    log_info("stopping: telling clients to reconnect", "clients", count);
    for (gw_conn_t *conn = zhashx_first(s->conns); conn; conn = zhashx_next(s->conns)) {
        if (conn->closing)
            continue;
        gw_conn_send(conn, gw_simple_json("reconnect"));
        gw_conn_close_after(conn, LWS_CLOSE_STATUS_GOINGAWAY);
    }
    /* One loop iteration at a time; the tick wakes it at least every
     * GW_TICK_MS, so the deadline is kept. */
    int64_t deadline = beseda_mono_ms() + GW_SHUTDOWN_GRACE_MS;
    while (zhashx_size(s->conns) > 0 && beseda_mono_ms() < deadline)
        ev_run(box->loop, EVRUN_ONCE);
}

int gw_server_run(gw_server_t *s, volatile sig_atomic_t *stop)
{
    server_box_t *box = (server_box_t *) s;
    box->stop = stop;
    box->next_beat_ms = beseda_mono_ms() + s->cfg.beat_ms;
    lws_sul_schedule(s->context, 0, &s->beat_sul, on_tick, GW_TICK_MS * LWS_US_PER_MS);
    while (!*stop)
        ev_run(box->loop, 0);      /* until the tick sees the stop flag */
    shut_down(s);
    lws_sul_cancel(&s->beat_sul);
    return 0;
}
