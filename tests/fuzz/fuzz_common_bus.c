/* Fuzz target: the bus clients' parsing of what the broker sends
 * (common/bus.c bus_worker_recv and bus_client_recv) with arbitrary
 * multipart messages. A fake broker (ROUTER on inproc) sends them to a real
 * worker and a real client.
 *
 * Input: a selector byte (bit 0: to the client, else to the worker), then
 * the message's frames separated by FE FE (at most 12). A frame "CORR" is
 * replaced by the correlation id of the client's pending request, so that
 * replies can match it.
 *
 * Properties: a worker hands out a request only for ["BW1","REQ", route,
 * corr, shard key, epoch, body], with every part set; a client completes only
 * its pending request, once. */
#include "fuzz.h"
#include "bus.h"
#include "log.h"

#include <inttypes.h>

#define FUZZ_BROKER "inproc://fuzz-bus-broker"
#define SEP         "\xfe\xfe"
#define MAX_FRAMES  12

static zsock_t *broker;
static bus_worker_t *worker;
static bus_client_t *client;
static zframe_t *worker_id, *client_id;
static uint64_t pending_corr;

/* Receives the next message at the fake broker; returns the sender's id. */
static zframe_t *broker_take(void)
{
    zmsg_t *m = zmsg_recv(broker);
    FUZZ_CHECK(m, "the broker receives");
    zframe_t *id = zmsg_pop(m);
    zmsg_destroy(&m);
    return id;
}

static void drain_broker(void)
{
    while (zsock_events(broker) & ZMQ_POLLIN)
        zframe_destroy(&(zframe_t *) { broker_take() });
}

/* Makes sure the client has one request pending, and the broker saw it. */
static void client_request(void)
{
    if (pending_corr)
        return;
    pending_corr = bus_client_request(client, "router", "key", "body", 4, 60000, NULL);
    FUZZ_CHECK(pending_corr != 0, "a request is sent");
    zframe_t *id = broker_take();
    if (!client_id)
        client_id = id;
    else
        zframe_destroy(&id);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    zsys_handler_set(NULL);
    beseda_log_init("bus");
    broker = zsock_new_router(FUZZ_BROKER);
    worker = broker ? bus_worker_new(FUZZ_BROKER, "router", "router-fuzz") : NULL;
    client = broker ? bus_client_new(FUZZ_BROKER) : NULL;
    FUZZ_CHECK(broker && worker && client, "sockets");
    worker_id = broker_take();           /* the worker's first heartbeat */
    client_request();
    return 0;
}

static void to_worker(zmsg_t *m, size_t nframes, char **frames)
{
    zmsg_send(&m, broker);
    while (zsock_events(bus_worker_sock(worker)) & ZMQ_POLLIN) {
        bus_request_t *req = NULL;
        int rc = bus_worker_recv(worker, &req);
        if (rc == 1) {
            FUZZ_CHECK(req && req->route && req->body && req->shard_key, "a whole request");
            FUZZ_CHECK(nframes == 7 && strcmp(frames[0], "BW1") == 0
                       && strcmp(frames[1], "REQ") == 0, "only a REQ is a request");
            bus_request_destroy(&req);
        } else
            FUZZ_CHECK(req == NULL, "no request without rc 1");
    }
}

static void to_client(zmsg_t *m)
{
    zmsg_send(&m, broker);
    while (zsock_events(bus_client_sock(client)) & ZMQ_POLLIN) {
        bus_reply_t r = { 0 };
        if (bus_client_recv(client, &r) == 1) {
            FUZZ_CHECK(r.corr_id == pending_corr && r.body, "only the pending request completes");
            pending_corr = 0;
        }
        zframe_destroy(&r.body);
    }
    drain_broker();                      /* resends, if any */
    client_request();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int for_client = data[0] & 1;
    char corr[24];
    snprintf(corr, sizeof corr, "%" PRIu64, pending_corr);
    zmsg_t *m = zmsg_new();
    FUZZ_CHECK(m && zmsg_append(m, &(zframe_t *) { zframe_dup(for_client ? client_id : worker_id) }) == 0,
               "memory");
    char *frames[MAX_FRAMES];
    size_t nframes = 0;
    const uint8_t *rest = data + 1;
    size_t left = size - 1;
    while (nframes < MAX_FRAMES) {
        const uint8_t *a, *b;
        size_t alen, blen;
        fuzz_split(rest, left, SEP, &a, &alen, &b, &blen);
        frames[nframes] = fuzz_cstr(a, alen);
        if (strcmp(frames[nframes], "CORR") == 0)
            zmsg_addstr(m, corr);
        else
            zmsg_addmem(m, a, alen);
        nframes++;
        if (b == rest + left)
            break;
        rest = b;
        left = blen;
    }
    if (for_client)
        to_client(m);
    else
        to_worker(m, nframes, frames);
    for (size_t i = 0; i < nframes; i++)
        free(frames[i]);
    return 0;
}
