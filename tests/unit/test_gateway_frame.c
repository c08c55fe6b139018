/* Client frames in (parse, validate, pack into RouterRequest) and JSON out
 * (replies and deliveries), checked against docs/PROTOCOL.md section 1. */
#include "check.h"
#include "gw_frame.h"

#include <stdlib.h>
#include <string.h>

#define SITE "5d1c0000-0000-4000-8000-000000000001"
#define CONV "c0000000-0000-4000-8000-000000000002"
#define VIS  "a0000000-0000-4000-8000-000000000003"

static gw_limits_t limits;

/* Parses `text` and returns the error code, or "ok". */
static const char *parse_as(const char *text, gw_role_t role, gw_auth_t auth, gw_frame_t *f)
{
    int rc = gw_frame_parse(text, strlen(text), role, auth, &limits, f);
    return rc == 0 ? "ok" : f->error_code;
}

static int code_is(const char *text, gw_role_t role, gw_auth_t auth, const char *code)
{
    gw_frame_t f;
    const char *got = parse_as(text, role, auth, &f);
    int same = strcmp(got, code) == 0;
    if (!same)
        printf("# %s -> %s (%s), expected %s\n", text, got, f.error_message, code);
    gw_frame_clear(&f);
    return same;
}

static int vis(const char *text, const char *code)
{
    return code_is(text, GW_ROLE_VISITOR, GW_AUTH_DONE, code);
}

static int ops(const char *text, const char *code)
{
    return code_is(text, GW_ROLE_OPERATOR, GW_AUTH_DONE, code);
}

static char *repeat(const char *unit, int n)
{
    size_t len = strlen(unit);
    char *s = malloc(len * (size_t) n + 1);
    for (int i = 0; i < n; i++)
        memcpy(s + len * (size_t) i, unit, len);
    s[len * (size_t) n] = 0;
    return s;
}

static void test_shape(void)
{
    CHECK(vis("{", "bad_json"), "truncated JSON is bad_json");
    CHECK(vis("[1,2,3]", "bad_json"), "an array is bad_json");
    CHECK(vis("\"ping\"", "bad_json"), "a string is bad_json");
    CHECK(vis("", "bad_json"), "an empty frame is bad_json");
    CHECK(vis("{\"type\":\"ping\"} x", "bad_json"), "trailing garbage is bad_json");
    CHECK(vis("{\"type\":\"ping\",\"type\":\"send\"}", "bad_json"), "duplicate keys are bad_json");
    CHECK(vis("{\"type\":\"ping\",\"a\":\"\\u0000\"}", "bad_json"), "a NUL in a string is bad_json");
    CHECK(vis("{\"type\":\"ping\",\"a\":[[[[[[[[1]]]]]]]]}", "too_deep"), "depth 9 is too_deep");
    CHECK(vis("{\"type\":\"ping\",\"a\":[[[[[[[1]]]]]]]}", "ok"), "depth 8 is fine");
    CHECK(vis("{\"type\":\"launch\"}", "unknown_type"), "an unknown type");
    CHECK(vis("{\"hello\":1}", "unknown_type"), "a missing type");
    CHECK(vis("{\"type\":5}", "unknown_type"), "a type that is not a string");
    CHECK(vis("{\"type\":\"login\",\"email\":\"a\",\"password\":\"b\"}", "unknown_type"),
          "login is not a visitor frame");
    CHECK(vis("{\"type\":\"status\",\"status\":\"online\"}", "unknown_type"),
          "status is not a visitor frame");
    CHECK(vis("{\"type\":\"close\",\"conversation\":\"" CONV "\"}", "unknown_type"),
          "close is not a visitor frame");
    CHECK(vis("{\"type\":\"ping\"}", "ok"), "ping");
}

static void test_login_state(void)
{
    CHECK(code_is("{\"type\":\"send\",\"conversation\":\"x\",\"client_id\":\"y\",\"text\":\"z\"}",
                  GW_ROLE_VISITOR, GW_AUTH_NONE, "not_authenticated"),
          "send before hello is not_authenticated (before field checks)");
    CHECK(code_is("{\"type\":\"ping\"}", GW_ROLE_VISITOR, GW_AUTH_NONE, "ok"), "ping before hello");
    CHECK(code_is("{\"type\":\"sync\",\"conversation\":\"" CONV "\"}", GW_ROLE_VISITOR,
                  GW_AUTH_PENDING, "not_authenticated"), "sync while hello is pending");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"x\"}", GW_ROLE_VISITOR, GW_AUTH_DONE,
                  "already_authenticated"), "a second hello (before field checks)");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"" SITE "\"}", GW_ROLE_VISITOR, GW_AUTH_PENDING,
                  "already_authenticated"), "a hello while one is pending");
    CHECK(code_is("{\"type\":\"login\",\"email\":\"a\",\"password\":\"b\"}", GW_ROLE_OPERATOR,
                  GW_AUTH_DONE, "already_authenticated"), "a second login");
    CHECK(code_is("{\"type\":\"status\",\"status\":\"away\"}", GW_ROLE_OPERATOR, GW_AUTH_NONE,
                  "not_authenticated"), "status before login");
}

static void test_visitor_hello(void)
{
    gw_frame_t f;
    const char *text = "{\"type\":\"hello\",\"site\":\"" SITE "\",\"token\":\"tok\","
                       "\"page\":{\"url\":\"https://shop/cart\",\"title\":\"Cart\","
                       "\"referrer\":\"https://g/\",\"language\":\"ru-RU\",\"extra\":1}}";
    CHECK(strcmp(parse_as(text, GW_ROLE_VISITOR, GW_AUTH_NONE, &f), "ok") == 0, "a full hello");
    CHECK(f.kind == GW_REQ_VISITOR_HELLO && strcmp(f.site, SITE) == 0 && strcmp(f.token, "tok") == 0,
          "hello fields");
    CHECK(strcmp(f.page_url, "https://shop/cart") == 0 && strcmp(f.page_language, "ru-RU") == 0,
          "page fields");
    CHECK(strcmp(f.ref, "hello") == 0 && strcmp(f.arg, SITE) == 0, "ref is the type, arg the site");
    gw_identity_t id = { "gw-1", "42", "10.0.0.9", "", "", "", "Mozilla/5.0" };
    CHECK(strcmp(gw_frame_shard(&f, &id), SITE) == 0, "hello is sharded by site");
    size_t len = 0;
    uint8_t *buf = gw_frame_pack(&f, &id, &len);
    Beseda__RouterRequest *req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_VISITOR_HELLO, "packs a VisitorHello");
    if (req) {
        CHECK(strcmp(req->gateway_id, "gw-1") == 0 && strcmp(req->conn_id, "42") == 0
              && strcmp(req->ip, "10.0.0.9") == 0, "the request carries gateway, connection and ip");
        CHECK(strcmp(req->visitor_hello->site_id, SITE) == 0
              && strcmp(req->visitor_hello->token, "tok") == 0
              && strcmp(req->visitor_hello->page->title, "Cart") == 0
              && strcmp(req->visitor_hello->page->user_agent, "Mozilla/5.0") == 0,
              "hello body with page and the handshake's user agent");
        beseda__router_request__free_unpacked(req, NULL);
    }
    free(buf);
    gw_frame_clear(&f);

    CHECK(code_is("{\"type\":\"hello\"}", GW_ROLE_VISITOR, GW_AUTH_NONE, "missing_field"),
          "hello without site");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"not-a-uuid\"}", GW_ROLE_VISITOR, GW_AUTH_NONE,
                  "no_such_site"), "a site that is not a UUID cannot exist");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"" SITE "\",\"token\":7}", GW_ROLE_VISITOR,
                  GW_AUTH_NONE, "missing_field"), "a token of the wrong type");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"" SITE "\",\"token\":null}", GW_ROLE_VISITOR,
                  GW_AUTH_NONE, "ok"), "a null token counts as absent");
    CHECK(code_is("{\"type\":\"hello\",\"site\":\"" SITE "\",\"page\":\"x\"}", GW_ROLE_VISITOR,
                  GW_AUTH_NONE, "missing_field"), "a page that is not an object");
    char *big = repeat("a", 2049);
    char text2[4096];
    snprintf(text2, sizeof text2, "{\"type\":\"hello\",\"site\":\"" SITE "\",\"token\":\"%s\"}", big);
    CHECK(code_is(text2, GW_ROLE_VISITOR, GW_AUTH_NONE, "field_too_long"), "a token over 2 KiB");
    snprintf(text2, sizeof text2, "{\"type\":\"hello\",\"site\":\"" SITE "\",\"page\":{\"url\":\"%s\"}}", big);
    CHECK(code_is(text2, GW_ROLE_VISITOR, GW_AUTH_NONE, "field_too_long"), "a page url over 2 KiB");
    free(big);
}

static void test_send(void)
{
    gw_frame_t f;
    const char *ok = "{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"v-1\",\"text\":\"Hi\"}";
    CHECK(strcmp(parse_as(ok, GW_ROLE_VISITOR, GW_AUTH_DONE, &f), "ok") == 0, "a good send");
    CHECK(f.kind == GW_REQ_SEND && strcmp(f.ref, "v-1") == 0 && strcmp(f.arg, CONV) == 0,
          "send: ref is the client_id, arg the conversation");
    gw_identity_t id = { "gw", "1", "ip", SITE, VIS, "", "" };
    CHECK(strcmp(gw_frame_shard(&f, &id), CONV) == 0, "send is sharded by conversation");
    size_t len = 0;
    uint8_t *buf = gw_frame_pack(&f, &id, &len);
    Beseda__RouterRequest *req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_SEND
          && strcmp(req->send->conversation_id, CONV) == 0
          && strcmp(req->send->client_msg_id, "v-1") == 0 && strcmp(req->send->text, "Hi") == 0
          && strcmp(req->site_id, SITE) == 0 && strcmp(req->visitor_id, VIS) == 0,
          "packs SendMessage with the bound identity");
    CHECK(req && req->deadline_unix_ms == 0, "no deadline unless given");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    buf = gw_frame_pack_until(&f, &id, 1700000000123, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->deadline_unix_ms == 1700000000123 && req->body_case == BESEDA__ROUTER_REQUEST__BODY_SEND,
          "the gateway's deadline travels with the request");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);

    CHECK(vis("{\"type\":\"send\",\"text\":\"no conversation\"}", "missing_field"), "missing fields");
    CHECK(vis("{\"type\":\"send\",\"conversation\":5,\"client_id\":\"x\",\"text\":\"hi\"}",
              "missing_field"), "a conversation of the wrong type");
    CHECK(vis("{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"\",\"text\":\"hi\"}",
              "missing_field"), "an empty client_id");
    char *cid65 = repeat("x", 65), *cid64u = repeat("я", 64), text[40000];
    snprintf(text, sizeof text, "{\"type\":\"send\",\"conversation\":\"c\",\"client_id\":\"%s\",\"text\":\"hi\"}", cid65);
    CHECK(vis(text, "field_too_long"), "a client_id of 65 characters");
    snprintf(text, sizeof text, "{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"%s\",\"text\":\"hi\"}", cid64u);
    CHECK(vis(text, "ok"), "64 two-byte characters are a good client_id");
    free(cid65);
    free(cid64u);
    CHECK(vis("{\"type\":\"send\",\"conversation\":\"not-a-uuid\",\"client_id\":\"x\",\"text\":\"hi\"}",
              "no_conversation"), "a conversation that is not a UUID");
    char *long_text = repeat("я", 4097);
    snprintf(text, sizeof text, "{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"long\",\"text\":\"%s\"}", long_text);
    CHECK(strcmp(parse_as(text, GW_ROLE_VISITOR, GW_AUTH_DONE, &f), "text_too_long") == 0
          && strcmp(f.ref, "long") == 0, "text over 8 KiB (bytes) is text_too_long with the ref");
    gw_frame_clear(&f);
    free(long_text);
    long_text = repeat("я", 4096);
    snprintf(text, sizeof text, "{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"l\",\"text\":\"%s\"}", long_text);
    CHECK(vis(text, "ok"), "exactly 8 KiB of text is fine");
    free(long_text);
    CHECK(vis("{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"e\",\"text\":\"  \\u00a0\\n\"}",
              "empty_text"), "whitespace-only text is empty_text");
    CHECK(vis("{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"e\",\"text\":\"\"}",
              "empty_text"), "empty text is empty_text");
    CHECK(vis("{\"type\":\"send\",\"conversation\":\"" CONV "\",\"client_id\":\"e\"}", "missing_field"),
          "a send without text");
}

static void test_other_frames(void)
{
    gw_frame_t f;
    CHECK(strcmp(parse_as("{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"after\":12}",
                          GW_ROLE_VISITOR, GW_AUTH_DONE, &f), "ok") == 0 && f.after == 12,
          "sync with after");
    gw_identity_t id = { "gw", "1", "ip", SITE, VIS, "", "" };
    size_t len = 0;
    uint8_t *buf = gw_frame_pack(&f, &id, &len);
    Beseda__RouterRequest *req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->sync->after_seq == 12 && req->sync->limit == GW_SYNC_LIMIT, "packs Sync");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
    CHECK(vis("{\"type\":\"sync\",\"conversation\":\"" CONV "\"}", "ok"), "sync without after");
    CHECK(vis("{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"after\":-1}", "bad_value"),
          "a negative after");
    CHECK(vis("{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"after\":\"3\"}", "missing_field"),
          "an after that is not an integer");

    CHECK(strcmp(parse_as("{\"type\":\"typing\",\"conversation\":\"" CONV "\",\"text\":\"I would\"}",
                          GW_ROLE_VISITOR, GW_AUTH_DONE, &f), "ok") == 0, "visitor typing");
    buf = gw_frame_pack(&f, &id, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && strcmp(req->typing->text, "I would") == 0, "a visitor's draft travels");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
    gw_identity_t op = { "gw", "2", "ip", SITE, "", "op-1", "" };
    parse_as("{\"type\":\"typing\",\"conversation\":\"" CONV "\",\"text\":\"secret draft\"}",
             GW_ROLE_OPERATOR, GW_AUTH_DONE, &f);
    buf = gw_frame_pack(&f, &op, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && strcmp(req->typing->text, "") == 0, "an operator's draft is dropped");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
    CHECK(vis("{\"type\":\"typing\",\"conversation\":\"" CONV "\"}", "ok"), "typing without text");
    CHECK(vis("{\"type\":\"typing\",\"conversation\":\"" CONV "\",\"text\":\"\"}", "ok"),
          "typing with an emptied input");

    CHECK(strcmp(parse_as("{\"type\":\"status\",\"status\":\"away\"}", GW_ROLE_OPERATOR,
                          GW_AUTH_DONE, &f), "ok") == 0 && strcmp(f.arg, "away") == 0
          && strcmp(gw_frame_shard(&f, &op), SITE) == 0, "status away, sharded by the operator's site");
    gw_frame_clear(&f);
    CHECK(ops("{\"type\":\"status\",\"status\":\"sleeping\"}", "bad_value"), "an unknown status");
    CHECK(ops("{\"type\":\"status\"}", "missing_field"), "status without a status");
    CHECK(strcmp(parse_as("{\"type\":\"history\",\"visitor\":\"" VIS "\"}", GW_ROLE_OPERATOR,
                          GW_AUTH_DONE, &f), "ok") == 0 && strcmp(f.arg, VIS) == 0, "history");
    gw_frame_clear(&f);
    CHECK(ops("{\"type\":\"history\",\"visitor\":\"bob\"}", "bad_value"), "history of a non-UUID");
    CHECK(ops("{\"type\":\"close\",\"conversation\":\"" CONV "\"}", "ok"), "close");
    CHECK(ops("{\"type\":\"close\"}", "missing_field"), "close without a conversation");

    CHECK(strcmp(parse_as("{\"type\":\"hello\",\"session\":\"s3cr3t\"}", GW_ROLE_OPERATOR,
                          GW_AUTH_NONE, &f), "ok") == 0 && f.kind == GW_REQ_OPERATOR_RESUME
          && strcmp(f.session, "s3cr3t") == 0, "operator hello resumes a session");
    gw_identity_t anon = { "gw", "77", "ip", "", "", "", "" };
    CHECK(strcmp(gw_frame_shard(&f, &anon), "77") == 0, "login/resume are sharded by connection");
    gw_frame_clear(&f);
    CHECK(code_is("{\"type\":\"hello\"}", GW_ROLE_OPERATOR, GW_AUTH_NONE, "missing_field"),
          "operator hello without session");
    CHECK(strcmp(parse_as("{\"type\":\"login\",\"email\":\"a@b\",\"password\":\"pw\"}",
                          GW_ROLE_OPERATOR, GW_AUTH_NONE, &f), "ok") == 0
          && f.kind == GW_REQ_OPERATOR_LOGIN, "login");
    buf = gw_frame_pack(&f, &anon, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && strcmp(req->operator_login->email, "a@b") == 0
          && strcmp(req->operator_login->password, "pw") == 0, "packs OperatorLogin");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
    CHECK(code_is("{\"type\":\"login\",\"email\":\"a@b\"}", GW_ROLE_OPERATOR, GW_AUTH_NONE,
                  "missing_field"), "login without password");

    buf = gw_pack_presence_beat(&op, "", &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_PRESENCE_BEAT
          && strcmp(req->presence_beat->status, "online") == 0
          && strcmp(req->operator_id, "op-1") == 0, "a presence beat defaults to online");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    buf = gw_pack_operator_gone(&op, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_OPERATOR_GONE, "operator gone");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
}

/* ------------------------------------------------------------ JSON out */

static json_t *load(char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return j;
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
    json_t *v = json_object_get(o, path1);
    if (path2)
        v = json_object_get(v, path2);
    return json_is_string(v) ? json_string_value(v) : "(none)";
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void test_replies(void)
{
    Beseda__RouterReply r = BESEDA__ROUTER_REPLY__INIT;
    r.error_code = "forbidden";
    r.error_message = "";
    json_t *j = load(gw_reply_json(GW_ROLE_VISITOR, GW_REQ_SEND, "v-9", CONV, &r));
    CHECK(j && strcmp(str(j, "type", NULL), "error") == 0 && strcmp(str(j, "code", NULL), "forbidden") == 0
          && strcmp(str(j, "ref", NULL), "v-9") == 0 && strlen(str(j, "message", NULL)) > 0,
          "an error reply names code, message and ref");
    json_decref(j);
    CHECK(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_PRESENCE_BEAT, "", "", &r) == NULL,
          "presence errors are not shown to the client");

    Beseda__ConversationInfo conv = BESEDA__CONVERSATION_INFO__INIT;
    conv.id = CONV;
    conv.state = "assigned";
    conv.last_seq = 7;
    conv.operator_id = "op-1";
    conv.operator_name = "Anna";
    conv.visitor_id = VIS;
    Beseda__VisitorWelcome w = BESEDA__VISITOR_WELCOME__INIT;
    w.visitor_id = VIS;
    w.token = "tok";
    w.site_name = "Demo shop";
    w.operators_online = 2;
    w.conversation = &conv;
    r.error_code = "";
    r.body_case = BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME;
    r.visitor_welcome = &w;
    j = load(gw_reply_json(GW_ROLE_VISITOR, GW_REQ_VISITOR_HELLO, "hello", SITE, &r));
    json_t *c = json_object_get(j, "conversation");
    CHECK(j && strcmp(str(j, "type", NULL), "welcome") == 0 && strcmp(str(j, "token", NULL), "tok") == 0
          && strcmp(str(j, "site_name", NULL), "Demo shop") == 0 && num(j, "operators_online") == 2
          && strcmp(str(j, "visitor_id", NULL), VIS) == 0, "visitor welcome");
    CHECK(c && strcmp(str(c, "id", NULL), CONV) == 0 && strcmp(str(c, "state", NULL), "assigned") == 0
          && num(c, "last_seq") == 7 && strcmp(str(c, "operator", "name"), "Anna") == 0
          && !json_object_get(c, "visitor_id"), "the visitor's conversation, with its operator");
    json_decref(j);
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_SEND, "x", CONV, &r));
    CHECK(j && strcmp(str(j, "code", NULL), "internal") == 0, "a reply of the wrong kind is answered with error internal");
    json_decref(j);

    Beseda__OperatorInfo info = BESEDA__OPERATOR_INFO__INIT;
    info.id = "op-1";
    info.name = "Anna";
    info.email = "anna@demo";
    info.site_id = SITE;
    info.max_chats = 5;
    Beseda__PageInfo page = BESEDA__PAGE_INFO__INIT;
    page.url = "https://shop/cart";
    conv.page = &page;
    Beseda__ConversationInfo *list[] = { &conv };
    Beseda__OperatorWelcome ow = BESEDA__OPERATOR_WELCOME__INIT;
    ow.operator_ = &info;
    ow.session = "sess";
    ow.n_conversations = 1;
    ow.conversations = list;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME;
    r.operator_welcome = &ow;
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_OPERATOR_LOGIN, "login", "", &r));
    json_t *c0 = json_array_get(json_object_get(j, "conversations"), 0);
    CHECK(j && strcmp(str(j, "session", NULL), "sess") == 0
          && strcmp(str(j, "operator", "site"), SITE) == 0
          && strcmp(str(j, "operator", "status"), "online") == 0
          && num(json_object_get(j, "operator"), "max_chats") == 5, "operator welcome");
    CHECK(c0 && strcmp(str(c0, "visitor_id", NULL), VIS) == 0
          && strcmp(str(c0, "page", "url"), "https://shop/cart") == 0
          && !json_object_get(json_object_get(c0, "page"), "title"),
          "operators see visitor and page; empty page fields are left out");
    json_decref(j);

    Beseda__Ack ack = BESEDA__ACK__INIT;
    ack.conversation_id = CONV;
    ack.client_msg_id = "v-1";
    ack.seq = 8;
    ack.ts_ms = 1700000000123;
    ack.duplicate = 1;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_ACK;
    r.ack = &ack;
    j = load(gw_reply_json(GW_ROLE_VISITOR, GW_REQ_SEND, "v-1", CONV, &r));
    CHECK(j && strcmp(str(j, "type", NULL), "ack") == 0 && num(j, "seq") == 8
          && num(j, "ts") == 1700000000123 && json_is_true(json_object_get(j, "duplicate"))
          && strcmp(str(j, "client_id", NULL), "v-1") == 0, "ack");
    json_decref(j);

    Beseda__Author author = BESEDA__AUTHOR__INIT;
    author.kind = "operator";
    author.id = "op-1";
    author.name = "Anna";
    Beseda__ChatMessage m = BESEDA__CHAT_MESSAGE__INIT;
    m.conversation_id = CONV;
    m.seq = 9;
    m.client_msg_id = "o-42";
    m.author = &author;
    m.text = "Hi!";
    m.ts_ms = 1700000001000;
    Beseda__ChatMessage *msgs[] = { &m };
    Beseda__MessageList ml = BESEDA__MESSAGE_LIST__INIT;
    ml.conversation_id = CONV;
    ml.n_messages = 1;
    ml.messages = msgs;
    ml.last_seq = 9;
    ml.more = 0;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_MESSAGES;
    r.messages = &ml;
    j = load(gw_reply_json(GW_ROLE_VISITOR, GW_REQ_SYNC, "sync", CONV, &r));
    json_t *m0 = json_array_get(json_object_get(j, "messages"), 0);
    CHECK(j && strcmp(str(j, "type", NULL), "messages") == 0 && num(j, "last_seq") == 9
          && json_is_false(json_object_get(j, "more")), "messages");
    CHECK(m0 && !json_object_get(m0, "type") && num(m0, "seq") == 9
          && strcmp(str(m0, "author", "name"), "Anna") == 0 && strcmp(str(m0, "text", NULL), "Hi!") == 0
          && strcmp(str(m0, "client_id", NULL), "o-42") == 0, "message objects without type");
    json_decref(j);

    Beseda__ConversationHistory ch = BESEDA__CONVERSATION_HISTORY__INIT;
    ch.conversation = &conv;
    ch.n_messages = 1;
    ch.messages = msgs;
    Beseda__ConversationHistory *chs[] = { &ch };
    Beseda__HistoryList hl = BESEDA__HISTORY_LIST__INIT;
    hl.n_conversations = 1;
    hl.conversations = chs;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_HISTORY;
    r.history = &hl;
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_HISTORY, "history", VIS, &r));
    json_t *h0 = json_array_get(json_object_get(j, "conversations"), 0);
    CHECK(j && strcmp(str(j, "visitor", NULL), VIS) == 0 && h0
          && strcmp(str(h0, "conversation", "id"), CONV) == 0
          && json_array_size(json_object_get(h0, "messages")) == 1, "history");
    json_decref(j);

    Beseda__Empty empty = BESEDA__EMPTY__INIT;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_OK;
    r.ok = &empty;
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_STATUS, "status", "away", &r));
    CHECK(j && strcmp(str(j, "type", NULL), "ok") == 0 && strcmp(str(j, "ref", NULL), "status") == 0,
          "ok for status");
    json_decref(j);
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_CLOSE, "close", CONV, &r));
    CHECK(j && strcmp(str(j, "ref", NULL), "close") == 0
          && strcmp(str(j, "conversation", NULL), CONV) == 0, "ok for close names the conversation");
    json_decref(j);
    CHECK(gw_reply_json(GW_ROLE_VISITOR, GW_REQ_TYPING, "typing", CONV, &r) == NULL,
          "typing gets no answer when it worked");

    j = load(gw_error_json("unavailable", NULL, "c-17"));
    CHECK(j && strcmp(str(j, "code", NULL), "unavailable") == 0
          && strlen(str(j, "message", NULL)) > 0 && strcmp(str(j, "ref", NULL), "c-17") == 0,
          "a gateway error has a default message");
    json_decref(j);
    j = load(gw_error_json("bad_json", "frame is not a JSON object", ""));
    CHECK(j && !json_object_get(j, "ref"), "no ref when none could be read");
    json_decref(j);
    j = load(gw_simple_json("reconnect"));
    CHECK(j && strcmp(str(j, "type", NULL), "reconnect") == 0 && json_object_size(j) == 1,
          "reconnect frame");
    json_decref(j);
}

static void test_deliveries(void)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    Beseda__Author visitor = BESEDA__AUTHOR__INIT, op = BESEDA__AUTHOR__INIT;
    visitor.kind = "visitor";
    visitor.id = VIS;
    op.kind = "operator";
    op.id = "op-1";
    op.name = "Anna";
    Beseda__TypingEvent t = BESEDA__TYPING_EVENT__INIT;
    t.conversation_id = CONV;
    t.author = &visitor;
    t.text = "And the blu";
    d.body_case = BESEDA__DELIVERY__BODY_TYPING;
    d.typing = &t;
    json_t *j = load(gw_delivery_json(&d, GW_ROLE_OPERATOR));
    CHECK(j && strcmp(str(j, "type", NULL), "typing") == 0
          && strcmp(str(j, "text", NULL), "And the blu") == 0
          && strcmp(str(j, "author", "kind"), "visitor") == 0, "operators see the visitor's draft");
    json_decref(j);
    CHECK(gw_delivery_json(&d, GW_ROLE_VISITOR) == NULL, "visitors are not told they type");
    t.author = &op;
    t.text = "draft";
    j = load(gw_delivery_json(&d, GW_ROLE_VISITOR));
    CHECK(j && !json_object_get(j, "text") && strcmp(str(j, "author", "name"), "Anna") == 0,
          "visitors see the operator typing, never the draft");
    json_decref(j);
    CHECK(gw_delivery_json(&d, GW_ROLE_OPERATOR) == NULL, "operators are not told they type");

    Beseda__ChatMessage m = BESEDA__CHAT_MESSAGE__INIT;
    m.conversation_id = CONV;
    m.seq = 3;
    m.client_msg_id = "v-3";
    m.text = "hello";
    d.body_case = BESEDA__DELIVERY__BODY_MESSAGE;
    d.message = &m;
    j = load(gw_delivery_json(&d, GW_ROLE_VISITOR));
    CHECK(j && strcmp(str(j, "type", NULL), "message") == 0 && num(j, "seq") == 3
          && strcmp(str(j, "author", "kind"), "system") == 0, "message (no author: system)");
    json_decref(j);

    Beseda__ConversationInfo conv = BESEDA__CONVERSATION_INFO__INIT;
    conv.id = CONV;
    conv.state = "closed";
    conv.visitor_id = VIS;
    d.body_case = BESEDA__DELIVERY__BODY_CONVERSATION;
    d.conversation = &conv;
    j = load(gw_delivery_json(&d, GW_ROLE_VISITOR));
    CHECK(j && strcmp(str(j, "conversation", "state"), "closed") == 0
          && !json_object_get(json_object_get(j, "conversation"), "visitor_id")
          && !json_object_get(json_object_get(j, "conversation"), "operator"),
          "conversation state for a visitor");
    json_decref(j);
    j = load(gw_delivery_json(&d, GW_ROLE_OPERATOR));
    CHECK(j && strcmp(str(j, "conversation", "visitor_id"), VIS) == 0, "... and for an operator");
    json_decref(j);
    d.body_case = BESEDA__DELIVERY__BODY_ASSIGNED;
    d.assigned = &conv;
    j = load(gw_delivery_json(&d, GW_ROLE_OPERATOR));
    CHECK(j && strcmp(str(j, "type", NULL), "assigned") == 0, "assigned");
    json_decref(j);
    CHECK(gw_delivery_json(&d, GW_ROLE_VISITOR) == NULL, "assigned is for operators only");
    Beseda__OperatorsOnline oo = BESEDA__OPERATORS_ONLINE__INIT;
    oo.count = 0;
    d.body_case = BESEDA__DELIVERY__BODY_OPERATORS_ONLINE;
    d.operators_online = &oo;
    j = load(gw_delivery_json(&d, GW_ROLE_VISITOR));
    CHECK(j && strcmp(str(j, "type", NULL), "operators") == 0 && json_is_integer(json_object_get(j, "online"))
          && num(j, "online") == 0, "operators online");
    json_decref(j);
    d.body_case = BESEDA__DELIVERY__BODY__NOT_SET;
    CHECK(gw_delivery_json(&d, GW_ROLE_VISITOR) == NULL, "an empty delivery is ignored");
}

static void test_canonical_ids(void)
{
    gw_frame_t f;
    const char *send = "{\"type\":\"send\",\"conversation\":\"C0000000-0000-4000-8000-00000000000A\","
                       "\"client_id\":\"x\",\"text\":\"hi\"}";
    CHECK(strcmp(parse_as(send, GW_ROLE_VISITOR, GW_AUTH_DONE, &f), "ok") == 0, "an upper-case id parses");
    CHECK(strcmp(f.conversation, "c0000000-0000-4000-8000-00000000000a") == 0,
          "a conversation id is lower-cased (one shard key, one topic)");
    gw_frame_clear(&f);
    const char *hello = "{\"type\":\"hello\",\"site\":\"5D1C0000-0000-4000-8000-0000000000FF\"}";
    CHECK(strcmp(parse_as(hello, GW_ROLE_VISITOR, GW_AUTH_NONE, &f), "ok") == 0
          && strcmp(f.site, "5d1c0000-0000-4000-8000-0000000000ff") == 0, "a site id is lower-cased");
    gw_frame_clear(&f);
    const char *hist = "{\"type\":\"history\",\"visitor\":\"A0000000-0000-4000-8000-0000000000BC\"}";
    CHECK(strcmp(parse_as(hist, GW_ROLE_OPERATOR, GW_AUTH_DONE, &f), "ok") == 0
          && strcmp(f.visitor, "a0000000-0000-4000-8000-0000000000bc") == 0, "a visitor id is lower-cased");
    gw_frame_clear(&f);
}


#define OP2 "b0000000-0000-4000-8000-0000000000aa"

/* Routing, transfer, team chat and visitor-form frames: who may send them,
 * and every field rule. */
static void test_routing_frames(void)
{
    CHECK(ops("{\"type\":\"accept\",\"conversation\":\"" CONV "\"}", "ok"), "accept");
    CHECK(vis("{\"type\":\"accept\",\"conversation\":\"" CONV "\"}", "unknown_type"),
          "a visitor cannot accept");
    CHECK(ops("{\"type\":\"accept\"}", "missing_field"), "accept needs the conversation");

    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_operator\":\"" OP2 "\"}", "ok"),
          "transfer to an operator");
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_group\":\"sales-1\",\"note\":\"VIP\\nsecond line\"}", "ok"),
          "transfer to a group with a note");
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\"}", "missing_field"),
          "transfer to nobody");
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_operator\":\"" OP2 "\",\"to_group\":\"x\"}", "bad_value"),
          "transfer to both");
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_operator\":\"anna\"}", "bad_value"),
          "an operator that is no UUID");
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_group\":\"Sales Dept\"}", "bad_value"),
          "a group id with capitals and spaces");
    char *note = repeat("\xd0\xb6", GW_NOTE_MAX_CHARS + 1);
    char frame[GW_NOTE_MAX_CHARS * 2 + 256];
    snprintf(frame, sizeof frame, "{\"type\":\"transfer\",\"conversation\":\"" CONV
             "\",\"to_group\":\"sales\",\"note\":\"%s\"}", note);
    CHECK(ops(frame, "field_too_long"), "a note over 2000 characters");
    note[strlen(note) - 2] = 0;
    snprintf(frame, sizeof frame, "{\"type\":\"transfer\",\"conversation\":\"" CONV
             "\",\"to_group\":\"sales\",\"note\":\"%s\"}", note);
    CHECK(ops(frame, "ok"), "a note of 2000 two-byte characters");
    free(note);
    CHECK(ops("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_group\":\"s\",\"note\":\"a\\u0001\"}", "bad_value"),
          "a control character in the note");

    CHECK(ops("{\"type\":\"team_send\",\"client_id\":\"t1\",\"text\":\"who is free?\"}", "ok"), "team_send");
    CHECK(ops("{\"type\":\"team_send\",\"text\":\"no id\"}", "missing_field"), "team_send needs a client id");
    CHECK(ops("{\"type\":\"team_send\",\"client_id\":\"t1\",\"text\":\"  \"}", "empty_text"), "blank team text");
    CHECK(vis("{\"type\":\"team_send\",\"client_id\":\"t1\",\"text\":\"hi\"}", "unknown_type"),
          "visitors have no team chat");
    CHECK(ops("{\"type\":\"team_sync\",\"after\":3}", "ok"), "team_sync");
    CHECK(ops("{\"type\":\"team_sync\",\"after\":-3}", "bad_value"), "team_sync with a negative after");
    CHECK(ops("{\"type\":\"status\",\"status\":\"busy\"}", "ok"), "busy is a status");
    CHECK(ops("{\"type\":\"status\",\"status\":\"offline\"}", "bad_value"), "offline is not set by a frame");

    CHECK(vis("{\"type\":\"survey\",\"name\":\"Ivan\",\"email\":\"i@x.ru\",\"answer\":\"Buy\"}", "ok"), "survey");
    CHECK(vis("{\"type\":\"survey\",\"email\":\"not an address\"}", "bad_value"), "a survey e-mail without @");
    CHECK(vis("{\"type\":\"survey\",\"email\":\"a@b@c\"}", "bad_value"), "two @");
    CHECK(vis("{\"type\":\"survey\",\"email\":\"x@y.ru\\r\\nBcc: all@z\"}", "bad_value"),
          "a header injection through the e-mail");
    CHECK(vis("{\"type\":\"survey\",\"name\":\"Ivan\\u0007\"}", "bad_value"), "a control character in the name");
    CHECK(ops("{\"type\":\"survey\",\"name\":\"Ivan\"}", "unknown_type"), "operators fill no survey");
    CHECK(vis("{\"type\":\"offline\",\"client_id\":\"o1\",\"email\":\"i@x.ru\",\"text\":\"call me\"}", "ok"), "offline");
    CHECK(vis("{\"type\":\"offline\",\"client_id\":\"o1\",\"email\":\"i@x.ru\"}", "missing_field"), "offline needs text");
    CHECK(vis("{\"type\":\"offline\",\"email\":\"i@x.ru\",\"text\":\"x\"}", "missing_field"), "offline needs a client id");
    CHECK(vis("{\"type\":\"transcript\",\"conversation\":\"" CONV "\",\"email\":\"i@x.ru\"}", "ok"), "transcript");
    CHECK(vis("{\"type\":\"transcript\",\"conversation\":\"" CONV "\"}", "missing_field"), "transcript needs an address");

    gw_frame_t f;
    gw_identity_t id = { "gw", "1", "ip", SITE, "", "op-1", "" };
    CHECK(strcmp(parse_as("{\"type\":\"transfer\",\"conversation\":\"" CONV "\",\"to_operator\":\"B0000000-0000-4000-8000-0000000000AA\",\"note\":\"n\"}",
                          GW_ROLE_OPERATOR, GW_AUTH_DONE, &f), "ok") == 0, "transfer parses");
    size_t len = 0;
    uint8_t *buf = gw_frame_pack(&f, &id, &len);
    Beseda__RouterRequest *req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_TRANSFER
          && strcmp(req->transfer->to_operator_id, OP2) == 0
          && strcmp(req->transfer->conversation_id, CONV) == 0
          && strcmp(req->transfer->note, "n") == 0
          && strcmp(gw_frame_shard(&f, &id), CONV) == 0, "packs Transfer, lower-cased, sharded by conversation");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
    CHECK(strcmp(parse_as("{\"type\":\"team_send\",\"client_id\":\"t9\",\"text\":\"hi\"}",
                          GW_ROLE_OPERATOR, GW_AUTH_DONE, &f), "ok") == 0
          && strcmp(f.ref, "t9") == 0, "a team_send's ref is its client id");
    buf = gw_frame_pack(&f, &id, &len);
    req = buf ? beseda__router_request__unpack(NULL, len, buf) : NULL;
    CHECK(req && req->body_case == BESEDA__ROUTER_REQUEST__BODY_TEAM_SEND
          && strcmp(gw_frame_shard(&f, &id), SITE) == 0, "packs TeamSend, sharded by site");
    if (req)
        beseda__router_request__free_unpacked(req, NULL);
    free(buf);
    gw_frame_clear(&f);
}

/* Operator-only deliveries never reach visitors; the note never does. */
static void test_routing_deliveries(void)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    Beseda__ConversationInfo c = BESEDA__CONVERSATION_INFO__INIT;
    Beseda__Author by = BESEDA__AUTHOR__INIT;
    by.kind = "operator";
    by.id = "op-1";
    by.name = "Anna";
    c.id = CONV;
    c.state = "assigned";
    c.operator_id = OP2;
    c.operator_name = "Boris";
    c.note = "secret note";
    c.transferred_by = &by;
    c.rule = "Buyers";
    d.body_case = BESEDA__DELIVERY__BODY_CONVERSATION;
    d.conversation = &c;
    char *v = gw_delivery_json(&d, GW_ROLE_VISITOR);
    CHECK(v && !strstr(v, "secret") && !strstr(v, "transferred_by") && !strstr(v, "Buyers"),
          "a visitor's conversation has no note, sender or rule");
    free(v);
    char *o = gw_delivery_json(&d, GW_ROLE_OPERATOR);
    CHECK(o && strstr(o, "\"note\":\"secret note\"") && strstr(o, "\"transferred_by\"")
          && strstr(o, "\"rule\":\"Buyers\""), "an operator's has them");
    free(o);

    d.body_case = BESEDA__DELIVERY__BODY_RING;
    d.ring = &c;
    CHECK(gw_delivery_json(&d, GW_ROLE_VISITOR) == NULL, "visitors never ring");
    o = gw_delivery_json(&d, GW_ROLE_OPERATOR);
    CHECK(o && strstr(o, "\"type\":\"ring\""), "ring");
    free(o);
    Beseda__RingEnd e = BESEDA__RING_END__INIT;
    e.conversation_id = CONV;
    e.reason = "taken";
    e.operator_id = OP2;
    e.operator_name = "Boris";
    d.body_case = BESEDA__DELIVERY__BODY_RING_END;
    d.ring_end = &e;
    o = gw_delivery_json(&d, GW_ROLE_OPERATOR);
    CHECK(o && strstr(o, "\"reason\":\"taken\"") && strstr(o, "\"name\":\"Boris\""), "ring_end");
    free(o);
    Beseda__TeamMessage m = BESEDA__TEAM_MESSAGE__INIT;
    m.seq = 4;
    m.client_msg_id = "t1";
    m.author = &by;
    m.text = "team only";
    d.body_case = BESEDA__DELIVERY__BODY_TEAM_MESSAGE;
    d.team_message = &m;
    CHECK(gw_delivery_json(&d, GW_ROLE_VISITOR) == NULL, "visitors never get the team chat");
    o = gw_delivery_json(&d, GW_ROLE_OPERATOR);
    CHECK(o && strstr(o, "\"type\":\"team_message\"") && strstr(o, "\"seq\":4"), "team_message");
    free(o);
    Beseda__OperatorsOnline online = BESEDA__OPERATORS_ONLINE__INIT;
    online.count = 2;
    d.body_case = BESEDA__DELIVERY__BODY_OPERATORS_ONLINE;
    d.operators_online = &online;
    CHECK(gw_delivery_json(&d, GW_ROLE_OPERATOR) == NULL, "consoles do not get the visitors' online count");
}

/* A request id (`req`) on any frame comes back in its answer and its
 * error; an error about a conversation names it. */
static void test_request_ids(void)
{
    gw_frame_t f;
    CHECK(strcmp(parse_as("{\"type\":\"close\",\"conversation\":\"" CONV "\",\"req\":\"r-1\"}",
                          GW_ROLE_OPERATOR, GW_AUTH_DONE, &f), "ok") == 0
          && strcmp(f.req, "r-1") == 0 && strcmp(f.conversation, CONV) == 0,
          "close with a request id");
    gw_frame_clear(&f);
    CHECK(strcmp(parse_as("{\"type\":\"accept\",\"conversation\":\"nope\",\"req\":\"r-2\"}",
                          GW_ROLE_OPERATOR, GW_AUTH_DONE, &f), "no_conversation") == 0
          && strcmp(f.req, "r-2") == 0 && strcmp(f.conversation, "") == 0,
          "a refused frame keeps its request id, not an id that cannot exist");
    gw_frame_clear(&f);
    CHECK(strcmp(parse_as("{\"type\":\"nonsense\",\"req\":\"r-3\"}", GW_ROLE_OPERATOR,
                          GW_AUTH_DONE, &f), "unknown_type") == 0 && strcmp(f.req, "r-3") == 0,
          "even an unknown type");
    gw_frame_clear(&f);
    CHECK(ops("{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"req\":7}", "missing_field"),
          "a request id that is not a string is refused");
    CHECK(ops("{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"req\":\"\"}", "missing_field"),
          "an empty one too");
    char *long_req = repeat("r", 65);
    char text[300];
    snprintf(text, sizeof text, "{\"type\":\"ping\",\"req\":\"%s\"}", long_req);
    CHECK(ops(text, "field_too_long"), "one over 64 characters too");
    free(long_req);
    CHECK(ops("{\"type\":\"ping\",\"req\":null}", "ok"), "null is absent");

    Beseda__RouterReply r = BESEDA__ROUTER_REPLY__INIT;
    r.error_code = "forbidden";
    r.error_message = "not yours";
    json_t *j = load(gw_reply_json_req(GW_ROLE_OPERATOR, GW_REQ_CLOSE, "close", "r-1", CONV, &r));
    CHECK(j && strcmp(str(j, "code", NULL), "forbidden") == 0 && strcmp(str(j, "ref", NULL), "close") == 0
          && strcmp(str(j, "req", NULL), "r-1") == 0 && strcmp(str(j, "conversation", NULL), CONV) == 0,
          "a router error names the request id and the conversation");
    json_decref(j);
    j = load(gw_reply_json(GW_ROLE_OPERATOR, GW_REQ_ACCEPT, "accept", CONV, &r));
    CHECK(j && !json_object_get(j, "req") && strcmp(str(j, "conversation", NULL), CONV) == 0,
          "without a request id: the conversation still");
    json_decref(j);
    j = load(gw_reply_json_req(GW_ROLE_OPERATOR, GW_REQ_HISTORY, "history", "h-1", VIS, &r));
    CHECK(j && strcmp(str(j, "req", NULL), "h-1") == 0 && !json_object_get(j, "conversation"),
          "history is about a visitor, not a conversation");
    json_decref(j);

    Beseda__Empty empty = BESEDA__EMPTY__INIT;
    r.error_code = "";
    r.body_case = BESEDA__ROUTER_REPLY__BODY_OK;
    r.ok = &empty;
    j = load(gw_reply_json_req(GW_ROLE_OPERATOR, GW_REQ_CLOSE, "close", "r-\"1\u00e9", CONV, &r));
    CHECK(j && strcmp(str(j, "type", NULL), "ok") == 0 && strcmp(str(j, "req", NULL), "r-\"1\u00e9") == 0
          && strcmp(str(j, "conversation", NULL), CONV) == 0, "an ok echoes the request id (escaped)");
    json_decref(j);
    j = load(gw_with_req(gw_simple_json("pong"), "p-1"));
    CHECK(j && strcmp(str(j, "type", NULL), "pong") == 0 && strcmp(str(j, "req", NULL), "p-1") == 0,
          "pong too");
    json_decref(j);
    char *same = gw_with_req(gw_simple_json("pong"), "");
    CHECK(same && strcmp(same, "{\"type\":\"pong\"}") == 0, "no request id: the frame as it was");
    free(same);
    j = load(gw_error_json_about("rate_limited", NULL, "sync", "s-9", CONV));
    CHECK(j && strcmp(str(j, "req", NULL), "s-9") == 0 && strcmp(str(j, "conversation", NULL), CONV) == 0,
          "a gateway error names them too");
    json_decref(j);
}

int main(void)
{
    gw_limits_default(&limits);
    test_canonical_ids();
    test_shape();
    test_login_state();
    test_visitor_hello();
    test_send();
    test_other_frames();
    test_replies();
    test_deliveries();
    test_routing_frames();
    test_routing_deliveries();
    test_request_ids();
    return CHECK_DONE();
}
