/* The broker and the bus library together, in one process over loopback TCP:
 * a request reaches a worker and its reply the client; with no worker the
 * client retries until one joins; a dead worker's keys move to a survivor;
 * publish/subscribe passes through; a worker's BYE is answered. */
#include "broker.h"
#include "bus.h"
#include "check.h"
#include "util.h"
#include <pthread.h>
#include <string.h>

static volatile sig_atomic_t stop_broker;
static broker_t *broker;

static void *broker_thread(void *arg)
{
    (void) arg;
    broker_run(broker, &stop_broker);
    return NULL;
}

/* Serves requests on w (echoing "name:body") until one with body `want` was
 * served; pumps the client's resend timer meanwhile. Requests are delivered
 * at least once, so stale copies of earlier requests may be served first. */
static int serve_until(bus_worker_t *w, const char *name, bus_client_t *c, const char *want,
                       int timeout_ms)
{
    zpoller_t *poller = zpoller_new(bus_worker_sock(w), NULL);
    int64_t end = beseda_mono_ms() + timeout_ms;
    int served = 0;
    while (!served && beseda_mono_ms() < end) {
        bus_worker_tick(w);
        bus_reply_t expired;
        if (bus_client_expire(c, &expired))
            break;
        if (zpoller_wait(poller, 50)) {
            bus_request_t *req = NULL;
            if (bus_worker_recv(w, &req) == 1) {
                char out[128];
                snprintf(out, sizeof out, "%s:%.*s", name, (int) zframe_size(req->body),
                         (char *) zframe_data(req->body));
                bus_worker_reply(w, req, out, strlen(out));
                served = zframe_streq(req->body, want);
                bus_request_destroy(&req);
            }
        }
    }
    zpoller_destroy(&poller);
    return served;
}

static int wait_reply(bus_client_t *c, bus_reply_t *reply, int timeout_ms)
{
    zpoller_t *poller = zpoller_new(bus_client_sock(c), NULL);
    int64_t end = beseda_mono_ms() + timeout_ms;
    int got = 0;
    while (!got && beseda_mono_ms() < end) {
        if (bus_client_expire(c, reply)) {
            got = 1;
            break;
        }
        if (zpoller_wait(poller, 20) && bus_client_recv(c, reply) == 1)
            got = 1;
    }
    zpoller_destroy(&poller);
    return got;
}

int main(void)
{
    zsys_handler_set(NULL);
    int port = 20000 + (int) (beseda_mono_ms() % 20000);
    char ep[64], pub[64], sub[64];
    /* A port picked at random may be taken (another test, an ephemeral
     * port): try further ones before calling it a failure. */
    for (int attempt = 0; attempt < 20 && !broker; attempt++, port += 7) {
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", port);
        snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", port + 1);
        snprintf(sub, sizeof sub, "tcp://127.0.0.1:%d", port + 2);
        broker = broker_new(ep, pub, sub);
    }
    CHECK(broker != NULL, "broker binds");
    if (!broker)
        return CHECK_DONE();
    pthread_t thread;
    pthread_create(&thread, NULL, broker_thread, NULL);

    bus_client_t *client = bus_client_new(ep);
    bus_reply_t reply;

    /* No worker yet: the request waits (no_worker is retried) ... */
    bus_client_request(client, "echo", "key-1", "hello", 5, 5000, NULL);
    bus_worker_t *wa = bus_worker_new(ep, "echo", "worker-a");
    /* ... and is served once a worker joins. */
    CHECK(serve_until(wa, "worker-a", client, "hello", 3000), "worker receives a request sent before it joined");
    CHECK(wait_reply(client, &reply, 3000) && reply.status == BUS_OK, "client gets the reply");
    CHECK(reply.body && zframe_streq(reply.body, "worker-a:hello"), "reply body passes through");
    zframe_destroy(&reply.body);

    /* Two workers: find a key owned by b, kill b, the key moves to a. */
    bus_worker_t *wb = bus_worker_new(ep, "echo", "worker-b");
    /* Keys go on to a until b's registration arrives: try keys until one
     * reaches b (or the time is up). */
    char key[32] = "";
    int found_b = 0;
    int64_t until = zclock_mono() + 3000;
    for (int i = 0; !found_b && zclock_mono() < until; i++) {
        snprintf(key, sizeof key, "conv-%d", i % 64);
        bus_client_request(client, "echo", key, "x", 1, 5000, NULL);
        zpoller_t *p = zpoller_new(bus_worker_sock(wa), bus_worker_sock(wb), NULL);
        void *which = zpoller_wait(p, 2000);
        bus_worker_t *w = which == bus_worker_sock(wa) ? wa : wb;
        bus_request_t *req = NULL;
        if (which && bus_worker_recv(w, &req) == 1) {
            found_b = (w == wb);
            bus_worker_reply(w, req, "ok", 2);
            bus_request_destroy(&req);
        }
        zpoller_destroy(&p);
        wait_reply(client, &reply, 2000);
        zframe_destroy(&reply.body);
    }
    CHECK(found_b, "keys spread to the second worker");
    bus_worker_destroy(&wb);   /* like kill -9: the connection drops */
    bus_client_request(client, "echo", key, "again", 5, 8000, NULL);
    int served = serve_until(wa, "worker-a", client, "again", 6000);
    CHECK(served, "the dead worker's key moves to the survivor");
    CHECK(wait_reply(client, &reply, 6000) && reply.status == BUS_OK
              && zframe_streq(reply.body, "worker-a:again"), "client is answered by the survivor");
    zframe_destroy(&reply.body);

    /* A request nobody can serve ends in a timeout, not a hang. */
    bus_client_request(client, "nobody", "k", "x", 1, 600, NULL);
    CHECK(wait_reply(client, &reply, 3000) && reply.status == BUS_TIMEOUT, "unserved request times out");

    /* Pub/sub through the broker. */
    zsock_t *s = bus_sub_new(sub);
    zsock_set_subscribe(s, "c:1");
    zsock_t *p = bus_pub_new(pub);
    int delivered = 0;
    for (int i = 0; i < 50 && !delivered; i++) {   /* subscriptions propagate asynchronously */
        bus_publish(p, "c:1", "m", 1);
        bus_publish(p, "c:2", "n", 1);
        zsock_set_rcvtimeo(s, 100);
        zmsg_t *m = zmsg_recv(s);
        if (m) {
            char *topic = zmsg_popstr(m);
            delivered = topic && strcmp(topic, "c:1") == 0 ? 1 : -1;
            free(topic);
            zmsg_destroy(&m);
        }
    }
    CHECK(delivered == 1, "a subscriber gets its topic and only its topic");

    /* A leaving worker: the broker answers its BYE (the last frame it sends
     * that worker) and routes nothing more to it. */
    bus_worker_bye(wa);
    zpoller_t *bye = zpoller_new(bus_worker_sock(wa), NULL);
    int64_t bye_end = beseda_mono_ms() + 2000;
    while (!bus_worker_bye_acked(wa) && beseda_mono_ms() < bye_end) {
        bus_request_t *req = NULL;
        if (zpoller_wait(bye, 50) && bus_worker_recv(wa, &req) == 1)
            bus_request_destroy(&req);
    }
    zpoller_destroy(&bye);
    CHECK(bus_worker_bye_acked(wa), "the broker answers a worker's BYE");
    bus_client_request(client, "echo", key, "gone", 4, 600, NULL);
    CHECK(wait_reply(client, &reply, 3000) && reply.status == BUS_TIMEOUT, "nothing is routed after the BYE");

    zsock_destroy(&s);
    zsock_destroy(&p);
    bus_worker_destroy(&wa);
    bus_client_destroy(&client);
    stop_broker = 1;
    pthread_join(thread, NULL);
    broker_destroy(&broker);
    return CHECK_DONE();
}
