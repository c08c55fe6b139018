/* The bus: how gateways, routers and stores talk to the broker.
 *
 * Wire protocol (ZeroMQ multipart; see docs/ARCHITECTURE.md):
 *   worker -> broker  ["BW1","HB",service,worker_name]       every BUS_HEARTBEAT_MS; also registers
 *                     ["BW1","REPLY",client_route,corr,body]
 *                     ["BW1","BYE"]                          leaving (drain)
 *   broker -> worker  ["BW1","REQ",client_route,corr,shard_key,epoch,body]
 *                     ["BW1","HB"]
 *                     ["BW1","DRAIN"]                        leave gracefully (besedactl drain)
 *                     ["BW1","BYE"]                          answer to the worker's BYE: no request
 *                                                            follows it on this connection
 *   client -> broker  ["BC1","REQ",service,shard_key,corr,body]
 *                     ["BC1","STAT",body]                    gateways, every BUS_HEARTBEAT_MS (GatewayStats)
 *   broker -> client  ["BC1","REP",corr,body]
 *                     ["BC1","ERR",corr,code]                code: "no_worker"
 * Deliveries: publishers (PUB) connect to the broker's XSUB endpoint,
 * subscribers (SUB) to its XPUB endpoint; each message is [topic, body].
 *
 * Requests are retried by the client with the same correlation id until a
 * deadline, so workers must make every request idempotent (they are: appends
 * dedupe on the client message id).
 *
 * Service BUS_BROKER_SERVICE is answered by the broker itself (status, drain;
 * BrokerAdminRequest in proto/beseda.proto). */
#ifndef BESEDA_BUS_H
#define BESEDA_BUS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define BUS_HEARTBEAT_MS      1000   /* both ways */
#define BUS_DEAD_AFTER_MS     3000   /* three missed heartbeats */
#define BUS_ATTEMPT_MS        1000   /* a client resends a request not answered in this time; after two quick retries the wait doubles (to 8 s at most) */
#define BUS_NO_WORKER_RETRY_MS 200   /* ... or this soon after the broker said "no_worker" */
#define BUS_BROKER_SERVICE    "$broker"  /* requests the broker answers itself */
#define BUS_BYE_LINGER_MS     1000   /* a leaving worker's last replies get this long to leave */

/* ------------------------------------------------------------------ client */

typedef enum { BUS_OK = 0, BUS_TIMEOUT = 1 } bus_status_t;

typedef struct {
    uint64_t corr_id;
    void *user;               /* as given to bus_client_request */
    bus_status_t status;
    zframe_t *body;           /* owned by the caller; NULL on timeout */
} bus_reply_t;

typedef struct bus_client_t bus_client_t;

bus_client_t *bus_client_new(const char *broker_endpoint);
void bus_client_destroy(bus_client_t **self_p);
zsock_t *bus_client_sock(bus_client_t *self);
/* Sends a request; returns its correlation id (never 0), or 0 on failure.
 * The request is retried until timeout_ms has passed. */
uint64_t bus_client_request(bus_client_t *self, const char *service, const char *shard_key,
                            const void *body, size_t len, int timeout_ms, void *user);
/* Call when the socket is readable. Returns 1 and fills *reply when a pending
 * request completed, 0 when the message needed no action (late duplicate,
 * "no_worker" that will be retried), -1 on a receive error. */
int bus_client_recv(bus_client_t *self, bus_reply_t *reply);
/* Call at least every bus_client_next_timeout_ms(): resends due requests and
 * returns 1 with one expired request in *reply (status BUS_TIMEOUT), else 0. */
int bus_client_expire(bus_client_t *self, bus_reply_t *reply);
/* Milliseconds until the next resend or deadline; -1 if nothing is pending. */
int bus_client_next_timeout_ms(bus_client_t *self);
size_t bus_client_pending(bus_client_t *self);
/* Forgets a pending request (its reply, if any, will be ignored). */
void bus_client_cancel(bus_client_t *self, uint64_t corr_id);
/* Sends ["BC1","STAT",body]: a gateway's load report (GatewayStats), fire and
 * forget. 0 on success, -1 if it could not be queued. */
int bus_client_report(bus_client_t *self, const void *body, size_t len);

/* ------------------------------------------------------------------ worker */

typedef struct {
    zframe_t *route;          /* the client's identity at the broker */
    char corr[24];
    char *shard_key;
    uint64_t epoch;           /* ownership epoch of the shard key (fencing) */
    zframe_t *body;
} bus_request_t;

typedef struct bus_worker_t bus_worker_t;

bus_worker_t *bus_worker_new(const char *broker_endpoint, const char *service, const char *name);
void bus_worker_destroy(bus_worker_t **self_p);
zsock_t *bus_worker_sock(bus_worker_t *self);
/* Call when the socket is readable. Returns 1 with an owned *request, 0 if a
 * control message was handled, -1 on error. A DRAIN from the broker is a
 * control message: afterwards bus_worker_drain_requested() is true. */
int bus_worker_recv(bus_worker_t *self, bus_request_t **request);
int bus_worker_reply(bus_worker_t *self, const bus_request_t *request, const void *body, size_t len);
/* Sends a heartbeat when due; call at least every bus_worker_next_tick_ms(). */
void bus_worker_tick(bus_worker_t *self);
int bus_worker_next_tick_ms(bus_worker_t *self);
/* Milliseconds since the broker was last heard from. */
int64_t bus_worker_broker_silence_ms(bus_worker_t *self);
/* True once the broker asked this worker to leave (besedactl drain): the
 * owner should then do what it does on SIGTERM (BYE, finish, exit). */
bool bus_worker_drain_requested(bus_worker_t *self);
/* Tells the broker this worker leaves; it takes no more requests. Replies
 * sent afterwards still leave when the worker is destroyed (the socket
 * lingers up to BUS_BYE_LINGER_MS instead of dropping them). */
void bus_worker_bye(bus_worker_t *self);
/* True once the broker answered the BYE. The broker routes nothing to a
 * worker after its BYE and the connection keeps order, so every request
 * routed here before the BYE has then been received: a leaving worker that
 * serves until this is true (bounded by a timeout, for a broker that does not
 * answer) leaves no request behind for its client to resend. */
bool bus_worker_bye_acked(bus_worker_t *self);
void bus_request_destroy(bus_request_t **self_p);

/* --------------------------------------------------------------- pub / sub */

zsock_t *bus_pub_new(const char *broker_pub_endpoint);   /* connects to the broker's XSUB */
int bus_publish(zsock_t *pub, const char *topic, const void *body, size_t len);
zsock_t *bus_sub_new(const char *broker_sub_endpoint);   /* connects to the broker's XPUB */

#endif
