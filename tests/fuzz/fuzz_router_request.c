/* Fuzz target: the router's request entry (router.c handle_request) with an
 * arbitrary RouterRequest body, then the store replies it waits for
 * (handle_store_reply) with arbitrary StoreReply bodies.
 *
 * router.c is compiled into this file so that its static entry points can be
 * called; the rest of the router comes from librouter.a. The broker is faked
 * by a ROUTER socket on inproc: it receives the router's replies and store
 * requests and answers store requests with the input's StoreReply parts.
 * Redis is a closed port (every call fails at once, as when Redis is down),
 * so presence reads say "nobody online" and writes are skipped.
 *
 * Input: RouterRequest bytes, then up to 8 StoreReply parts, separated by
 * the bytes FE FE. Properties: every answer to the gateway is a RouterReply
 * that unpacks, and its error code is one the gateway can name to a client
 * (docs/PROTOCOL.md's table) or "bad_request" (a body that is no
 * RouterRequest: only a broken gateway sends one). */
#include "fuzz.h"
#include "../../router/router.c"
#include "gw_frame.h"

#define FUZZ_BROKER "inproc://fuzz-router-broker"
#define SEP         "\xfe\xfe"
#define MAX_ROUNDS  8

static router_t *router;
static zsock_t *broker;            /* the fake broker */
static uint64_t next_corr;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    zsys_handler_set(NULL);
    beseda_log_init("router");
    broker = zsock_new_router(FUZZ_BROKER);
    router_config_t cfg = {
        .broker = FUZZ_BROKER, .broker_pub = "inproc://fuzz-router-pub",
        .name = "router-fuzz", .secret = "fuzz-secret-0123456789abcdef",
        .token_ttl_s = (int64_t) 1 << 40,   /* the seeds' tokens are old */
        .redis_host = "127.0.0.1", .redis_port = 1,
        .presence_ttl_ms = 15000, .reassign_grace_ms = 30000,
        .login_max_fails = 5, .login_max_fails_ip = 50, .store_timeout_ms = 3000, .due_poll_ms = 500,
    };
    router = broker ? router_new(&cfg) : NULL;
    if (!router) {
        fprintf(stderr, "fuzz_router_request: cannot set up the router\n");
        abort();
    }
    return 0;
}

static void check_reply(zframe_t *body)
{
    Beseda__RouterReply *r = body ? beseda__router_reply__unpack(NULL, zframe_size(body),
                                                                 zframe_data(body)) : NULL;
    FUZZ_CHECK(r != NULL, "the router answers a RouterReply");
    if (*r->error_code)
        FUZZ_CHECK(strcmp(r->error_code, "bad_request") == 0
                   || strcmp(gw_error_text(r->error_code), "error") != 0,
                   "the router answers only error codes of docs/PROTOCOL.md");
    beseda__router_reply__free_unpacked(r, NULL);
}

/* Reads what the router sent to the broker; answers store requests with the
 * next StoreReply part while there is one. Returns how many it answered.
 * corrs collects every store correlation id seen, to cancel them later. */
static int serve_broker(const uint8_t **parts, size_t *lens, size_t nparts, size_t *next,
                        zlistx_t *corrs)
{
    int answered = 0;
    while (zsock_events(broker) & ZMQ_POLLIN) {
        zmsg_t *m = zmsg_recv(broker);
        if (!m)
            break;
        zframe_t *id = zmsg_pop(m);
        char *proto = zmsg_popstr(m);
        char *verb = zmsg_popstr(m);
        if (proto && verb && strcmp(proto, "BW1") == 0 && strcmp(verb, "REPLY") == 0
            && zmsg_size(m) == 3) {
            zframe_t *route = zmsg_pop(m);
            char *corr = zmsg_popstr(m);
            zframe_t *body = zmsg_pop(m);
            check_reply(body);
            zframe_destroy(&route);
            zframe_destroy(&body);
            free(corr);
        } else if (proto && verb && strcmp(proto, "BC1") == 0 && strcmp(verb, "REQ") == 0
                   && zmsg_size(m) == 4) {
            free(zmsg_popstr(m));                  /* service */
            free(zmsg_popstr(m));                  /* shard key */
            char *corr = zmsg_popstr(m);
            zlistx_add_end(corrs, corr);
            if (*next < nparts) {
                zmsg_t *rep = zmsg_new();
                zmsg_append(rep, &id);
                zmsg_addstr(rep, "BC1");
                zmsg_addstr(rep, "REP");
                zmsg_addstr(rep, corr);
                zmsg_addmem(rep, parts[*next], lens[*next]);
                (*next)++;
                zmsg_send(&rep, broker);
                answered++;
            }
            free(corr);
        }
        zframe_destroy(&id);
        free(proto);
        free(verb);
        zmsg_destroy(&m);
    }
    return answered;
}

static void take_store_replies(void)
{
    zsock_t *sock = bus_client_sock(router->store);
    while (zsock_events(sock) & ZMQ_POLLIN) {
        bus_reply_t r = { 0 };
        if (bus_client_recv(router->store, &r) == 1)
            handle_store_reply(router, &r);
        else
            zframe_destroy(&r.body);
    }
}

/* Nothing of one input may be left for the next: jobs still waiting for the
 * store, claims, cached conversations, requests in flight. */
static void reset(zlistx_t *corrs)
{
    for (char *corr = zlistx_first(corrs); corr; corr = zlistx_next(corrs))
        bus_client_cancel(router->store, strtoull(corr, NULL, 10));
    pending_table_destroy(&router->pending);
    router->pending = pending_table_new();
    claim_set_destroy(&router->assigning);
    router->assigning = claim_set_new(CLAIMS_MAX);
    conv_cache_destroy(&router->convs);
    router->convs = conv_cache_new(CONV_CACHE_MAX, CONV_CACHE_TTL_MS);
    zhashx_purge(router->inflight);
    zhashx_purge(router->op_names);
    FUZZ_CHECK(router->pending && router->assigning && router->convs, "reset");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *parts[MAX_ROUNDS + 1];
    size_t lens[MAX_ROUNDS + 1];
    size_t nparts = 0;
    const uint8_t *rest = data;
    size_t left = size;
    while (nparts < MAX_ROUNDS + 1) {
        const uint8_t *b;
        size_t blen;
        fuzz_split(rest, left, SEP, &parts[nparts], &lens[nparts], &b, &blen);
        nparts++;
        if (b == rest + left)
            break;
        rest = b;
        left = blen;
    }
    bus_request_t *req = calloc(1, sizeof *req);
    FUZZ_CHECK(req, "memory");
    req->route = zframe_new("gw-route", 8);
    snprintf(req->corr, sizeof req->corr, "%" PRIu64, ++next_corr);
    req->shard_key = strdup("");
    req->epoch = 7;
    req->body = zframe_new(parts[0], lens[0]);
    FUZZ_CHECK(req->route && req->shard_key && req->body, "memory");
    zlistx_t *corrs = zlistx_new();
    zlistx_set_duplicator(corrs, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor(corrs, (zlistx_destructor_fn *) zstr_free);
    handle_request(router, req);
    size_t next = 1;
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if (serve_broker(parts, lens, nparts, &next, corrs) == 0)
            break;
        take_store_replies();
    }
    serve_broker(parts, lens, 0, &next, corrs);    /* the last replies */
    reset(corrs);
    zlistx_destroy(&corrs);
    return 0;
}
