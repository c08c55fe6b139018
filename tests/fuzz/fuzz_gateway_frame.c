/* Fuzz target: what the gateway runs on a received WebSocket text message
 * before anything reaches the bus (gw_server.c on_receive ->
 * gw_dispatch_message): the UTF-8 check, then gw_frame_parse (depth scan,
 * jansson, validation) for every role and login state, then the shard key
 * and the packed RouterRequest.
 *
 * Properties checked besides "no sanitizer report":
 *  - a refused frame has an error code and its error frame is valid JSON;
 *  - an accepted frame packs into a RouterRequest that unpacks to the same
 *    fields (nothing lost or truncated on the way to the router);
 *  - the depth scan lets through nothing nested deeper than the limit;
 *  - the gateway's and the store's UTF-8 validators agree (the store's also
 *    refuses NUL). */
#include "fuzz.h"
#include "gw_frame.h"
#include "utf8.h"
#include "validate.h"

static gw_limits_t limits;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    gw_limits_default(&limits);
    return 0;
}

static int json_depth(const json_t *v)
{
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *) v, key, member) {
            int d = json_depth(member);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) {
            int d = json_depth(item);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

static void check_json_text(char *text, const char *what)
{
    FUZZ_CHECK(text != NULL, what);
    FUZZ_CHECK(gw_utf8_valid((const unsigned char *) text, strlen(text)), what);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    FUZZ_CHECK(j && json_is_object(j), what);
    json_decref(j);
    free(text);
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The packed request carries exactly the frame's fields. */
static void check_round_trip(const gw_frame_t *f, const gw_identity_t *id)
{
    FUZZ_CHECK(gw_frame_shard(f, id) != NULL, "every request has a shard key");
    size_t len = 0;
    uint8_t *buf = gw_frame_pack(f, id, &len);
    FUZZ_CHECK(buf != NULL, "an accepted frame packs");
    Beseda__RouterRequest *r = beseda__router_request__unpack(NULL, len, buf);
    FUZZ_CHECK(r != NULL, "a packed request unpacks");
    FUZZ_CHECK(same(r->conn_id, id->conn_id) && same(r->site_id, id->site_id),
               "identity travels");
    switch (f->kind) {
    case GW_REQ_VISITOR_HELLO:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_VISITOR_HELLO
                   && same(r->visitor_hello->site_id, f->site)
                   && same(r->visitor_hello->token, f->token)
                   && r->visitor_hello->page
                   && same(r->visitor_hello->page->url, f->page_url)
                   && same(r->visitor_hello->page->title, f->page_title)
                   && same(r->visitor_hello->page->referrer, f->page_referrer)
                   && same(r->visitor_hello->page->language, f->page_language),
                   "hello fields");
        break;
    case GW_REQ_OPERATOR_LOGIN:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGIN
                   && same(r->operator_login->email, f->email)
                   && same(r->operator_login->password, f->password), "login fields");
        break;
    case GW_REQ_OPERATOR_RESUME:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_OPERATOR_RESUME
                   && same(r->operator_resume->session, f->session), "resume fields");
        break;
    case GW_REQ_SEND:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_SEND
                   && same(r->send->conversation_id, f->conversation)
                   && same(r->send->client_msg_id, f->client_id)
                   && same(r->send->text, f->text), "send fields");
        break;
    case GW_REQ_TYPING:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_TYPING
                   && same(r->typing->conversation_id, f->conversation), "typing fields");
        break;
    case GW_REQ_SYNC:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_SYNC
                   && same(r->sync->conversation_id, f->conversation)
                   && r->sync->after_seq == f->after, "sync fields");
        break;
    case GW_REQ_STATUS:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_SET_STATUS
                   && same(r->set_status->status, f->status), "status fields");
        break;
    case GW_REQ_HISTORY:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_HISTORY
                   && same(r->history->visitor_id, f->visitor), "history fields");
        break;
    case GW_REQ_CLOSE:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_CLOSE
                   && same(r->close->conversation_id, f->conversation), "close fields");
        break;
    case GW_REQ_LOGOUT:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_OPERATOR_LOGOUT
                   && same(r->operator_logout->session, f->session), "logout fields");
        break;
    case GW_REQ_ACCEPT:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_ACCEPT
                   && same(r->accept->conversation_id, f->conversation), "accept fields");
        break;
    case GW_REQ_TRANSFER:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_TRANSFER
                   && same(r->transfer->conversation_id, f->conversation)
                   && same(r->transfer->to_operator_id, f->to_operator)
                   && same(r->transfer->to_group, f->to_group)
                   && same(r->transfer->note, f->note)
                   && (!*f->to_operator != !*f->to_group), "transfer fields, exactly one target");
        break;
    case GW_REQ_TEAM_SEND:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_TEAM_SEND
                   && same(r->team_send->client_msg_id, f->client_id)
                   && same(r->team_send->text, f->text), "team_send fields");
        break;
    case GW_REQ_TEAM_SYNC:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_TEAM_SYNC
                   && r->team_sync->after_seq == f->after, "team_sync fields");
        break;
    case GW_REQ_SURVEY:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_SURVEY
                   && same(r->survey->name, f->name) && same(r->survey->email, f->email)
                   && same(r->survey->phone, f->phone) && same(r->survey->answer, f->answer)
                   && !strpbrk(f->email, "\r\n"), "survey fields, no line breaks in the e-mail");
        break;
    case GW_REQ_OFFLINE:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_OFFLINE
                   && same(r->offline->client_msg_id, f->client_id)
                   && same(r->offline->email, f->email) && same(r->offline->text, f->text)
                   && !strpbrk(f->email, "\r\n"), "offline fields, no line breaks in the e-mail");
        break;
    case GW_REQ_TRANSCRIPT:
        FUZZ_CHECK(r->body_case == BESEDA__ROUTER_REQUEST__BODY_TRANSCRIPT
                   && same(r->transcript->conversation_id, f->conversation)
                   && same(r->transcript->email, f->email) && *f->email, "transcript fields");
        break;
    default:
        FUZZ_CHECK(0, "an accepted frame has a request kind");
    }
    beseda__router_request__free_unpacked(r, NULL);
    free(buf);
}

static void parse_one(const uint8_t *data, size_t size, gw_role_t role, gw_auth_t auth)
{
    static const gw_identity_t ids[2] = {
        { "gw-fuzz", "17", "127.0.0.1", "5d1c0000-0000-4000-8000-000000000001",
          "a0000000-0000-4000-8000-000000000003", "", "Mozilla/5.0 \"fuzz\"" },
        { "gw-fuzz", "18", "::1", "5d1c0000-0000-4000-8000-000000000001", "",
          "b0000000-0000-4000-8000-000000000004", "" },
    };
    gw_frame_t f;
    int rc = gw_frame_parse((const char *) data, size, role, auth, &limits, &f);
    if (f.root)
        FUZZ_CHECK(json_depth(f.root) <= limits.max_depth, "depth scan lets only shallow JSON by");
    if (rc < 0) {
        FUZZ_CHECK(f.error_code && *f.error_code, "a refused frame has an error code");
        FUZZ_CHECK(f.kind == GW_REQ_NONE, "a refused frame asks for nothing");
        check_json_text(gw_error_json(f.error_code, f.error_message, f.ref), "error frame");
    } else {
        FUZZ_CHECK(f.error_code == NULL, "an accepted frame has no error code");
        if (f.kind == GW_REQ_PING)
            check_json_text(gw_simple_json("pong"), "pong frame");
        else
            check_round_trip(&f, &ids[role]);
    }
    gw_frame_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > limits.max_frame_bytes)
        return -1;     /* gw_conn_rx refuses it (frame_too_large) before any parsing */
    int valid = gw_utf8_valid(data, size);
    if (!memchr(data, 0, size))
        FUZZ_CHECK(valid == store_valid_utf8((const char *) data, size),
                   "gateway and store agree on UTF-8");
    if (!valid)
        return 0;      /* the connection is closed with 1007 */
    char *text = fuzz_cstr(data, size);
    size_t chars = beseda_utf8_chars(text);
    FUZZ_CHECK(chars <= strlen(text), "characters never outnumber bytes");
    (void) gw_text_blank(text);
    free(text);
    for (int role = GW_ROLE_VISITOR; role <= GW_ROLE_OPERATOR; role++)
        for (int auth = GW_AUTH_NONE; auth <= GW_AUTH_DONE; auth++)
            parse_one(data, size, (gw_role_t) role, (gw_auth_t) auth);
    return 0;
}
