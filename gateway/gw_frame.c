/* Client JSON frames to RouterRequests (parse, validate, pack). The JSON the
 * gateway sends back lives in gw_reply.c. Every rule here is one of
 * docs/PROTOCOL.md section 1; the first rule a frame breaks is the error it
 * gets. Order: JSON shape, then `type`, then login state, then fields. */
#include "gw_frame.h"
#include "utf8.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *type;
    gw_req_kind_t kind;
    unsigned roles;          /* bit (1 << gw_role_t) */
} frame_type_t;

#define VIS (1u << GW_ROLE_VISITOR)
#define OPS (1u << GW_ROLE_OPERATOR)

static const frame_type_t FRAME_TYPES[] = {
    { "hello",   GW_REQ_VISITOR_HELLO,  VIS | OPS },   /* operators: resume a session */
    { "login",   GW_REQ_OPERATOR_LOGIN, OPS },
    { "send",    GW_REQ_SEND,           VIS | OPS },
    { "typing",  GW_REQ_TYPING,         VIS | OPS },
    { "sync",    GW_REQ_SYNC,           VIS | OPS },
    { "ping",    GW_REQ_PING,           VIS | OPS },
    { "status",  GW_REQ_STATUS,         OPS },
    { "history", GW_REQ_HISTORY,        OPS },
    { "close",   GW_REQ_CLOSE,          OPS },
    { "logout",  GW_REQ_LOGOUT,         OPS },
    { "accept",     GW_REQ_ACCEPT,      OPS },
    { "transfer",   GW_REQ_TRANSFER,    OPS },
    { "team_send",  GW_REQ_TEAM_SEND,   OPS },
    { "team_sync",  GW_REQ_TEAM_SYNC,   OPS },
    { "survey",     GW_REQ_SURVEY,      VIS },
    { "offline",    GW_REQ_OFFLINE,     VIS },
    { "transcript", GW_REQ_TRANSCRIPT,  VIS },
    { NULL, GW_REQ_NONE, 0 }
};

static int fail(gw_frame_t *f, const char *code, const char *fmt, const char *name)
{
    f->error_code = code;
    snprintf(f->error_message, sizeof f->error_message, fmt, name ? name : "");
    return -1;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* A UUID id into f->arg in lower case, which the field then points at:
 * PostgreSQL reads either case as the same uuid, but shard keys, topics and
 * caches compare text, so "ABC…" would be owned by another router and
 * heard on another topic than "abc…". */
static const char *canonical_id(gw_frame_t *f, const char *id)
{
    copy_str(f->arg, sizeof f->arg, id);
    for (char *p = f->arg; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char) (*p - 'A' + 'a');
    return f->arg;
}

/* Reads an optional or required string member. Absent and null count as
 * absent ("" is stored). */
static int get_string(gw_frame_t *f, json_t *obj, const char *name, int required,
                      size_t max_bytes, const char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = "";
    if (!v || json_is_null(v)) {
        if (required)
            return fail(f, "missing_field", "field '%s' is required", name);
        return 0;
    }
    if (!json_is_string(v))
        return fail(f, "missing_field", "field '%s' must be a string", name);
    if (json_string_length(v) > max_bytes) {
        f->error_code = "field_too_long";
        snprintf(f->error_message, sizeof f->error_message,
                 "field '%s' is longer than %zu bytes", name, max_bytes);
        return -1;
    }
    *out = json_string_value(v);
    if (required && !**out)
        return fail(f, "missing_field", "field '%s' must not be empty", name);
    return 0;
}

static int get_text(gw_frame_t *f, json_t *obj, int required, int allow_blank,
                    const gw_limits_t *limits)
{
    json_t *v = json_object_get(obj, "text");
    f->text = "";
    if (!v || json_is_null(v)) {
        if (required)
            return fail(f, "missing_field", "field '%s' is required", "text");
        return 0;
    }
    if (!json_is_string(v))
        return fail(f, "missing_field", "field '%s' must be a string", "text");
    if (json_string_length(v) > limits->max_text_bytes) {
        f->error_code = "text_too_long";
        snprintf(f->error_message, sizeof f->error_message,
                 "text is longer than %zu bytes", limits->max_text_bytes);
        return -1;
    }
    f->text = json_string_value(v);
    if (!gw_text_controls_ok(f->text))
        return fail(f, "bad_value", "field '%s' holds a control character (only tab, CR, LF are allowed)",
                    "text");
    if (!allow_blank && gw_text_blank(f->text))
        return fail(f, "empty_text", "text is empty or only whitespace%s", NULL);
    return 0;
}

static int get_conversation(gw_frame_t *f, json_t *obj, const gw_limits_t *limits)
{
    if (get_string(f, obj, "conversation", 1, limits->max_field_bytes, &f->conversation) < 0)
        return -1;
    /* Conversation ids are UUIDs; anything else cannot exist, and saying so
     * here keeps malformed ids away from the database. */
    if (!beseda_is_uuid(f->conversation)) {
        f->conversation = "";     /* an error names only ids that can exist */
        return fail(f, "no_conversation", "conversation does not exist%s", NULL);
    }
    f->conversation = canonical_id(f, f->conversation);
    return 0;
}

static int parse_page(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    f->page_url = f->page_title = f->page_referrer = f->page_language = "";
    json_t *page = json_object_get(root, "page");
    if (!page || json_is_null(page))
        return 0;
    if (!json_is_object(page))
        return fail(f, "missing_field", "field '%s' must be an object", "page");
    size_t max = limits->max_field_bytes;
    if (get_string(f, page, "url", 0, max, &f->page_url) < 0
        || get_string(f, page, "title", 0, max, &f->page_title) < 0
        || get_string(f, page, "referrer", 0, max, &f->page_referrer) < 0
        || get_string(f, page, "language", 0, max, &f->page_language) < 0)
        return -1;
    return 0;
}

static int parse_visitor_hello(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_string(f, root, "site", 1, limits->max_field_bytes, &f->site) < 0
        || get_string(f, root, "token", 0, limits->max_field_bytes, &f->token) < 0
        || parse_page(f, root, limits) < 0)
        return -1;
    if (!beseda_is_uuid(f->site))
        return fail(f, "no_such_site", "site does not exist%s", NULL);
    f->site = canonical_id(f, f->site);
    return 0;
}

/* A client_id: required, 1..GW_MAX_CLIENT_ID characters. */
static int get_client_id(gw_frame_t *f, json_t *root)
{
    json_t *cid = json_object_get(root, "client_id");
    if (!cid || !json_is_string(cid))
        return fail(f, "missing_field", "field '%s' is required and must be a string",
                    "client_id");
    if (json_string_length(cid) == 0)
        return fail(f, "missing_field", "field '%s' must not be empty", "client_id");
    if (json_string_length(cid) > GW_MAX_CLIENT_ID * 4
        || beseda_utf8_chars(json_string_value(cid)) > GW_MAX_CLIENT_ID) {
        f->error_code = "field_too_long";
        snprintf(f->error_message, sizeof f->error_message,
                 "field 'client_id' is longer than %d characters", GW_MAX_CLIENT_ID);
        return -1;
    }
    f->client_id = json_string_value(cid);
    return 0;
}

static int parse_send(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_client_id(f, root) < 0 || get_conversation(f, root, limits) < 0)
        return -1;
    return get_text(f, root, 1, 0, limits);
}

/* An optional short text field of a form (survey, offline, transfer
 * note): at most max_chars characters, no control characters but tab,
 * CR and LF. */
static int get_short_text(gw_frame_t *f, json_t *root, const char *name, int required,
                          size_t max_chars, const char **out)
{
    if (get_string(f, root, name, required, max_chars * 4, out) < 0)
        return -1;
    if (beseda_utf8_chars(*out) > max_chars) {
        f->error_code = "field_too_long";
        snprintf(f->error_message, sizeof f->error_message,
                 "field '%s' is longer than %zu characters", name, max_chars);
        return -1;
    }
    if (!gw_text_controls_ok(*out))
        return fail(f, "bad_value", "field '%s' holds a control character", name);
    return 0;
}

/* An e-mail address as far as the gateway can tell: one '@' with text on
 * both sides, no spaces, no control characters (a header could be made of
 * it), at most GW_EMAIL_MAX_BYTES. */
static int get_email(gw_frame_t *f, json_t *root, int required, const char **out)
{
    if (get_string(f, root, "email", required, GW_EMAIL_MAX_BYTES, out) < 0)
        return -1;
    if (!**out)
        return 0;
    const char *at = strchr(*out, '@');
    if (!at || at == *out || !at[1] || strchr(at + 1, '@'))
        return fail(f, "bad_value", "field '%s' is not an e-mail address", "email");
    for (const unsigned char *p = (const unsigned char *) *out; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' || *p == ',' || *p == ';')
            return fail(f, "bad_value", "field '%s' is not an e-mail address", "email");
    return 0;
}

static int parse_transfer(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_conversation(f, root, limits) < 0
        || get_string(f, root, "to_operator", 0, limits->max_field_bytes, &f->to_operator) < 0
        || get_string(f, root, "to_group", 0, limits->max_field_bytes, &f->to_group) < 0
        || get_short_text(f, root, "note", 0, GW_NOTE_MAX_CHARS, &f->note) < 0)
        return -1;
    if (*f->to_operator && *f->to_group)
        return fail(f, "bad_value", "give either 'to_operator' or 'to_group', not both%s", NULL);
    if (!*f->to_operator && !*f->to_group)
        return fail(f, "missing_field", "field 'to_operator' or 'to_group' is required%s", NULL);
    if (*f->to_operator) {
        if (!beseda_is_uuid(f->to_operator))
            return fail(f, "bad_value", "field '%s' must be an operator id (UUID)", "to_operator");
        copy_str(f->arg2, sizeof f->arg2, f->to_operator);
        for (char *p = f->arg2; *p; p++)
            if (*p >= 'A' && *p <= 'F')
                *p = (char) (*p - 'A' + 'a');
        f->to_operator = f->arg2;
        return 0;
    }
    size_t n = strlen(f->to_group);
    if (n > GW_GROUP_ID_MAX || strspn(f->to_group, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return fail(f, "bad_value", "field '%s' must be a group id (a-z 0-9 _ -, at most 32)",
                    "to_group");
    return 0;
}

static int parse_survey(gw_frame_t *f, json_t *root)
{
    return get_short_text(f, root, "name", 0, GW_NAME_MAX_CHARS, &f->name) < 0
               || get_email(f, root, 0, &f->email) < 0
               || get_short_text(f, root, "phone", 0, GW_PHONE_MAX_CHARS, &f->phone) < 0
               || get_short_text(f, root, "answer", 0, GW_ANSWER_MAX_CHARS, &f->answer) < 0
               ? -1 : 0;
}

static int parse_offline(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_client_id(f, root) < 0
        || get_short_text(f, root, "name", 0, GW_NAME_MAX_CHARS, &f->name) < 0
        || get_email(f, root, 0, &f->email) < 0
        || get_short_text(f, root, "phone", 0, GW_PHONE_MAX_CHARS, &f->phone) < 0)
        return -1;
    return get_text(f, root, 1, 0, limits);
}

/* `after` of a sync: absent 0, else a non-negative integer. */
static int get_after(gw_frame_t *f, json_t *root)
{
    json_t *after = json_object_get(root, "after");
    f->after = 0;
    if (!after || json_is_null(after))
        return 0;
    if (!json_is_integer(after))
        return fail(f, "missing_field", "field '%s' must be an integer", "after");
    if (json_integer_value(after) < 0)
        return fail(f, "bad_value", "field '%s' must not be negative", "after");
    f->after = (uint64_t) json_integer_value(after);
    return 0;
}

static int parse_sync(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_conversation(f, root, limits) < 0)
        return -1;
    return get_after(f, root);
}

static int parse_status(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_string(f, root, "status", 1, limits->max_field_bytes, &f->status) < 0)
        return -1;
    if (strcmp(f->status, "online") != 0 && strcmp(f->status, "away") != 0
        && strcmp(f->status, "busy") != 0)
        return fail(f, "bad_value", "status must be 'online', 'away' or 'busy'%s", NULL);
    copy_str(f->arg, sizeof f->arg, f->status);
    return 0;
}

static int parse_history(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    if (get_string(f, root, "visitor", 1, limits->max_field_bytes, &f->visitor) < 0)
        return -1;
    if (!beseda_is_uuid(f->visitor))
        return fail(f, "bad_value", "field '%s' must be a visitor id (UUID)", "visitor");
    f->visitor = canonical_id(f, f->visitor);
    return 0;
}

static int parse_fields(gw_frame_t *f, json_t *root, const gw_limits_t *limits)
{
    size_t max = limits->max_field_bytes;
    switch (f->kind) {
    case GW_REQ_VISITOR_HELLO:
        return parse_visitor_hello(f, root, limits);
    case GW_REQ_OPERATOR_RESUME:
        return get_string(f, root, "session", 1, max, &f->session);
    case GW_REQ_OPERATOR_LOGIN:
        if (get_string(f, root, "email", 1, max, &f->email) < 0)
            return -1;
        return get_string(f, root, "password", 1, max, &f->password);
    case GW_REQ_SEND:
        return parse_send(f, root, limits);
    case GW_REQ_TYPING:
        if (get_conversation(f, root, limits) < 0)
            return -1;
        return get_text(f, root, 0, 1, limits);
    case GW_REQ_SYNC:
        return parse_sync(f, root, limits);
    case GW_REQ_STATUS:
        return parse_status(f, root, limits);
    case GW_REQ_HISTORY:
        return parse_history(f, root, limits);
    case GW_REQ_CLOSE:
        return get_conversation(f, root, limits);
    case GW_REQ_LOGOUT:
        return get_string(f, root, "session", 1, max, &f->session);
    case GW_REQ_ACCEPT:
        return get_conversation(f, root, limits);
    case GW_REQ_TRANSFER:
        return parse_transfer(f, root, limits);
    case GW_REQ_TEAM_SEND:
        return get_client_id(f, root) < 0 ? -1 : get_text(f, root, 1, 0, limits);
    case GW_REQ_TEAM_SYNC:
        return get_after(f, root);
    case GW_REQ_SURVEY:
        return parse_survey(f, root);
    case GW_REQ_OFFLINE:
        return parse_offline(f, root, limits);
    case GW_REQ_TRANSCRIPT:
        if (get_conversation(f, root, limits) < 0)
            return -1;
        if (get_email(f, root, 1, &f->email) < 0)
            return -1;
        return 0;
    default:
        return 0;
    }
}

static const frame_type_t *find_type(const char *type, gw_role_t role)
{
    for (const frame_type_t *t = FRAME_TYPES; t->type; t++)
        if (strcmp(t->type, type) == 0 && (t->roles & (1u << role)))
            return t;
    return NULL;
}

/* A usable request id: a string of 1..GW_MAX_CLIENT_ID characters. */
static int req_ok(json_t *req)
{
    return json_is_string(req) && json_string_length(req) > 0
           && json_string_length(req) <= GW_MAX_CLIENT_ID * 4
           && beseda_utf8_chars(json_string_value(req)) <= GW_MAX_CLIENT_ID;
}

/* The optional request id of any frame: checked before the frame's own
 * fields. Absent and null are fine. */
static int check_req(gw_frame_t *f, json_t *root)
{
    json_t *req = json_object_get(root, "req");
    if (!req || json_is_null(req) || req_ok(req))
        return 0;
    if (!json_is_string(req))
        return fail(f, "missing_field", "field '%s' must be a string", "req");
    if (json_string_length(req) == 0)
        return fail(f, "missing_field", "field '%s' must not be empty", "req");
    f->error_code = "field_too_long";
    snprintf(f->error_message, sizeof f->error_message,
             "field 'req' is longer than %d characters", GW_MAX_CLIENT_ID);
    return -1;
}

/* The ref an error frame echoes: a send's client_id when it is usable, else
 * the frame's type when it is a short string; and the request id, when the
 * frame has a usable one, whatever else is wrong with it. */
static void read_ref(gw_frame_t *f, json_t *root, const char *type)
{
    json_t *req = json_object_get(root, "req");
    if (req_ok(req))
        copy_str(f->req, sizeof f->req, json_string_value(req));
    json_t *cid = json_object_get(root, "client_id");
    int has_id = type && (strcmp(type, "send") == 0 || strcmp(type, "team_send") == 0
                          || strcmp(type, "offline") == 0);
    if (has_id && json_is_string(cid)
        && json_string_length(cid) > 0 && json_string_length(cid) < sizeof f->ref
        && beseda_utf8_chars(json_string_value(cid)) <= GW_MAX_CLIENT_ID)
        copy_str(f->ref, sizeof f->ref, json_string_value(cid));
    else if (type && strlen(type) <= 32)
        copy_str(f->ref, sizeof f->ref, type);
}

/* Login state rules: hello/login only before the welcome (and once), the
 * rest only after it; ping always. */
static int check_auth(gw_frame_t *f, gw_auth_t auth)
{
    int is_login = f->kind == GW_REQ_VISITOR_HELLO || f->kind == GW_REQ_OPERATOR_LOGIN
                   || f->kind == GW_REQ_OPERATOR_RESUME;
    if (f->kind == GW_REQ_PING)
        return 0;
    if (is_login && auth != GW_AUTH_NONE)
        return fail(f, "already_authenticated",
                    auth == GW_AUTH_DONE ? "already authenticated%s"
                                         : "a hello/login is already in progress%s", NULL);
    if (!is_login && auth != GW_AUTH_DONE)
        return fail(f, "not_authenticated", "send hello or login first%s", NULL);
    return 0;
}

int gw_frame_parse(const char *data, size_t len, gw_role_t role, gw_auth_t auth,
                   const gw_limits_t *limits, gw_frame_t *f)
{
    memset(f, 0, sizeof *f);
    f->site = f->token = f->email = f->password = f->session = "";
    f->conversation = f->client_id = f->text = f->status = f->visitor = "";
    f->page_url = f->page_title = f->page_referrer = f->page_language = "";
    f->to_operator = f->to_group = f->note = f->name = f->phone = f->answer = "";
    if (!gw_json_depth_ok(data, len, limits->max_depth)) {
        f->error_code = "too_deep";
        snprintf(f->error_message, sizeof f->error_message,
                 "JSON nested deeper than %d", limits->max_depth);
        return -1;
    }
    json_error_t jerr;
    f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    /* Valid JSON with an integer beyond 64 bits: read again with every
     * integer as a double, so that the frame's type and ref are known, and
     * refuse it as a value out of range (not as JSON that is not JSON). */
    int out_of_range = 0;
    if (!f->root && json_error_code(&jerr) == json_error_numeric_overflow) {
        f->root = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
        out_of_range = f->root != NULL;
    }
    if (!f->root || !json_is_object(f->root))
        return fail(f, "bad_json", "frame is not a JSON object%s", NULL);
    json_t *type = json_object_get(f->root, "type");
    const char *type_s = json_is_string(type) ? json_string_value(type) : NULL;
    read_ref(f, f->root, type_s);
    if (out_of_range)
        return fail(f, "bad_value", "a number is out of range (integers have at most 64 bits)%s",
                    NULL);
    const frame_type_t *t = type_s ? find_type(type_s, role) : NULL;
    if (!t)
        return fail(f, "unknown_type", type_s ? "unknown frame type%s" : "field 'type' is missing%s",
                    NULL);
    f->kind = t->kind;
    if (f->kind == GW_REQ_VISITOR_HELLO && role == GW_ROLE_OPERATOR)
        f->kind = GW_REQ_OPERATOR_RESUME;
    if (check_auth(f, auth) < 0 || check_req(f, f->root) < 0
        || parse_fields(f, f->root, limits) < 0) {
        f->kind = GW_REQ_NONE;
        return -1;
    }
    return 0;
}

void gw_frame_clear(gw_frame_t *f)
{
    if (f->root)
        json_decref(f->root);
    f->root = NULL;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

const char *gw_frame_shard(const gw_frame_t *f, const gw_identity_t *id)
{
    switch (f->kind) {
    case GW_REQ_SEND:
    case GW_REQ_TYPING:
    case GW_REQ_SYNC:
    case GW_REQ_CLOSE:
    case GW_REQ_ACCEPT:
    case GW_REQ_TRANSFER:
    case GW_REQ_TRANSCRIPT:
        return f->conversation;
    case GW_REQ_VISITOR_HELLO:
        return f->site;
    case GW_REQ_OPERATOR_LOGIN:
    case GW_REQ_OPERATOR_RESUME:
        return or_empty(id->conn_id);
    default:
        return or_empty(id->site_id);
    }
}

static void fill_identity(Beseda__RouterRequest *req, const gw_identity_t *id)
{
    req->gateway_id = (char *) or_empty(id->gateway_id);
    req->conn_id = (char *) or_empty(id->conn_id);
    req->ip = (char *) or_empty(id->ip);
    req->site_id = (char *) or_empty(id->site_id);
    req->visitor_id = (char *) or_empty(id->visitor_id);
    req->operator_id = (char *) or_empty(id->operator_id);
}

static uint8_t *pack_request(const Beseda__RouterRequest *req, size_t *len)
{
    *len = beseda__router_request__get_packed_size(req);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (!buf)
        return NULL;
    beseda__router_request__pack(req, buf);
    return buf;
}

/* The frame-made bodies; all point into the frame and live on the stack of
 * gw_frame_pack until the request is packed. */
typedef struct {
    Beseda__PageInfo page;
    Beseda__VisitorHello hello;
    Beseda__OperatorLogin login;
    Beseda__OperatorResume resume;
    Beseda__SendMessage send;
    Beseda__Typing typing;
    Beseda__Sync sync;
    Beseda__SetStatus status;
    Beseda__HistoryQuery history;
    Beseda__CloseConversation close;
    Beseda__OperatorLogout logout;
    Beseda__AcceptRing accept;
    Beseda__Transfer transfer;
    Beseda__TeamSend team_send;
    Beseda__TeamSync team_sync;
    Beseda__Survey survey;
    Beseda__OfflineMessage offline;
    Beseda__TranscriptRequest transcript;
} bodies_t;

static void fill_visitor_hello(Beseda__RouterRequest *req, bodies_t *b, const gw_frame_t *f,
                               const gw_identity_t *id)
{
    beseda__page_info__init(&b->page);
    b->page.url = (char *) f->page_url;
    b->page.title = (char *) f->page_title;
    b->page.referrer = (char *) f->page_referrer;
    b->page.language = (char *) f->page_language;
    b->page.user_agent = (char *) or_empty(id->user_agent);
    beseda__visitor_hello__init(&b->hello);
    b->hello.site_id = (char *) f->site;
    b->hello.token = (char *) f->token;
    b->hello.page = &b->page;
    req->body_case = BESEDA__ROUTER_REQUEST__BODY_VISITOR_HELLO;
    req->visitor_hello = &b->hello;
}

static void fill_conversation_ops(Beseda__RouterRequest *req, bodies_t *b, const gw_frame_t *f,
                                  int is_operator)
{
    char *conv = (char *) f->conversation;
    switch (f->kind) {
    case GW_REQ_SEND:
        beseda__send_message__init(&b->send);
        b->send.conversation_id = conv;
        b->send.client_msg_id = (char *) f->client_id;
        b->send.text = (char *) f->text;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_SEND;
        req->send = &b->send;
        break;
    case GW_REQ_TYPING:
        beseda__typing__init(&b->typing);
        b->typing.conversation_id = conv;
        /* An operator's draft is never shown to the visitor: drop it here. */
        b->typing.text = is_operator ? (char *) "" : (char *) f->text;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_TYPING;
        req->typing = &b->typing;
        break;
    case GW_REQ_SYNC:
        beseda__sync__init(&b->sync);
        b->sync.conversation_id = conv;
        b->sync.after_seq = f->after;
        b->sync.limit = GW_SYNC_LIMIT;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_SYNC;
        req->sync = &b->sync;
        break;
    default:   /* GW_REQ_CLOSE */
        beseda__close_conversation__init(&b->close);
        b->close.conversation_id = conv;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_CLOSE;
        req->close = &b->close;
        break;
    }
}

/* The routing frames: ring accept, transfer, team chat, visitor forms. */
static int fill_routing_ops(Beseda__RouterRequest *req, bodies_t *b, const gw_frame_t *f)
{
    switch (f->kind) {
    case GW_REQ_ACCEPT:
        beseda__accept_ring__init(&b->accept);
        b->accept.conversation_id = (char *) f->conversation;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_ACCEPT;
        req->accept = &b->accept;
        return 0;
    case GW_REQ_TRANSFER:
        beseda__transfer__init(&b->transfer);
        b->transfer.conversation_id = (char *) f->conversation;
        b->transfer.to_operator_id = (char *) f->to_operator;
        b->transfer.to_group = (char *) f->to_group;
        b->transfer.note = (char *) f->note;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_TRANSFER;
        req->transfer = &b->transfer;
        return 0;
    case GW_REQ_TEAM_SEND:
        beseda__team_send__init(&b->team_send);
        b->team_send.client_msg_id = (char *) f->client_id;
        b->team_send.text = (char *) f->text;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_TEAM_SEND;
        req->team_send = &b->team_send;
        return 0;
    case GW_REQ_TEAM_SYNC:
        beseda__team_sync__init(&b->team_sync);
        b->team_sync.after_seq = f->after;
        b->team_sync.limit = GW_SYNC_LIMIT;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_TEAM_SYNC;
        req->team_sync = &b->team_sync;
        return 0;
    case GW_REQ_SURVEY:
        beseda__survey__init(&b->survey);
        b->survey.name = (char *) f->name;
        b->survey.email = (char *) f->email;
        b->survey.phone = (char *) f->phone;
        b->survey.answer = (char *) f->answer;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_SURVEY;
        req->survey = &b->survey;
        return 0;
    case GW_REQ_OFFLINE:
        beseda__offline_message__init(&b->offline);
        b->offline.client_msg_id = (char *) f->client_id;
        b->offline.name = (char *) f->name;
        b->offline.email = (char *) f->email;
        b->offline.phone = (char *) f->phone;
        b->offline.text = (char *) f->text;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_OFFLINE;
        req->offline = &b->offline;
        return 0;
    case GW_REQ_TRANSCRIPT:
        beseda__transcript_request__init(&b->transcript);
        b->transcript.conversation_id = (char *) f->conversation;
        b->transcript.email = (char *) f->email;
        req->body_case = BESEDA__ROUTER_REQUEST__BODY_TRANSCRIPT;
        req->transcript = &b->transcript;
        return 0;
    default:
        return -1;
    }
}

uint8_t *gw_frame_pack(const gw_frame_t *f, const gw_identity_t *id, size_t *len)
{
    return gw_frame_pack_until(f, id, 0, len);
}

uint8_t *gw_frame_pack_until(const gw_frame_t *f, const gw_identity_t *id,
                             int64_t deadline_unix_ms, size_t *len)
{
    Beseda__RouterRequest req = BESEDA__ROUTER_REQUEST__INIT;
    bodies_t b;
    fill_identity(&req, id);
    req.deadline_unix_ms = deadline_unix_ms;
    switch (f->kind) {
    case GW_REQ_VISITOR_HELLO:
        fill_visitor_hello(&req, &b, f, id);
        break;
    case GW_REQ_OPERATOR_LOGIN:
        beseda__operator_login__init(&b.login);
        b.login.email = (char *) f->email;
        b.login.password = (char *) f->password;
        req.body_case = BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGIN;
        req.operator_login = &b.login;
        break;
    case GW_REQ_OPERATOR_RESUME:
        beseda__operator_resume__init(&b.resume);
        b.resume.session = (char *) f->session;
        req.body_case = BESEDA__ROUTER_REQUEST__BODY_OPERATOR_RESUME;
        req.operator_resume = &b.resume;
        break;
    case GW_REQ_SEND:
    case GW_REQ_TYPING:
    case GW_REQ_SYNC:
    case GW_REQ_CLOSE:
        fill_conversation_ops(&req, &b, f, id->operator_id && *id->operator_id);
        break;
    case GW_REQ_STATUS:
        beseda__set_status__init(&b.status);
        b.status.status = (char *) f->status;
        req.body_case = BESEDA__ROUTER_REQUEST__BODY_SET_STATUS;
        req.set_status = &b.status;
        break;
    case GW_REQ_HISTORY:
        beseda__history_query__init(&b.history);
        b.history.visitor_id = (char *) f->visitor;
        req.body_case = BESEDA__ROUTER_REQUEST__BODY_HISTORY;
        req.history = &b.history;
        break;
    case GW_REQ_LOGOUT:
        beseda__operator_logout__init(&b.logout);
        b.logout.session = (char *) f->session;
        req.body_case = BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGOUT;
        req.operator_logout = &b.logout;
        break;
    default:
        if (fill_routing_ops(&req, &b, f) < 0)
            return NULL;
        break;
    }
    return pack_request(&req, len);
}

uint8_t *gw_pack_presence_beat(const gw_identity_t *id, const char *status, size_t *len)
{
    Beseda__RouterRequest req = BESEDA__ROUTER_REQUEST__INIT;
    Beseda__PresenceBeat beat = BESEDA__PRESENCE_BEAT__INIT;
    fill_identity(&req, id);
    beat.status = (char *) (status && *status ? status : "online");
    req.body_case = BESEDA__ROUTER_REQUEST__BODY_PRESENCE_BEAT;
    req.presence_beat = &beat;
    return pack_request(&req, len);
}

uint8_t *gw_pack_operator_gone(const gw_identity_t *id, size_t *len)
{
    Beseda__RouterRequest req = BESEDA__ROUTER_REQUEST__INIT;
    Beseda__OperatorGone gone = BESEDA__OPERATOR_GONE__INIT;
    fill_identity(&req, id);
    req.body_case = BESEDA__ROUTER_REQUEST__BODY_OPERATOR_GONE;
    req.operator_gone = &gone;
    return pack_request(&req, len);
}
