/* The HTTP API (docs/PROTOCOL.md section 3). A request is checked here —
 * method and path, Origin, the bearer token's presence, the rate per
 * client address, the body's size and JSON — and then becomes one
 * RouterRequest; the router resolves the token and decides everything
 * else. Its reply comes back through the bus like a WebSocket frame's; the
 * answer is kept on the request and written on HTTP_WRITEABLE.
 *
 * Requests waiting for a reply are in server->api by id (the same counter
 * as connections, so ids never meet); a client that hangs up releases its
 * request, and a reply that finds nothing is dropped. */
#include "gw_api.h"
#include "gw_archive.h"
#include "gw_gateway.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GW_API_MAX_DEPTH    16     /* a routing document nests about 6 deep */
#define GW_API_SECTION_MAX  32
#define GW_API_ITEM_ID_LEN  36     /* a UUID */

struct gw_api_req_t {
    gw_server_t *server;
    struct lws *wsi;
    uint64_t id;
    char id_str[24];
    gw_req_kind_t kind;
    int is_put;
    int is_post;                   /* the inbox's actions */
    char section[GW_API_SECTION_MAX + 1];  /* settings: the section; inbox: the action */
    char item[GW_API_ITEM_ID_LEN + 1];
    char *token;
    char *body;                    /* PUT: the body so far */
    size_t body_len;
    int body_too_large;
    int body_done;                 /* no body, or it was read: an answer may go */
    int has_body;                  /* a Content-Length above 0 */
    int body_ended;                /* HTTP_BODY_COMPLETION was handled */
    int rx_paused;                 /* lws reads nothing more until the answer */
    int close_after;               /* close after the answer (a body came or will not be read) */
    int waiting;                   /* in server->api, a bus request out */
    unsigned status;               /* 0 until there is an answer */
    char *answer;
    gw_archive_args_t *archive;    /* the archive's path and query */
};

/* ------------------------------------------------------------ answers */

static unsigned status_of(const char *code)
{
    static const struct { const char *code; unsigned status; } MAP[] = {
        { "bad_session", 401 }, { "forbidden", 403 }, { "not_found", 404 },
        { "no_such_site", 404 }, { "method_not_allowed", 405 }, { "length_required", 411 },
        { "too_large", 413 }, { "rate_limited", 429 }, { "unavailable", 503 },
        { "internal", 500 }, { "no_operator_available", 409 },
    };
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(MAP[i].code, code) == 0)
            return MAP[i].status;
    return 400;   /* bad_value, missing_field, bad_json, field_too_long, ... */
}

/* Sets the answer and asks lws for the moment to write it. */
static void answer(gw_api_req_t *req, unsigned status, char *json)
{
    free(req->answer);
    req->answer = json;
    req->status = json ? status : 500;
    if (req->wsi && req->body_done) {
        /* lws 4.1 services an h1 connection's POLLOUT only while it may
         * read: reading resumes for the moment of the answer. */
        if (req->rx_paused) {
            req->rx_paused = 0;
            lws_rx_flow_control(req->wsi, 1);
        }
        lws_callback_on_writable(req->wsi);
    }
}

static void answer_error(gw_api_req_t *req, const char *code, const char *message)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code,
                          "message", message && *message ? message : gw_error_text(code));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    answer(req, status_of(code), text);
}

static int write_answer(gw_api_req_t *req)
{
    const char *body = req->answer ? req->answer : "{\"error\":\"internal\"}";
    size_t n = strlen(body);
    unsigned char head[LWS_PRE + 1024];
    unsigned char *start = head + LWS_PRE, *p = start, *end = head + sizeof head - 1;
    unsigned char *buf = malloc(LWS_PRE + n + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, body, n);
    int rc = -1;
    struct lws *wsi = req->wsi;
    if (!lws_add_http_common_headers(wsi, req->status, "application/json; charset=utf-8", n, &p,
                                     end)
        && !lws_add_http_header_by_name(wsi, (const unsigned char *) "cache-control:",
                                        (const unsigned char *) "no-store", 8, &p, end)
        && !lws_add_http_header_by_name(wsi, (const unsigned char *) "x-content-type-options:",
                                        (const unsigned char *) "nosniff", 7, &p, end)
        && (!req->close_after
            || !lws_add_http_header_by_name(wsi, (const unsigned char *) "connection:",
                                            (const unsigned char *) "close", 5, &p, end))
        && !lws_finalize_write_http_header(wsi, start, &p, end)
        && lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) == (int) n)
        rc = 0;
    free(buf);
    return rc;
}

/* ------------------------------------------------------------- requests */

static gw_api_req_t *req_new(gw_server_t *s, struct lws *wsi)
{
    gw_api_req_t *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->server = s;
    req->wsi = wsi;
    req->id = ++s->next_conn_id;
    snprintf(req->id_str, sizeof req->id_str, "%llu", (unsigned long long) req->id);
    return req;
}

void gw_api_release(gw_api_req_t **req_p)
{
    gw_api_req_t *req = *req_p;
    if (!req)
        return;
    if (req->waiting)
        zhashx_delete(req->server->api, req->id_str);
    free(req->token);
    free(req->body);
    free(req->answer);
    gw_archive_free(&req->archive);
    free(req);
    *req_p = NULL;
}

static void put_str_field(char **dst, const char *s)
{
    *dst = (char *) (s ? s : "");
}

/* The RouterRequest of the request; body is the PUT document (may be NULL). */
static uint8_t *pack_request(gw_api_req_t *req, const char *status, size_t *len)
{
    Beseda__RouterRequest r = BESEDA__ROUTER_REQUEST__INIT;
    Beseda__ApiSettingsGet get = BESEDA__API_SETTINGS_GET__INIT;
    Beseda__ApiSettingsPut put = BESEDA__API_SETTINGS_PUT__INIT;
    Beseda__ApiOperators ops = BESEDA__API_OPERATORS__INIT;
    Beseda__ApiStatus st = BESEDA__API_STATUS__INIT;
    Beseda__ApiMailOutbox outbox = BESEDA__API_MAIL_OUTBOX__INIT;
    Beseda__ApiInbox inbox = BESEDA__API_INBOX__INIT;
    Beseda__ApiArchive archive = BESEDA__API_ARCHIVE__INIT;
    put_str_field(&r.gateway_id, req->server->cfg.gateway_id);
    put_str_field(&r.conn_id, req->id_str);
    char ip[GW_IP_MAX] = "";
    lws_get_peer_simple(req->wsi, ip, sizeof ip);
    put_str_field(&r.ip, ip);
    switch (req->kind) {
    case GW_REQ_API_SETTINGS_GET:
        get.session = req->token;
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_GET;
        r.api_settings_get = &get;
        break;
    case GW_REQ_API_SETTINGS_PUT:
        put.session = req->token;
        put.section = req->section;
        put_str_field(&put.json, req->body);
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_PUT;
        r.api_settings_put = &put;
        break;
    case GW_REQ_API_OPERATORS:
        ops.session = req->token;
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_OPERATORS;
        r.api_operators = &ops;
        break;
    case GW_REQ_API_MAIL_OUTBOX:
        outbox.session = req->token;
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_MAIL_OUTBOX;
        r.api_mail_outbox = &outbox;
        break;
    case GW_REQ_API_INBOX:
        inbox.session = req->token;
        inbox.action = req->section;
        inbox.item_id = req->item;
        put_str_field(&inbox.text, status);      /* reply: the text */
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_INBOX;
        r.api_inbox = &inbox;
        break;
    case GW_REQ_API_ARCHIVE:
        archive.session = req->token;
        gw_archive_fill(req->archive, &archive);
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_ARCHIVE;
        r.api_archive = &archive;
        break;
    default:
        st.session = req->token;
        put_str_field(&st.status, status);
        r.body_case = BESEDA__ROUTER_REQUEST__BODY_API_STATUS;
        r.api_status = &st;
        break;
    }
    *len = beseda__router_request__get_packed_size(&r);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        beseda__router_request__pack(&r, buf);
    return buf;
}

/* Sends the request to the routers. The shard key is the request's own id:
 * nothing in the router depends on which one answers, and the token stays
 * out of the broker's routing. */
static void send_request(gw_api_req_t *req, const char *status)
{
    gw_server_t *s = req->server;
    size_t len = 0;
    uint8_t *body = pack_request(req, status, &len);
    if (!body) {
        answer_error(req, "internal", NULL);
        return;
    }
    if (zhashx_insert(s->api, req->id_str, req) != 0) {
        free(body);
        answer_error(req, "internal", NULL);
        return;
    }
    req->waiting = 1;
    if (gw_bus_request(s->bus, req->id, req->kind, "", "", req->id_str, body, len,
                       s->cfg.request_timeout_ms) < 0) {
        zhashx_delete(s->api, req->id_str);
        req->waiting = 0;
        answer_error(req, "unavailable", NULL);
        return;
    }
    s->in_flight++;
}

/* ------------------------------------------------------------- checking */

int gw_api_path(const char *uri)
{
    return uri && strncmp(uri, "/api/", 5) == 0;
}

/* /api/v1/inbox (GET) or /api/v1/inbox/<uuid>/reply|done (POST); 0, or
 * an error answered. */
static int route_inbox(gw_api_req_t *req, const char *uri)
{
    req->kind = GW_REQ_API_INBOX;
    if (strcmp(uri, "/api/v1/inbox") == 0) {
        if (req->is_put || req->is_post) {
            answer_error(req, "method_not_allowed", "method not allowed on this path");
            return -1;
        }
        strcpy(req->section, "list");
        return 0;
    }
    const char *id = uri + strlen("/api/v1/inbox/");
    const char *slash = strchr(id, '/');
    const char *action = slash ? slash + 1 : "";
    if (!slash || slash - id != GW_API_ITEM_ID_LEN
        || strspn(id, "0123456789abcdefABCDEF-") != GW_API_ITEM_ID_LEN
        || (strcmp(action, "reply") != 0 && strcmp(action, "done") != 0)) {
        answer_error(req, "not_found", "no such endpoint");
        return -1;
    }
    if (!req->is_post) {
        answer_error(req, "method_not_allowed", "method not allowed on this path");
        return -1;
    }
    memcpy(req->item, id, GW_API_ITEM_ID_LEN);
    req->item[GW_API_ITEM_ID_LEN] = '\0';
    strcpy(req->section, action);
    return 0;
}

/* Path and method to the request kind; 0, or an error answered. */
static int route(gw_api_req_t *req, const char *uri)
{
    const char *section = NULL;
    if (strcmp(uri, "/api/v1/inbox") == 0 || strncmp(uri, "/api/v1/inbox/", 14) == 0)
        return route_inbox(req, uri);
    if (gw_archive_path(uri)) {
        const char *code, *message;
        req->kind = GW_REQ_API_ARCHIVE;
        if (req->is_put || req->is_post)
            answer_error(req, "method_not_allowed", "method not allowed on this path");
        else if (gw_archive_read(req->wsi, uri, &req->archive, &code, &message) < 0)
            answer_error(req, code, message);
        return req->status ? -1 : 0;
    }
    if (req->is_post) {
        bool known = strcmp(uri, "/api/v1/settings") == 0 || strcmp(uri, "/api/v1/operators") == 0
                     || strcmp(uri, "/api/v1/status") == 0 || strncmp(uri, "/api/v1/settings/", 17) == 0;
        answer_error(req, known ? "method_not_allowed" : "not_found",
                     known ? "method not allowed on this path" : "no such endpoint");
        return -1;
    }
    if (strcmp(uri, "/api/v1/settings") == 0 && !req->is_put)
        req->kind = GW_REQ_API_SETTINGS_GET;
    else if (strncmp(uri, "/api/v1/settings/", 17) == 0 && req->is_put) {
        req->kind = GW_REQ_API_SETTINGS_PUT;
        section = uri + 17;
    } else if (strcmp(uri, "/api/v1/operators") == 0 && !req->is_put)
        req->kind = GW_REQ_API_OPERATORS;
    else if (strcmp(uri, "/api/v1/status") == 0)
        req->kind = GW_REQ_API_STATUS;
    else if (strcmp(uri, "/api/v1/mail/outbox") == 0 && !req->is_put)
        req->kind = GW_REQ_API_MAIL_OUTBOX;
    else if (strcmp(uri, "/api/v1/settings") == 0 || strcmp(uri, "/api/v1/operators") == 0
             || strcmp(uri, "/api/v1/mail/outbox") == 0
             || strncmp(uri, "/api/v1/settings/", 17) == 0) {
        answer_error(req, "method_not_allowed", "method not allowed on this path");
        return -1;
    } else {
        answer_error(req, "not_found", "no such endpoint");
        return -1;
    }
    if (section) {
        size_t n = strlen(section);
        if (n == 0 || n > GW_API_SECTION_MAX
            || strspn(section, "abcdefghijklmnopqrstuvwxyz_") != n) {
            answer_error(req, "not_found", "no such settings section");
            return -1;
        }
        memcpy(req->section, section, n + 1);
    }
    return 0;
}

/* "Authorization: Bearer <token>"; a missing one is 401 here. */
static int read_token(gw_api_req_t *req)
{
    int n = lws_hdr_total_length(req->wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    char *value = n > 0 && n < 4096 ? malloc((size_t) n + 1) : NULL;
    if (value && lws_hdr_copy(req->wsi, value, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
        free(value);
        value = NULL;
    }
    const char *token = value && strncasecmp(value, "Bearer ", 7) == 0 ? value + 7 : NULL;
    while (token && *token == ' ')
        token++;
    if (!token || !*token || strpbrk(token, " \t\r\n")) {
        free(value);
        answer_error(req, "bad_session", "an Authorization: Bearer <session> header is required");
        return -1;
    }
    req->token = strdup(token);
    free(value);
    if (!req->token) {
        answer_error(req, "internal", NULL);
        return -1;
    }
    return 0;
}

/* Per client address, as the connection saw it (or X-Forwarded-For from a
 * trusted proxy). The table is cleared when it grows past its bound: a
 * flood of addresses costs the limit a moment, never the memory. */
static int rate_ok(gw_server_t *s, struct lws *wsi)
{
    char peer[GW_IP_MAX] = "", ip[GW_IP_MAX] = "", xff[1024];
    lws_get_peer_simple(wsi, peer, sizeof peer);
    int xlen = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    int have_xff = xlen > 0 && xlen < (int) sizeof xff
                   && lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) >= 0;
    gw_client_ip(&s->proxies, peer, have_xff ? xff : NULL, ip, sizeof ip);
    int64_t now = beseda_mono_ms();
    gw_bucket_t *b = zhashx_lookup(s->api_buckets, ip);
    if (!b) {
        if (zhashx_size(s->api_buckets) >= GW_API_ADDRS_MAX)
            zhashx_purge(s->api_buckets);
        if (!(b = malloc(sizeof *b)))
            return 0;
        gw_bucket_init(b, GW_API_RATE_PER_SEC, GW_API_RATE_BURST, now);
        if (zhashx_insert(s->api_buckets, ip, b) != 0) {
            free(b);
            return 0;
        }
    }
    return gw_bucket_take(b, now);
}

/* How the body is delimited, checked before anything else (RFC 9112 6.3):
 * Transfer-Encoding is refused (a request that needs a Content-Length is
 * 411 without one, every other use 400: with a Content-Length too it is
 * request smuggling), and a Content-Length must be decimal digits of at
 * most the body limit (413). lws reads the length with atoll, so "-1" or
 * "abc" would have it wait for a body, or take one for the next request. */
unsigned gw_http_framing(struct lws *wsi, int needs_length, long *length, const char **why)
{
    int cl = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    *length = -1;
    *why = "a Content-Length header is required";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        if (needs_length && cl <= 0)
            return 411;
        *why = "Transfer-Encoding is not accepted";
        return 400;
    }
    if (cl <= 0)
        return needs_length ? 411 : 0;
    char value[64];
    *why = "Content-Length is not a number";
    if (cl >= (int) sizeof value
        || lws_hdr_copy(wsi, value, sizeof value, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
        return 400;
    size_t n = strlen(value);
    if (n == 0 || strspn(value, "0123456789") != n)
        return 400;
    *why = "the body is larger than 65536 bytes";
    if (n > 9 || (*length = strtol(value, NULL, 10)) > GW_API_MAX_BODY_BYTES)
        return 413;
    return 0;
}

/* lws 4.1 (lws_http_action) takes a POST, PUT or PATCH without
 * Content-Length to have a body of up to 100 MiB: it reads whatever follows
 * on the connection as that body, so such a request must be its last. */
int gw_http_lws_awaits_body(struct lws *wsi)
{
    return lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0
           || lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0
           || lws_hdr_total_length(wsi, WSI_TOKEN_PATCH_URI) > 0;
}

/* A refusal of gw_http_framing is answered at once and the connection
 * closed after it: nothing more is read from it. */
static int check_framing(gw_api_req_t *req, long *length)
{
    const char *why = NULL;
    unsigned status = gw_http_framing(req->wsi, req->is_put, length, &why);
    if (!status)
        return 0;
    req->body_done = req->close_after = 1;
    answer_error(req, status == 411 ? "length_required" : status == 413 ? "too_large" : "bad_value",
                 why);
    return -1;
}

int gw_api_begin(gw_server_t *s, struct lws *wsi, gw_api_req_t **req_p, const char *uri)
{
    gw_api_release(req_p);
    gw_api_req_t *req = req_new(s, wsi);
    if (!req)
        return -1;
    *req_p = req;
    req->is_put = lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0;
    req->is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    int is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
    int with_body = req->is_put || req->is_post;
    long length = -1;
    if (check_framing(req, &length) < 0)
        return 0;                       /* answered at once; closed after it */
    /* A request with a body (a PUT or POST) is answered once the body was
     * read, and the connection closed after the answer. */
    req->has_body = length > 0;
    req->body_done = !req->has_body;
    /* lws 4.1 takes a POST without Content-Length to have a body of up to
     * 100 MiB: whatever follows on the connection would be read as it. */
    if (length < 0 && gw_http_lws_awaits_body(wsi))
        req->close_after = 1;
    if (s->stopping)
        answer_error(req, "unavailable", "the gateway is stopping");
    else if (!is_get && !with_body)
        answer_error(req, "method_not_allowed", "only GET, PUT and POST are served");
    else if (!gw_server_origin_allowed(s, wsi))
        answer_error(req, "forbidden", "origin not allowed");
    else if (!rate_ok(s, wsi))
        answer_error(req, "rate_limited", "too many requests from this address; slow down");
    else if (route(req, uri) < 0 || read_token(req) < 0)
        ;
    else if (!with_body)
        send_request(req, "");
    else if (length <= 0)
        return gw_api_body_done(req);
    /* A request whose answer is already known may still have its body on
     * the wire: lws reads it (gw_api_body drops it) and the answer goes
     * after. */
    return 0;
}

int gw_api_body(gw_api_req_t *req, const void *data, size_t len)
{
    if (!req || req->status)
        return 0;                       /* answered already: the body is not needed */
    if (req->body_len + len > GW_API_MAX_BODY_BYTES) {
        req->body_too_large = 1;
        return 0;
    }
    char *grown = realloc(req->body, req->body_len + len + 1);
    if (!grown)
        return -1;
    memcpy(grown + req->body_len, data, len);
    req->body = grown;
    req->body_len += len;
    req->body[req->body_len] = 0;
    return 0;
}

/* The status document of PUT /api/v1/status: {"status": ...}. */
static int read_status(gw_api_req_t *req, json_t *doc, const char **status)
{
    json_t *v = json_object_get(doc, "status");
    *status = json_is_string(v) ? json_string_value(v) : NULL;
    if (!*status) {
        answer_error(req, "missing_field", "field 'status' is required and must be a string");
        return -1;
    }
    if (strcmp(*status, "online") && strcmp(*status, "away") && strcmp(*status, "busy")) {
        answer_error(req, "bad_value", "status must be 'online', 'away' or 'busy'");
        return -1;
    }
    return 0;
}

/* The inbox reply's document: {"text": ...} (the store checks the rest). */
static int read_reply_text(gw_api_req_t *req, json_t *doc, const char **text)
{
    json_t *v = json_object_get(doc, "text");
    *text = json_is_string(v) ? json_string_value(v) : NULL;
    if (!*text) {
        answer_error(req, "missing_field", "field 'text' is required and must be a string");
        return -1;
    }
    return 0;
}

int gw_api_body_done(gw_api_req_t *req)
{
    if (!req)
        return -1;
    /* lws 4.1 calls this at the end of every request's body (also an
     * empty one), and again on every turn of the loop while bytes of a
     * pipelined request wait behind it, until the answer is written (a
     * loop that never sleeps; it also parsed the next request while this
     * one waited for its reply). Reading pauses until the answer, and a
     * request that had a body is the connection's last. */
    if (req->body_ended)
        return 0;
    req->body_ended = req->body_done = 1;
    if (req->has_body)
        req->close_after = 1;
    if (req->status) {                  /* answered before the body came */
        lws_callback_on_writable(req->wsi);
        return 0;
    }
    req->rx_paused = 1;
    lws_rx_flow_control(req->wsi, 0);
    if (!req->is_put && !req->is_post)
        return 0;                       /* a GET's body: ignored, its request is out */
    if (req->body_too_large) {
        answer_error(req, "too_large", "the body is larger than 65536 bytes");
        return 0;
    }
    const char *text = req->body ? req->body : "";
    json_error_t err;
    int depth_ok = gw_json_depth_ok(text, req->body_len, GW_API_MAX_DEPTH);
    /* A POST (the inbox's actions) may come without a body: as {}. */
    json_t *doc = req->is_post && req->body_len == 0 ? json_object()
                : depth_ok ? json_loadb(text, req->body_len, JSON_REJECT_DUPLICATES, &err) : NULL;
    if (depth_ok && !doc && json_error_code(&err) == json_error_numeric_overflow) {
        /* valid JSON, but an integer beyond 64 bits: a value, not the JSON, is wrong */
        json_t *as_real = json_loadb(text, req->body_len,
                                     JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);
        if (as_real) {
            json_decref(as_real);
            answer_error(req, "bad_value", "a number is out of range (integers have at most 64 bits)");
            return 0;
        }
    }
    if (!doc || !json_is_object(doc)) {
        json_decref(doc);
        answer_error(req, "bad_json", "the body is not a JSON object");
        return 0;
    }
    const char *status = "";
    int read = req->kind == GW_REQ_API_STATUS ? read_status(req, doc, &status)
             : req->kind == GW_REQ_API_INBOX && strcmp(req->section, "reply") == 0
             ? read_reply_text(req, doc, &status) : 0;
    if (read == 0) {
        char *copy = strdup(status);       /* status points into doc */
        if (copy)
            send_request(req, copy);
        else
            answer_error(req, "internal", NULL);
        free(copy);
    }
    json_decref(doc);
    return 0;
}

int gw_api_writeable(gw_api_req_t **req_p)
{
    gw_api_req_t *req = *req_p;
    if (!req || !req->status)
        return 0;                       /* woken before the answer came */
    int rc = write_answer(req);
    struct lws *wsi = req->wsi;
    int close_after = req->close_after;
    gw_api_release(req_p);
    if (rc < 0 || close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---------------------------------------------------------------- replies */

static char *status_json(const Beseda__StatusInfo *st)
{
    json_t *o = json_pack("{s:s, s:s}", "operator", st->operator_id, "status", st->status);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static void answer_reply(gw_api_req_t *req, const Beseda__RouterReply *r)
{
    if (*r->error_code)
        answer_error(req, r->error_code, r->error_message);
    else if (r->body_case == BESEDA__ROUTER_REPLY__BODY_DOCUMENT && r->document)
        answer(req, 200, strdup(r->document->json));
    else if (r->body_case == BESEDA__ROUTER_REPLY__BODY_STATUS && r->status)
        answer(req, 200, status_json(r->status));
    else
        answer_error(req, "internal", "unexpected reply from the backend");
}

void gw_api_reply(gw_server_t *s, gw_event_t *ev)
{
    gw_metrics_request(&s->metrics, ev->kind);
    gw_metrics_reply(&s->metrics, ev->kind, ev->status == BUS_TIMEOUT,
                     (double) (beseda_mono_ms() - ev->started_ms));
    if (s->in_flight > 0)
        s->in_flight--;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long) ev->conn_id);
    gw_api_req_t *req = zhashx_lookup(s->api, key);
    if (!req)
        return;                         /* the client hung up */
    zhashx_delete(s->api, key);
    req->waiting = 0;
    if (ev->status == BUS_TIMEOUT || !ev->body) {
        answer_error(req, "unavailable", NULL);
        return;
    }
    Beseda__RouterReply *r = beseda__router_reply__unpack(NULL, zframe_size(ev->body),
                                                          zframe_data(ev->body));
    if (!r) {
        log_error("cannot decode a router reply", "request", req->id_str);
        answer_error(req, "internal", NULL);
        return;
    }
    answer_reply(req, r);
    beseda__router_reply__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------- lifecycle */

static void free_bucket(void **item)
{
    free(*item);
    *item = NULL;
}

int gw_api_init(gw_server_t *s)
{
    s->api = zhashx_new();
    s->api_buckets = zhashx_new();
    if (!s->api || !s->api_buckets)
        return -1;
    zhashx_set_destructor(s->api_buckets, free_bucket);
    return 0;
}

void gw_api_destroy(gw_server_t *s)
{
    zhashx_destroy(&s->api);
    zhashx_destroy(&s->api_buckets);
}
