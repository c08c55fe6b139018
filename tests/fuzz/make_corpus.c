/* Writes the seed corpora of the protobuf-fed fuzz targets into
 * tests/fuzz/corpus/<target>/ from real messages: the RouterRequests the
 * gateway packs for the example frames of docs/PROTOCOL.md, the StoreReplies
 * the store sends for them, the replies and deliveries a gateway renders,
 * the store and broker admin requests. `make fuzz-corpus` runs it; the
 * output is committed, so run it again only when proto/beseda.proto grows.
 * (The JSON seeds of gateway_frame are the protocol's frames as text.) */
#include "gw_frame.h"
#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SITE "5d1c0000-0000-4000-8000-000000000001"
#define CONV "c0000000-0000-4000-8000-000000000002"
#define VIS  "a0000000-0000-4000-8000-000000000003"
#define OPER "b0000000-0000-4000-8000-000000000004"
#define SEP  "\xfe\xfe"
/* Must match fuzz_router_request.c / fuzz_router_token.c. */
#define FUZZ_SECRET "fuzz-secret-0123456789abcdef"
#define FUZZ_NOW_S  1700000000

static const char *root = "tests/fuzz/corpus";

/* A growing byte buffer: one seed file. */
typedef struct {
    uint8_t data[65536];
    size_t len;
} seed_t;

static void add_bytes(seed_t *s, const void *p, size_t n)
{
    if (s->len + n > sizeof s->data) {
        fprintf(stderr, "seed too large\n");
        exit(1);
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

static void add_msg(seed_t *s, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        exit(1);
    protobuf_c_message_pack(m, buf);
    add_bytes(s, buf, n);
    free(buf);
}

static void write_seed(const char *target, const char *name, const seed_t *s)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(s->data, 1, s->len, f) != s->len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void write_msg(const char *target, const char *name, const ProtobufCMessage *m)
{
    seed_t s = { .len = 0 };
    add_msg(&s, m);
    write_seed(target, name, &s);
}

/* ------------------------------------------------------------ shared parts */

static Beseda__PageInfo page = BESEDA__PAGE_INFO__INIT;
static Beseda__Author visitor_author = BESEDA__AUTHOR__INIT;
static Beseda__Author operator_author = BESEDA__AUTHOR__INIT;
static Beseda__ConversationInfo conv = BESEDA__CONVERSATION_INFO__INIT;
static Beseda__ChatMessage msg = BESEDA__CHAT_MESSAGE__INIT;
static Beseda__OperatorInfo op = BESEDA__OPERATOR_INFO__INIT;

static void init_parts(void)
{
    page.url = "https://shop.example/cart";
    page.title = "Cart \"1\"";
    page.referrer = "https://search.example/";
    page.user_agent = "Mozilla/5.0";
    page.language = "en-GB";
    visitor_author.kind = "visitor";
    visitor_author.id = VIS;
    visitor_author.name = "Visitor";
    operator_author.kind = "operator";
    operator_author.id = OPER;
    operator_author.name = "Anna";
    conv.id = CONV;
    conv.site_id = SITE;
    conv.visitor_id = VIS;
    conv.operator_id = OPER;
    conv.operator_name = "Anna";
    conv.state = "assigned";
    conv.last_seq = 9;
    conv.page = &page;
    conv.created_ms = 1700000000123;
    msg.conversation_id = CONV;
    msg.seq = 8;
    msg.client_msg_id = "v-1700000000-1";
    msg.author = &visitor_author;
    msg.text = "Hello! \xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82";
    msg.ts_ms = 1700000000123;
    op.id = OPER;
    op.name = "Anna";
    op.email = "anna@demo.example";
    op.site_id = SITE;
    op.status = "online";
    op.max_chats = 5;
}

/* ---------------------------------------------------------- gateway_reply */

static void reply_seed(const char *name, gw_req_kind_t kind, const Beseda__RouterReply *r)
{
    seed_t s = { .len = 0 };
    uint8_t sel = (uint8_t) (kind << 1);
    add_bytes(&s, &sel, 1);
    add_msg(&s, &r->base);
    write_seed("gateway_reply", name, &s);
}

static void delivery_seed(const char *name, const Beseda__Delivery *d)
{
    seed_t s = { .len = 0 };
    uint8_t sel = 1;
    add_bytes(&s, &sel, 1);
    add_msg(&s, &d->base);
    write_seed("gateway_reply", name, &s);
}

static void gateway_reply_seeds(void)
{
    Beseda__ConversationInfo *convs[] = { &conv };
    Beseda__ChatMessage *msgs[] = { &msg };
    Beseda__RouterReply r = BESEDA__ROUTER_REPLY__INIT;
    Beseda__VisitorWelcome vw = BESEDA__VISITOR_WELCOME__INIT;
    vw.site_id = SITE;
    vw.visitor_id = VIS;
    vw.token = "token";
    vw.conversation = &conv;
    vw.operators_online = 2;
    vw.site_name = "Demo";
    r.body_case = BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME;
    r.visitor_welcome = &vw;
    reply_seed("visitor-welcome", GW_REQ_VISITOR_HELLO, &r);

    Beseda__OperatorWelcome ow = BESEDA__OPERATOR_WELCOME__INIT;
    ow.operator_ = &op;
    ow.session = "session";
    ow.n_conversations = 1;
    ow.conversations = convs;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME;
    r.operator_welcome = &ow;
    reply_seed("operator-welcome", GW_REQ_OPERATOR_LOGIN, &r);

    Beseda__Ack ack = BESEDA__ACK__INIT;
    ack.conversation_id = CONV;
    ack.client_msg_id = "v-1";
    ack.seq = 8;
    ack.ts_ms = 1700000000123;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_ACK;
    r.ack = &ack;
    reply_seed("ack", GW_REQ_SEND, &r);

    Beseda__MessageList ml = BESEDA__MESSAGE_LIST__INIT;
    ml.conversation_id = CONV;
    ml.n_messages = 1;
    ml.messages = msgs;
    ml.last_seq = 9;
    ml.more = 1;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_MESSAGES;
    r.messages = &ml;
    reply_seed("messages", GW_REQ_SYNC, &r);

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
    reply_seed("history", GW_REQ_HISTORY, &r);

    Beseda__Empty empty = BESEDA__EMPTY__INIT;
    r.body_case = BESEDA__ROUTER_REPLY__BODY_OK;
    r.ok = &empty;
    reply_seed("ok-close", GW_REQ_CLOSE, &r);

    Beseda__RouterReply err = BESEDA__ROUTER_REPLY__INIT;
    err.error_code = "forbidden";
    err.error_message = "not yours";
    reply_seed("error", GW_REQ_SEND, &err);

    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = SITE;
    d.body_case = BESEDA__DELIVERY__BODY_MESSAGE;
    d.message = &msg;
    delivery_seed("delivery-message", &d);
    Beseda__TypingEvent te = BESEDA__TYPING_EVENT__INIT;
    te.conversation_id = CONV;
    te.author = &visitor_author;
    te.text = "I would like to";
    d.body_case = BESEDA__DELIVERY__BODY_TYPING;
    d.typing = &te;
    delivery_seed("delivery-typing", &d);
    d.body_case = BESEDA__DELIVERY__BODY_ASSIGNED;
    d.assigned = &conv;
    d.conn_id = "17";
    delivery_seed("delivery-assigned", &d);
    d.conn_id = "";
    d.body_case = BESEDA__DELIVERY__BODY_CONVERSATION;
    d.conversation = &conv;
    delivery_seed("delivery-conversation", &d);
    Beseda__OperatorsOnline oo = BESEDA__OPERATORS_ONLINE__INIT;
    oo.count = 3;
    d.body_case = BESEDA__DELIVERY__BODY_OPERATORS_ONLINE;
    d.operators_online = &oo;
    delivery_seed("delivery-operators", &d);
}

/* ---------------------------------------------------------- router_request */

/* The RouterRequest the gateway packs for `frame`, then the store replies. */
static void router_seed(const char *name, const char *frame, gw_role_t role,
                        const Beseda__StoreReply *const *replies, size_t n)
{
    gw_limits_t limits;
    gw_limits_default(&limits);
    gw_frame_t f;
    int login = strstr(frame, "\"hello\"") || strstr(frame, "\"login\"");
    if (gw_frame_parse(frame, strlen(frame), role, login ? GW_AUTH_NONE : GW_AUTH_DONE, &limits,
                       &f) != 0) {
        fprintf(stderr, "seed frame refused: %s (%s)\n", frame, f.error_code);
        exit(1);
    }
    gw_identity_t id = { "gw-1", "17", "127.0.0.1", login ? "" : SITE,
                         login || role == GW_ROLE_OPERATOR ? "" : VIS,
                         login || role == GW_ROLE_VISITOR ? "" : OPER, "Mozilla/5.0" };
    size_t len = 0;
    uint8_t *body = gw_frame_pack(&f, &id, &len);
    gw_frame_clear(&f);
    if (!body)
        exit(1);
    seed_t s = { .len = 0 };
    add_bytes(&s, body, len);
    free(body);
    for (size_t i = 0; i < n; i++) {
        add_bytes(&s, SEP, 2);
        add_msg(&s, &replies[i]->base);
    }
    write_seed("router_request", name, &s);
}

static void router_request_seeds(void)
{
    Beseda__ConversationInfo *convs[] = { &conv };
    Beseda__ChatMessage *msgs[] = { &msg };
    unsigned char key[TOKEN_KEY_BYTES];
    token_key_derive(FUZZ_SECRET, key);
    char *token = token_sign(key, SITE, VIS, FUZZ_NOW_S);
    char frame[1024];

    Beseda__StoreVisitorHelloReply vh = BESEDA__STORE_VISITOR_HELLO_REPLY__INIT;
    vh.site_exists = 1;
    vh.site_name = "Demo";
    vh.visitor_id = VIS;
    vh.visitor_exists = 1;
    vh.open_conversation = &conv;
    Beseda__StoreReply hello = BESEDA__STORE_REPLY__INIT;
    hello.body_case = BESEDA__STORE_REPLY__BODY_VISITOR_HELLO;
    hello.visitor_hello = &vh;
    const Beseda__StoreReply *hello_r[] = { &hello };
    router_seed("hello", "{\"type\":\"hello\",\"site\":\"" SITE "\",\"page\":{\"url\":\"https://x/\"}}",
                GW_ROLE_VISITOR, hello_r, 1);
    snprintf(frame, sizeof frame, "{\"type\":\"hello\",\"site\":\"" SITE "\",\"token\":\"%s\"}",
             token ? token : "");
    router_seed("hello-token", frame, GW_ROLE_VISITOR, hello_r, 1);
    free(token);

    Beseda__StoreOperatorReply sor = BESEDA__STORE_OPERATOR_REPLY__INIT;
    sor.ok = 1;
    sor.operator_ = &op;
    sor.session = "session";
    sor.n_conversations = 1;
    sor.conversations = convs;
    Beseda__StoreReply login = BESEDA__STORE_REPLY__INIT;
    login.body_case = BESEDA__STORE_REPLY__BODY_OPERATOR;
    login.operator_ = &sor;
    Beseda__OperatorLoad load = BESEDA__OPERATOR_LOAD__INIT;
    load.operator_id = OPER;
    load.open_chats = 1;
    load.max_chats = 5;
    load.name = "Anna";
    Beseda__OperatorLoad *loads[] = { &load };
    Beseda__ConversationInfo queued = conv;
    queued.operator_id = "";
    queued.state = "queued";
    Beseda__ConversationInfo *unassigned[] = { &queued };
    Beseda__StoreSiteQueueReply sq = BESEDA__STORE_SITE_QUEUE_REPLY__INIT;
    sq.n_loads = 1;
    sq.loads = loads;
    sq.n_unassigned = 1;
    sq.unassigned = unassigned;
    Beseda__StoreReply queue = BESEDA__STORE_REPLY__INIT;
    queue.body_case = BESEDA__STORE_REPLY__BODY_SITE_QUEUE;
    queue.site_queue = &sq;
    Beseda__StoreAssignReply sa = BESEDA__STORE_ASSIGN_REPLY__INIT;
    sa.ok = 1;
    sa.applied = 1;
    sa.conversation = &conv;
    Beseda__StoreReply assign = BESEDA__STORE_REPLY__INIT;
    assign.body_case = BESEDA__STORE_REPLY__BODY_ASSIGN;
    assign.assign = &sa;
    const Beseda__StoreReply *login_r[] = { &login, &queue, &assign };
    router_seed("login", "{\"type\":\"login\",\"email\":\"anna@demo.example\",\"password\":\"pw\"}",
                GW_ROLE_OPERATOR, login_r, 3);
    router_seed("resume", "{\"type\":\"hello\",\"session\":\"session\"}", GW_ROLE_OPERATOR,
                login_r, 3);

    Beseda__StoreAppendReply ap = BESEDA__STORE_APPEND_REPLY__INIT;
    ap.status = "ok";
    ap.seq = 9;
    ap.ts_ms = 1700000000123;
    ap.conversation = &queued;
    ap.created = 1;
    Beseda__StoreReply append = BESEDA__STORE_REPLY__INIT;
    append.body_case = BESEDA__STORE_REPLY__BODY_APPEND;
    append.append = &ap;
    const Beseda__StoreReply *send_r[] = { &append, &queue, &assign };
    router_seed("send-visitor", "{\"type\":\"send\",\"conversation\":\"" CONV
                "\",\"client_id\":\"v-1\",\"text\":\"Hello!\"}", GW_ROLE_VISITOR, send_r, 3);
    router_seed("send-operator", "{\"type\":\"send\",\"conversation\":\"" CONV
                "\",\"client_id\":\"o-1\",\"text\":\"Hi\"}", GW_ROLE_OPERATOR, send_r, 1);

    Beseda__StoreReply lookup = BESEDA__STORE_REPLY__INIT;
    lookup.body_case = BESEDA__STORE_REPLY__BODY_CONVERSATION;
    lookup.conversation = &conv;
    Beseda__MessageList ml = BESEDA__MESSAGE_LIST__INIT;
    ml.conversation_id = CONV;
    ml.n_messages = 1;
    ml.messages = msgs;
    ml.last_seq = 9;
    Beseda__StoreReply fetch = BESEDA__STORE_REPLY__INIT;
    fetch.body_case = BESEDA__STORE_REPLY__BODY_MESSAGES;
    fetch.messages = &ml;
    Beseda__Empty empty = BESEDA__EMPTY__INIT;
    Beseda__StoreReply ok = BESEDA__STORE_REPLY__INIT;
    ok.body_case = BESEDA__STORE_REPLY__BODY_OK;
    ok.ok = &empty;
    const Beseda__StoreReply *typing_r[] = { &lookup };
    router_seed("typing", "{\"type\":\"typing\",\"conversation\":\"" CONV "\",\"text\":\"I wo\"}",
                GW_ROLE_VISITOR, typing_r, 1);
    const Beseda__StoreReply *sync_r[] = { &lookup, &fetch };
    router_seed("sync", "{\"type\":\"sync\",\"conversation\":\"" CONV "\",\"after\":3}",
                GW_ROLE_VISITOR, sync_r, 2);
    const Beseda__StoreReply *close_r[] = { &lookup, &ok };
    router_seed("close", "{\"type\":\"close\",\"conversation\":\"" CONV "\"}", GW_ROLE_OPERATOR,
                close_r, 2);
    const Beseda__StoreReply *logout_r[] = { &ok };
    router_seed("logout", "{\"type\":\"logout\",\"session\":\"session\"}", GW_ROLE_OPERATOR,
                logout_r, 1);
    const Beseda__StoreReply *status_r[] = { &queue, &assign };
    router_seed("status", "{\"type\":\"status\",\"status\":\"online\"}", GW_ROLE_OPERATOR,
                status_r, 2);
    Beseda__ConversationHistory ch = BESEDA__CONVERSATION_HISTORY__INIT;
    ch.conversation = &conv;
    ch.n_messages = 1;
    ch.messages = msgs;
    Beseda__ConversationHistory *chs[] = { &ch };
    Beseda__HistoryList hl = BESEDA__HISTORY_LIST__INIT;
    hl.n_conversations = 1;
    hl.conversations = chs;
    Beseda__StoreReply history = BESEDA__STORE_REPLY__INIT;
    history.body_case = BESEDA__STORE_REPLY__BODY_HISTORY;
    history.history = &hl;
    const Beseda__StoreReply *history_r[] = { &history };
    router_seed("history", "{\"type\":\"history\",\"visitor\":\"" VIS "\"}", GW_ROLE_OPERATOR,
                history_r, 1);

    gw_identity_t id = { "gw-1", "18", "::1", SITE, "", OPER, "" };
    seed_t s = { .len = 0 };
    size_t len = 0;
    uint8_t *beat = gw_pack_presence_beat(&id, "online", &len);
    if (!beat)
        exit(1);
    add_bytes(&s, beat, len);
    free(beat);
    write_seed("router_request", "presence-beat", &s);
    s.len = 0;
    uint8_t *gone = gw_pack_operator_gone(&id, &len);
    if (!gone)
        exit(1);
    add_bytes(&s, gone, len);
    free(gone);
    add_bytes(&s, SEP, 2);
    add_msg(&s, &queue.base);
    write_seed("router_request", "operator-gone", &s);
}

/* ---------------------------------------------------------- store_request */

static void store_seed(const char *name, Beseda__StoreRequest *r)
{
    r->ttl_ms = 3000;
    write_msg("store_request", name, &r->base);
}

static void store_request_seeds(void)
{
    Beseda__StoreRequest r = BESEDA__STORE_REQUEST__INIT;
    Beseda__StoreVisitorHello vh = BESEDA__STORE_VISITOR_HELLO__INIT;
    vh.site_id = SITE;
    vh.visitor_id = VIS;
    vh.page = &page;
    vh.ip = "127.0.0.1";
    r.body_case = BESEDA__STORE_REQUEST__BODY_VISITOR_HELLO;
    r.visitor_hello = &vh;
    store_seed("visitor-hello", &r);
    Beseda__StoreAppend ap = BESEDA__STORE_APPEND__INIT;
    ap.site_id = SITE;
    ap.conversation_id = CONV;
    ap.visitor_id = VIS;
    ap.author = &visitor_author;
    ap.client_msg_id = "v-1";
    ap.text = "Hello!";
    ap.epoch = 3;
    r.body_case = BESEDA__STORE_REQUEST__BODY_APPEND;
    r.append = &ap;
    store_seed("append", &r);
    Beseda__StoreFetch fe = BESEDA__STORE_FETCH__INIT;
    fe.site_id = SITE;
    fe.conversation_id = CONV;
    fe.after_seq = 2;
    fe.limit = 200;
    r.body_case = BESEDA__STORE_REQUEST__BODY_FETCH;
    r.fetch = &fe;
    store_seed("fetch", &r);
    Beseda__StoreOperatorLogin lo = BESEDA__STORE_OPERATOR_LOGIN__INIT;
    lo.email = "anna@demo.example";
    lo.password = "secret-password";
    r.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGIN;
    r.operator_login = &lo;
    store_seed("operator-login", &r);
    Beseda__StoreOperatorSession se = BESEDA__STORE_OPERATOR_SESSION__INIT;
    se.session = "c2Vzc2lvbg";
    r.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_SESSION;
    r.operator_session = &se;
    store_seed("operator-session", &r);
    Beseda__StoreOperatorLogout lg = BESEDA__STORE_OPERATOR_LOGOUT__INIT;
    lg.session = "c2Vzc2lvbg";
    lg.operator_id = OPER;
    r.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGOUT;
    r.operator_logout = &lg;
    store_seed("operator-logout", &r);
    Beseda__StoreAssign as = BESEDA__STORE_ASSIGN__INIT;
    as.site_id = SITE;
    as.conversation_id = CONV;
    as.operator_id = OPER;
    as.epoch = 3;
    as.assign_id = "d0000000-0000-4000-8000-000000000005";
    r.body_case = BESEDA__STORE_REQUEST__BODY_ASSIGN;
    r.assign = &as;
    store_seed("assign", &r);
    Beseda__StoreSiteQueue sq = BESEDA__STORE_SITE_QUEUE__INIT;
    sq.site_id = SITE;
    sq.operator_id = OPER;
    r.body_case = BESEDA__STORE_REQUEST__BODY_SITE_QUEUE;
    r.site_queue = &sq;
    store_seed("site-queue", &r);
    Beseda__StoreHistory hi = BESEDA__STORE_HISTORY__INIT;
    hi.site_id = SITE;
    hi.visitor_id = VIS;
    hi.limit = 20;
    r.body_case = BESEDA__STORE_REQUEST__BODY_HISTORY;
    r.history = &hi;
    store_seed("history", &r);
    Beseda__StoreClose cl = BESEDA__STORE_CLOSE__INIT;
    cl.site_id = SITE;
    cl.conversation_id = CONV;
    cl.epoch = 3;
    r.body_case = BESEDA__STORE_REQUEST__BODY_CLOSE;
    r.close = &cl;
    store_seed("close", &r);
    Beseda__StoreGetConversation gc = BESEDA__STORE_GET_CONVERSATION__INIT;
    gc.site_id = SITE;
    gc.conversation_id = CONV;
    r.body_case = BESEDA__STORE_REQUEST__BODY_GET_CONVERSATION;
    r.get_conversation = &gc;
    store_seed("get-conversation", &r);
    char *origins[] = { "https://shop.example", "https://www.shop.example" };
    Beseda__StoreCreateSite cs = BESEDA__STORE_CREATE_SITE__INIT;
    cs.name = "Demo";
    cs.n_origins = 2;
    cs.origins = origins;
    r.body_case = BESEDA__STORE_REQUEST__BODY_CREATE_SITE;
    r.create_site = &cs;
    store_seed("create-site", &r);
    Beseda__StoreListSites ls = BESEDA__STORE_LIST_SITES__INIT;
    r.body_case = BESEDA__STORE_REQUEST__BODY_LIST_SITES;
    r.list_sites = &ls;
    store_seed("list-sites", &r);
    Beseda__StoreCreateOperator co = BESEDA__STORE_CREATE_OPERATOR__INIT;
    co.site_id = SITE;
    co.email = "anna@demo.example";
    co.name = "Anna";
    co.password = "secret-password";
    co.role = "admin";
    co.max_chats = 5;
    r.body_case = BESEDA__STORE_REQUEST__BODY_CREATE_OPERATOR;
    r.create_operator = &co;
    store_seed("create-operator", &r);
    Beseda__StoreListOperators lop = BESEDA__STORE_LIST_OPERATORS__INIT;
    lop.site_id = SITE;
    r.body_case = BESEDA__STORE_REQUEST__BODY_LIST_OPERATORS;
    r.list_operators = &lop;
    store_seed("list-operators", &r);
    Beseda__StoreResetPassword rp = BESEDA__STORE_RESET_PASSWORD__INIT;
    rp.email = "anna@demo.example";
    rp.password = "another-password";
    r.body_case = BESEDA__STORE_REQUEST__BODY_RESET_PASSWORD;
    r.reset_password = &rp;
    store_seed("reset-password", &r);
    Beseda__StoreQueueLengths ql = BESEDA__STORE_QUEUE_LENGTHS__INIT;
    ql.site_id = SITE;
    r.body_case = BESEDA__STORE_REQUEST__BODY_QUEUE_LENGTHS;
    r.queue_lengths = &ql;
    store_seed("queue-lengths", &r);
}

/* ----------------------------------------------------------- broker_admin */

static void broker_admin_seeds(void)
{
    char *keys[] = { CONV, SITE, "admin" };
    Beseda__BrokerStatusQuery q = BESEDA__BROKER_STATUS_QUERY__INIT;
    q.n_keys = 3;
    q.keys = keys;
    Beseda__BrokerAdminRequest r = BESEDA__BROKER_ADMIN_REQUEST__INIT;
    r.body_case = BESEDA__BROKER_ADMIN_REQUEST__BODY_STATUS;
    r.status = &q;
    write_msg("broker_admin", "status", &r.base);
    Beseda__BrokerDrain d = BESEDA__BROKER_DRAIN__INIT;
    d.worker = "router-1";
    r.body_case = BESEDA__BROKER_ADMIN_REQUEST__BODY_DRAIN;
    r.drain = &d;
    write_msg("broker_admin", "drain", &r.base);
    d.worker = "nobody";
    write_msg("broker_admin", "drain-unknown", &r.base);
}

/* ------------------------------------------------------------ router_token */

static void router_token_seeds(void)
{
    unsigned char key[TOKEN_KEY_BYTES];
    token_key_derive(FUZZ_SECRET, key);
    const char *visitors[] = { VIS, OPER };
    for (int i = 0; i < 2; i++) {
        char *t = token_sign(key, SITE, visitors[i], FUZZ_NOW_S - i * 100000);
        if (!t)
            exit(1);
        seed_t s = { .len = 0 };
        add_bytes(&s, t, strlen(t));
        char name[32];
        snprintf(name, sizeof name, "token-%d", i);
        write_seed("router_token", name, &s);
        free(t);
    }
    seed_t s = { .len = 0 };
    add_bytes(&s, "djF8eHx5fDE.AAAA", 16);
    write_seed("router_token", "token-short", &s);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        root = argv[1];
    if (sodium_init() < 0)
        return 1;
    init_parts();
    gateway_reply_seeds();
    router_request_seeds();
    store_request_seeds();
    broker_admin_seeds();
    router_token_seeds();
    return 0;
}
