/* RouterReplies and Deliveries to the JSON frames of docs/PROTOCOL.md.
 *
 * Builders collect failures in a flag instead of checking each jansson call:
 * an allocation that fails anywhere makes the whole frame NULL, never a frame
 * with a field silently missing. Strings from the bus that are not valid
 * UTF-8 (they should never be: the gateway checked them on the way in)
 * become "" rather than dropping the frame. */
#include "gw_frame.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int failed;
} build_t;

static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    return v ? v : json_string("");
}

static void put(build_t *b, json_t *obj, const char *key, json_t *value)
{
    if (!obj || !value || json_object_set_new(obj, key, value) < 0)
        b->failed = 1;
}

static void put_str(build_t *b, json_t *obj, const char *key, const char *s)
{
    put(b, obj, key, jstr(s));
}

static void put_int(build_t *b, json_t *obj, const char *key, json_int_t v)
{
    put(b, obj, key, json_integer(v));
}

static void append(build_t *b, json_t *array, json_t *value)
{
    if (!array || !value || json_array_append_new(array, value) < 0)
        b->failed = 1;
}

static json_t *new_frame(build_t *b, const char *type)
{
    json_t *o = json_object();
    put_str(b, o, "type", type);
    return o;
}

/* Serializes and frees the frame; NULL if anything went wrong building it. */
static char *finish(build_t *b, json_t *frame)
{
    char *text = NULL;
    if (frame && !b->failed)
        text = json_dumps(frame, JSON_COMPACT);
    if (frame)
        json_decref(frame);
    return text;
}

static const struct {
    const char *code;
    const char *text;
} ERROR_TEXTS[] = {
    { "bad_json", "frame is not a JSON object" },
    { "too_deep", "JSON nested too deep" },
    { "frame_too_large", "frame too large" },
    { "binary_frame", "binary frames are not accepted" },
    { "unknown_type", "unknown frame type" },
    { "missing_field", "a required field is missing" },
    { "field_too_long", "a field is too long" },
    { "bad_value", "a field has a value it cannot take" },
    { "text_too_long", "text too long" },
    { "empty_text", "text is empty" },
    { "rate_limited", "too many frames; slow down" },
    { "not_authenticated", "send hello or login first" },
    { "already_authenticated", "already authenticated" },
    { "no_such_site", "site does not exist" },
    { "bad_token", "visitor token is not valid" },
    { "token_expired", "visitor token expired; send hello without a token" },
    { "bad_login", "wrong e-mail or password" },
    { "login_throttled", "too many failed logins; wait" },
    { "bad_session", "session is unknown or expired" },
    { "forbidden", "not allowed" },
    { "no_conversation", "conversation does not exist" },
    { "conversation_closed", "conversation is closed" },
    { "already_taken", "another operator took this chat first" },
    { "no_operator_available", "no operator can take it now" },
    { "not_found", "no such resource" },
    { "too_large", "request body too large" },
    { "unavailable", "the backend did not answer in time; retry" },
    { "overloaded", "the server is busy; retry after retry_after_ms" },
    { "internal", "internal error; retry later" },
    { NULL, NULL }
};

const char *gw_error_text(const char *code)
{
    for (int i = 0; ERROR_TEXTS[i].code; i++)
        if (strcmp(ERROR_TEXTS[i].code, code) == 0)
            return ERROR_TEXTS[i].text;
    return "error";
}

char *gw_error_json(const char *code, const char *message, const char *ref)
{
    return gw_error_json_about(code, message, ref, NULL, NULL);
}

char *gw_error_json_about(const char *code, const char *message, const char *ref,
                          const char *req, const char *conversation)
{
    return gw_error_json_retry(code, message, ref, req, conversation, -1);
}

char *gw_error_json_retry(const char *code, const char *message, const char *ref,
                          const char *req, const char *conversation, int retry_after_ms)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "error");
    put_str(&b, o, "code", code);
    put_str(&b, o, "message", message && *message ? message : gw_error_text(code));
    if (ref && *ref)
        put_str(&b, o, "ref", ref);
    if (req && *req)
        put_str(&b, o, "req", req);
    if (conversation && *conversation)
        put_str(&b, o, "conversation", conversation);
    if (retry_after_ms >= 0)
        put_int(&b, o, "retry_after_ms", retry_after_ms);
    return finish(&b, o);
}

const char *gw_kind_conversation(gw_req_kind_t kind, const char *arg)
{
    switch (kind) {
    case GW_REQ_SEND:
    case GW_REQ_TYPING:
    case GW_REQ_SYNC:
    case GW_REQ_CLOSE:
    case GW_REQ_ACCEPT:
    case GW_REQ_TRANSFER:
    case GW_REQ_TRANSCRIPT:
        return arg ? arg : "";
    default:
        return "";
    }
}

char *gw_with_req(char *text, const char *req)
{
    if (!text || !req || !*req || text[0] != '{')
        return text;
    json_t *v = json_string(req);
    char *value = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(v);
    size_t n = strlen(text), m = value ? strlen(value) : 0;
    char *out = value ? malloc(7 + m + 1 + n) : NULL;
    if (out) {
        /* {"type":...}  ->  {"req":<value>,"type":...} */
        size_t k = 7;
        memcpy(out, "{\"req\":", 7);
        memcpy(out + k, value, m);
        k += m;
        if (text[1] != '}')
            out[k++] = ',';
        memcpy(out + k, text + 1, n);   /* the rest, with its NUL */
    }
    free(value);
    free(text);
    return out;
}

char *gw_simple_json(const char *type)
{
    build_t b = { 0 };
    return finish(&b, new_frame(&b, type));
}

/* ------------------------------------------------------------- objects */

static json_t *page_json(build_t *b, const Beseda__PageInfo *p)
{
    json_t *o = json_object();
    if (!p)
        return o;
    if (*p->url)
        put_str(b, o, "url", p->url);
    if (*p->title)
        put_str(b, o, "title", p->title);
    if (*p->referrer)
        put_str(b, o, "referrer", p->referrer);
    if (*p->language)
        put_str(b, o, "language", p->language);
    if (*p->country)
        put_str(b, o, "country", p->country);     /* GeoIP: only operators see pages */
    if (*p->city)
        put_str(b, o, "city", p->city);
    return o;
}

static json_t *author_json(build_t *b, const Beseda__Author *a)
{
    json_t *o = json_object();
    put_str(b, o, "kind", a ? a->kind : "system");
    if (a && *a->id)
        put_str(b, o, "id", a->id);
    if (a && *a->name)
        put_str(b, o, "name", a->name);
    return o;
}

/* A message object as in `message`, without "type". */
static void fill_message(build_t *b, json_t *o, const Beseda__ChatMessage *m)
{
    put_str(b, o, "conversation", m->conversation_id);
    put_int(b, o, "seq", (json_int_t) m->seq);
    put_str(b, o, "client_id", m->client_msg_id);
    put(b, o, "author", author_json(b, m->author));
    put_str(b, o, "text", m->text);
    put_int(b, o, "ts", m->ts_ms);
}

static json_t *messages_json(build_t *b, Beseda__ChatMessage *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!list[i])
            continue;
        json_t *m = json_object();
        fill_message(b, m, list[i]);
        append(b, a, m);
    }
    return a;
}

static void put_nonempty(build_t *b, json_t *o, const char *key, const char *s)
{
    if (s && *s)
        put_str(b, o, key, s);
}

/* What only operators see of a conversation: the visitor, the page, the
 * survey, the routing state and a transfer's internal note. */
static void conversation_operator_fields(build_t *b, json_t *o, const Beseda__ConversationInfo *c)
{
    put_str(b, o, "visitor_id", c->visitor_id);
    put_nonempty(b, o, "visitor_name", c->visitor_name);
    put_nonempty(b, o, "visitor_email", c->visitor_email);
    put_nonempty(b, o, "visitor_phone", c->visitor_phone);
    put_nonempty(b, o, "survey_answer", c->survey_answer);
    if (c->created_ms)
        put_int(b, o, "created", c->created_ms);
    put(b, o, "page", page_json(b, c->page));
    put_nonempty(b, o, "rule", c->rule);
    if (c->deadline_ms)
        put_int(b, o, "deadline", c->deadline_ms);
    if (c->n_ringing) {
        json_t *ids = json_array();
        for (size_t i = 0; i < c->n_ringing; i++)
            append(b, ids, jstr(c->ringing[i]));
        put(b, o, "ringing", ids);
    }
    put_nonempty(b, o, "note", c->note);
    if (c->transferred_by && *c->transferred_by->id)
        put(b, o, "transferred_by", author_json(b, c->transferred_by));
}

/* A conversation as the recipient sees it: visitors get id, state, last_seq,
 * the operator and whether it was missed; operators also the rest above. */
static json_t *conversation_json(build_t *b, const Beseda__ConversationInfo *c, gw_role_t role)
{
    json_t *o = json_object();
    if (!c)
        return o;
    put_str(b, o, "id", c->id);
    put_str(b, o, "state", c->state);
    put_int(b, o, "last_seq", (json_int_t) c->last_seq);
    if (*c->operator_id) {
        json_t *op = json_object();
        put_str(b, op, "id", c->operator_id);
        put_str(b, op, "name", c->operator_name);
        put(b, o, "operator", op);
    }
    if (c->missed)
        put(b, o, "missed", json_true());
    if (role == GW_ROLE_OPERATOR)
        conversation_operator_fields(b, o, c);
    return o;
}

/* -------------------------------------------------------------- replies */

static json_t *survey_json(build_t *b, const Beseda__SurveyConfig *sc)
{
    json_t *o = json_object();
    put(b, o, "enabled", json_true());
    put_str(b, o, "name", *sc->name ? sc->name : "off");
    put_str(b, o, "email", *sc->email ? sc->email : "off");
    put_str(b, o, "phone", *sc->phone ? sc->phone : "off");
    put_str(b, o, "question", sc->question);
    json_t *choices = json_array();
    for (size_t i = 0; i < sc->n_choices; i++)
        append(b, choices, jstr(sc->choices[i]));
    put(b, o, "choices", choices);
    put(b, o, "question_required", json_boolean(sc->question_required));
    return o;
}

static json_t *group_list_json(build_t *b, Beseda__GroupInfo *const *groups, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const Beseda__GroupInfo *g = groups[i];
        if (!g)
            continue;
        json_t *o = json_object(), *ids = json_array();
        put_str(b, o, "id", g->id);
        put_str(b, o, "name", g->name);
        for (size_t k = 0; k < g->n_operator_ids; k++)
            append(b, ids, jstr(g->operator_ids[k]));
        put(b, o, "operators", ids);
        append(b, list, o);
    }
    return list;
}

static char *visitor_welcome_json(const Beseda__VisitorWelcome *w)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "welcome");
    put_str(&b, o, "visitor_id", w->visitor_id);
    put_str(&b, o, "token", w->token);
    put_str(&b, o, "site_name", w->site_name);
    put_int(&b, o, "operators_online", w->operators_online);
    put(&b, o, "available", json_boolean(w->available));
    if (w->survey && w->survey->enabled)
        put(&b, o, "survey", survey_json(&b, w->survey));
    put(&b, o, "conversation", conversation_json(&b, w->conversation, GW_ROLE_VISITOR));
    return finish(&b, o);
}

static char *operator_welcome_json(const Beseda__OperatorWelcome *w)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "welcome");
    put_str(&b, o, "session", w->session);
    json_t *op = json_object();
    const Beseda__OperatorInfo *info = w->operator_;
    if (info) {
        put_str(&b, op, "id", info->id);
        put_str(&b, op, "name", info->name);
        put_str(&b, op, "email", info->email);
        put_str(&b, op, "site", info->site_id);
        put_str(&b, op, "status", *info->status ? info->status : "online");
        put_int(&b, op, "max_chats", info->max_chats);
        put_str(&b, op, "role", *info->role ? info->role : "operator");
    }
    put(&b, o, "operator", op);
    json_t *list = json_array();
    for (size_t i = 0; i < w->n_conversations; i++)
        append(&b, list, conversation_json(&b, w->conversations[i], GW_ROLE_OPERATOR));
    put(&b, o, "conversations", list);
    json_t *ringing = json_array();
    for (size_t i = 0; i < w->n_ringing; i++)
        append(&b, ringing, conversation_json(&b, w->ringing[i], GW_ROLE_OPERATOR));
    put(&b, o, "ringing", ringing);
    put(&b, o, "groups", group_list_json(&b, w->groups, w->n_groups));
    return finish(&b, o);
}

static char *ack_json(const Beseda__Ack *a)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "ack");
    put_str(&b, o, "conversation", a->conversation_id);
    put_str(&b, o, "client_id", a->client_msg_id);
    put_int(&b, o, "seq", (json_int_t) a->seq);
    put_int(&b, o, "ts", a->ts_ms);
    put(&b, o, "duplicate", json_boolean(a->duplicate));
    return finish(&b, o);
}

static char *messages_reply_json(const Beseda__MessageList *l, const char *conversation)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "messages");
    put_str(&b, o, "conversation", *l->conversation_id ? l->conversation_id : conversation);
    put(&b, o, "messages", messages_json(&b, l->messages, l->n_messages));
    put_int(&b, o, "last_seq", (json_int_t) l->last_seq);
    put(&b, o, "more", json_boolean(l->more));
    return finish(&b, o);
}

static char *history_json(const Beseda__HistoryList *h, const char *visitor)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "history");
    put_str(&b, o, "visitor", visitor);
    json_t *list = json_array();
    for (size_t i = 0; i < h->n_conversations; i++) {
        const Beseda__ConversationHistory *ch = h->conversations[i];
        if (!ch)
            continue;
        json_t *item = json_object();
        put(&b, item, "conversation", conversation_json(&b, ch->conversation, GW_ROLE_OPERATOR));
        put(&b, item, "messages", messages_json(&b, ch->messages, ch->n_messages));
        append(&b, list, item);
    }
    put(&b, o, "conversations", list);
    return finish(&b, o);
}

/* The `ok` of a request without a body of its own: ref is the frame type;
 * the conversation or client id the frame named comes back with it. */
static char *ok_json(gw_req_kind_t kind, const char *ref, const char *arg)
{
    static const char *const NAMES[GW_REQ_KIND_COUNT] = {
        [GW_REQ_STATUS] = "status", [GW_REQ_LOGOUT] = "logout", [GW_REQ_CLOSE] = "close",
        [GW_REQ_ACCEPT] = "accept", [GW_REQ_TRANSFER] = "transfer", [GW_REQ_SURVEY] = "survey",
        [GW_REQ_OFFLINE] = "offline", [GW_REQ_TRANSCRIPT] = "transcript",
    };
    build_t b = { 0 };
    json_t *o = new_frame(&b, "ok");
    put_str(&b, o, "ref", (unsigned) kind < GW_REQ_KIND_COUNT && NAMES[kind] ? NAMES[kind] : "");
    if (kind == GW_REQ_CLOSE || kind == GW_REQ_ACCEPT || kind == GW_REQ_TRANSFER
        || kind == GW_REQ_TRANSCRIPT)
        put_str(&b, o, "conversation", arg);
    if (kind == GW_REQ_OFFLINE)
        put_str(&b, o, "client_id", ref);
    return finish(&b, o);
}

static json_t *team_message_json(build_t *b, const Beseda__TeamMessage *m)
{
    json_t *o = json_object();
    if (!m)
        return o;
    put_int(b, o, "seq", (json_int_t) m->seq);
    put_str(b, o, "client_id", m->client_msg_id);
    put(b, o, "author", author_json(b, m->author));
    put_str(b, o, "text", m->text);
    put_int(b, o, "ts", m->ts_ms);
    return o;
}

static char *team_ack_json(const Beseda__TeamAck *a)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "team_ack");
    put_str(&b, o, "client_id", a->client_msg_id);
    put_int(&b, o, "seq", (json_int_t) a->seq);
    put_int(&b, o, "ts", a->ts_ms);
    put(&b, o, "duplicate", json_boolean(a->duplicate));
    return finish(&b, o);
}

static char *team_messages_json(const Beseda__TeamMessageList *l)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "team_messages"), *list = json_array();
    for (size_t i = 0; i < l->n_messages; i++)
        if (l->messages[i])
            append(&b, list, team_message_json(&b, l->messages[i]));
    put(&b, o, "messages", list);
    put_int(&b, o, "last_seq", (json_int_t) l->last_seq);
    put(&b, o, "more", json_boolean(l->more));
    return finish(&b, o);
}

/* The reply body each request kind expects. */
static Beseda__RouterReply__BodyCase expected_body(gw_req_kind_t kind)
{
    switch (kind) {
    case GW_REQ_VISITOR_HELLO:
        return BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME;
    case GW_REQ_OPERATOR_LOGIN:
    case GW_REQ_OPERATOR_RESUME:
        return BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME;
    case GW_REQ_SEND:
        return BESEDA__ROUTER_REPLY__BODY_ACK;
    case GW_REQ_SYNC:
        return BESEDA__ROUTER_REPLY__BODY_MESSAGES;
    case GW_REQ_HISTORY:
        return BESEDA__ROUTER_REPLY__BODY_HISTORY;
    case GW_REQ_ACCEPT:
    case GW_REQ_TRANSFER:
        return BESEDA__ROUTER_REPLY__BODY_CONVERSATION;
    case GW_REQ_TEAM_SEND:
        return BESEDA__ROUTER_REPLY__BODY_TEAM_ACK;
    case GW_REQ_TEAM_SYNC:
        return BESEDA__ROUTER_REPLY__BODY_TEAM_MESSAGES;
    default:
        return BESEDA__ROUTER_REPLY__BODY_OK;
    }
}

char *gw_reply_json(gw_role_t role, gw_req_kind_t kind, const char *ref, const char *arg,
                    const Beseda__RouterReply *r)
{
    return gw_reply_json_req(role, kind, ref, NULL, arg, r);
}

static char *reply_body_json(gw_req_kind_t kind, const char *ref, const char *arg,
                             const Beseda__RouterReply *r);

char *gw_reply_json_req(gw_role_t role, gw_req_kind_t kind, const char *ref, const char *req,
                        const char *arg, const Beseda__RouterReply *r)
{
    (void) role;
    if (kind == GW_REQ_PRESENCE_BEAT || kind == GW_REQ_OPERATOR_GONE)
        return NULL;
    const char *conversation = gw_kind_conversation(kind, arg);
    if (*r->error_code)
        return gw_error_json_about(r->error_code, r->error_message, ref, req, conversation);
    if (kind == GW_REQ_TYPING)
        return NULL;
    if (r->body_case != expected_body(kind))
        return gw_error_json_about("internal", "unexpected reply from the backend", ref, req,
                                   conversation);
    return gw_with_req(reply_body_json(kind, ref, arg, r), req);
}

static char *reply_body_json(gw_req_kind_t kind, const char *ref, const char *arg,
                             const Beseda__RouterReply *r)
{
    switch (r->body_case) {
    case BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME:
        return visitor_welcome_json(r->visitor_welcome);
    case BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME:
        return operator_welcome_json(r->operator_welcome);
    case BESEDA__ROUTER_REPLY__BODY_ACK:
        return ack_json(r->ack);
    case BESEDA__ROUTER_REPLY__BODY_MESSAGES:
        return messages_reply_json(r->messages, arg);
    case BESEDA__ROUTER_REPLY__BODY_HISTORY:
        return history_json(r->history, arg);
    case BESEDA__ROUTER_REPLY__BODY_TEAM_ACK:
        return team_ack_json(r->team_ack);
    case BESEDA__ROUTER_REPLY__BODY_TEAM_MESSAGES:
        return team_messages_json(r->team_messages);
    default:
        return ok_json(kind, ref, arg);
    }
}

/* ----------------------------------------------------------- deliveries */

static char *typing_json(const Beseda__TypingEvent *t, gw_role_t role)
{
    const char *kind = t->author ? t->author->kind : "";
    /* Nobody is told about their own side typing (another tab, a colleague). */
    if ((role == GW_ROLE_VISITOR && strcmp(kind, "visitor") == 0)
        || (role == GW_ROLE_OPERATOR && strcmp(kind, "operator") == 0))
        return NULL;
    build_t b = { 0 };
    json_t *o = new_frame(&b, "typing");
    put_str(&b, o, "conversation", t->conversation_id);
    put(&b, o, "author", author_json(&b, t->author));
    /* Drafts travel to operators only; an operator's draft never leaves. */
    if (role == GW_ROLE_OPERATOR && strcmp(kind, "visitor") == 0)
        put_str(&b, o, "text", t->text);
    return finish(&b, o);
}

static char *ring_end_json(const Beseda__RingEnd *e)
{
    build_t b = { 0 };
    json_t *o = new_frame(&b, "ring_end");
    put_str(&b, o, "conversation", e->conversation_id);
    put_str(&b, o, "reason", e->reason);
    if (*e->operator_id) {
        json_t *op = json_object();
        put_str(&b, op, "id", e->operator_id);
        put_nonempty(&b, op, "name", e->operator_name);
        put(&b, o, "operator", op);
    }
    return finish(&b, o);
}

/* Deliveries only operator connections get: ringing, the team chat, a
 * status set elsewhere, a missed chat. */
static char *operator_delivery_json(const Beseda__Delivery *d)
{
    build_t b = { 0 };
    json_t *o;
    switch (d->body_case) {
    case BESEDA__DELIVERY__BODY_RING:
        o = new_frame(&b, "ring");
        put(&b, o, "conversation", conversation_json(&b, d->ring, GW_ROLE_OPERATOR));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_RING_END:
        return d->ring_end ? ring_end_json(d->ring_end) : NULL;
    case BESEDA__DELIVERY__BODY_TEAM_MESSAGE:
        o = new_frame(&b, "team_message");
        put(&b, o, "message", team_message_json(&b, d->team_message));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_STATUS:
        if (!d->status)
            return NULL;
        o = new_frame(&b, "status");
        put_str(&b, o, "operator", d->status->operator_id);
        put_str(&b, o, "status", d->status->status);
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_MISSED:
        o = new_frame(&b, "missed");
        put(&b, o, "conversation", conversation_json(&b, d->missed, GW_ROLE_OPERATOR));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_SETTINGS_CHANGED:
        if (!d->settings_changed)
            return NULL;
        o = new_frame(&b, "settings_changed");
        put_str(&b, o, "section", d->settings_changed->section);
        put_int(&b, o, "version", d->settings_changed->version);
        put(&b, o, "groups", group_list_json(&b, d->settings_changed->groups,
                                             d->settings_changed->n_groups));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_INBOX_CHANGED:
        if (!d->inbox_changed)
            return NULL;
        o = new_frame(&b, "inbox_changed");
        put_str(&b, o, "reason", d->inbox_changed->reason);
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_RESPONSE_OVERDUE:
        if (!d->response_overdue || !d->response_overdue->conversation)
            return NULL;
        o = new_frame(&b, "response_overdue");
        put(&b, o, "conversation", conversation_json(&b, d->response_overdue->conversation,
                                                     GW_ROLE_OPERATOR));
        put_int(&b, o, "limit_s", d->response_overdue->limit_s);
        put(&b, o, "escalated", d->response_overdue->escalated ? json_true() : json_false());
        return finish(&b, o);
    default:
        return NULL;
    }
}

char *gw_delivery_json(const Beseda__Delivery *d, gw_role_t role)
{
    build_t b = { 0 };
    json_t *o;
    switch (d->body_case) {
    case BESEDA__DELIVERY__BODY_MESSAGE:
        o = new_frame(&b, "message");
        fill_message(&b, o, d->message);
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_TYPING:
        return typing_json(d->typing, role);
    case BESEDA__DELIVERY__BODY_ASSIGNED:
        if (role != GW_ROLE_OPERATOR)
            return NULL;
        o = new_frame(&b, "assigned");
        put(&b, o, "conversation", conversation_json(&b, d->assigned, role));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_CONVERSATION:
        o = new_frame(&b, "conversation");
        put(&b, o, "conversation", conversation_json(&b, d->conversation, role));
        return finish(&b, o);
    case BESEDA__DELIVERY__BODY_OPERATORS_ONLINE:
        if (role != GW_ROLE_VISITOR)
            return NULL;
        o = new_frame(&b, "operators");
        put_int(&b, o, "online", d->operators_online->count);
        return finish(&b, o);
    default:
        return role == GW_ROLE_OPERATOR ? operator_delivery_json(d) : NULL;
    }
}
