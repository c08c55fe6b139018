/* The router: the "router" service of the bus (docs/ARCHITECTURE.md).
 *
 * One thread, one zpoller loop over the worker socket (requests from
 * gateways) and the store-client socket (replies from stores). A request
 * that needs the store becomes a job in the pending table (pending.h) and
 * continues when the store answers; nothing blocks on the store. Redis calls
 * are blocking but short (loopback, timeouts; redis.h).
 *
 * Handlers that take a `job_t *job` own it: they answer and destroy it, or
 * hand it on with router_store_call(). */
#ifndef BESEDA_ROUTER_ROUTER_H
#define BESEDA_ROUTER_ROUTER_H

#include <czmq.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "beseda.pb-c.h"
#include "bus.h"
#include "claim.h"
#include "conv_cache.h"
#include "geoip.h"
#include "pending.h"
#include "presence.h"
#include "redis.h"
#include "router_metrics.h"
#include "token.h"

#define ROUTER_SERVICE          "router"
#define STORE_SERVICE           "store"
#define SECRET_MIN_CHARS        16
#define OPERATOR_NAMES_MAX      10000   /* operator id -> name cache bound */
#define INFLIGHT_MAX            100000  /* requests being worked on, remembered to drop retries */
#define SYNC_LIMIT_MAX          200     /* messages per sync reply (docs/PROTOCOL.md) */
#define HISTORY_LIMIT           50      /* earlier conversations per history reply */
#define SHUTDOWN_DRAIN_MS       2000    /* after BYE, wait this long for store replies */
#define SWEEP_INTERVAL_MS       1000    /* how often presence expiries are looked for */
#define CLAIMS_MAX              100000  /* conversations being assigned, remembered */
#define VISITOR_DISPLAY_NAME    "Visitor"
#define OPERATOR_DISPLAY_NAME   "Operator"

typedef struct {
    const char *broker;            /* ROUTER endpoint of the broker */
    const char *broker_pub;        /* XSUB endpoint of the broker (we publish) */
    const char *name;              /* worker name */
    const char *secret;            /* BESEDA_SECRET */
    int64_t token_ttl_s;
    const char *redis_host;
    int redis_port;
    int64_t presence_ttl_ms;
    int64_t reassign_grace_ms;     /* chats stay this long after the last connection closed */
    long login_max_fails;
    long login_max_fails_ip;
    long login_max_pending_ip;     /* logins from one address checked at once (throttle.h) */
    int64_t login_window_s;        /* fixed window of the failure counters */
    int store_timeout_ms;
    int due_poll_ms;               /* how often deadlines are polled (routing.h) */
    const geoip_t *geoip;          /* not owned; NULL: no GeoIP, places unknown */
    beseda_metrics_t *metrics;     /* not owned; NULL: not counted */
} router_config_t;

struct router_t {
    router_config_t cfg;           /* strings borrowed from the caller */
    unsigned char token_key[TOKEN_KEY_BYTES];
    bus_worker_t *worker;
    bus_client_t *store;
    zsock_t *pub;
    redis_t *redis;
    presence_t *presence;
    pending_table_t *pending;
    conv_cache_t *convs;
    zhashx_t *op_names;            /* operator id -> display name */
    zhashx_t *inflight;            /* "<client route hex>/<corr>" of unanswered requests */
    claim_set_t *assigning;        /* conversations with an assignment in flight here */
    uint64_t epoch_seen;           /* newest broker epoch in a request: background writes use it */
    int64_t next_sweep_ms;         /* monotonic: next presence sweep */
    int64_t next_due_ms;           /* monotonic: next deadline poll (due.c) */
    int64_t due_inflight_until;    /* monotonic: a poll is out until then, or answered */
    router_metrics_t metrics;
};
typedef struct router_t router_t;

/* NULL on failure (logged). */
router_t *router_new(const router_config_t *cfg);
void router_destroy(router_t **self_p);
/* Serves until *stop becomes non-zero, then says BYE and drains. */
int router_run(router_t *self, volatile sig_atomic_t *stop);

/* ---- helpers for the handlers (router.c) */

/* Packs any protobuf message into a new buffer (free()); NULL on no memory. */
void *router_pack(const ProtobufCMessage *msg, size_t *len);
/* Answers the job's gateway request (no-op for background jobs). */
void router_reply(router_t *self, job_t *job, Beseda__RouterReply *reply);
void router_reply_ok(router_t *self, job_t *job);
/* Answers with an error code (docs/PROTOCOL.md) and destroys the job. */
void router_fail(router_t *self, job_t **job_p, const char *code, const char *message);
/* Leaves the job's gateway request unanswered (and destroys the job): the
 * gateway resends it, and the broker routes the resend to the key's owner
 * now. For a write refused because this router's epoch is stale. */
void router_drop(router_t *self, job_t **job_p);
/* Sends a store request; the job waits for its reply in the pending table.
 * Takes the job in every case (on failure it is answered "internal"). */
void router_store_call(router_t *self, job_t **job_p, const char *shard_key,
                       Beseda__StoreRequest *request);
/* The client error code for a store error reply, or NULL if it is no error. */
const char *router_store_error_code(const Beseda__StoreReply *reply);
/* If the store answered with an error: answer the job with it, destroy the
 * job and return true. */
bool router_store_failed(router_t *self, job_t **job_p, const Beseda__StoreReply *reply);
/* Short opaque shard key for requests with no site or conversation yet
 * (login by e-mail, resume by session): spreads them over the stores
 * without putting a secret in routing frames. */
void router_opaque_key(const char *value, char out[33]);

/* ---- request handlers, by file */

void visitor_hello(router_t *self, job_t *job);
void visitor_on_hello(router_t *self, job_t *job, Beseda__StoreReply *reply);

void operator_login(router_t *self, job_t *job);
void operator_resume(router_t *self, job_t *job);
void operator_on_welcome(router_t *self, job_t *job, Beseda__StoreReply *reply);
/* A login the store did not answer in time: its throttle entry ends now,
 * counting nothing (the job is still the caller's). */
void operator_login_abandon(router_t *self, const job_t *job);
void operator_logout(router_t *self, job_t *job);
void operator_on_logout(router_t *self, job_t *job, Beseda__StoreReply *reply);
void operator_set_status(router_t *self, job_t *job);
void operator_beat(router_t *self, job_t *job);
void operator_gone(router_t *self, job_t *job);
/* The operator's display name (cache, then Redis, then a placeholder). */
const char *operator_name(router_t *self, const char *operator_id);
void operator_name_remember(router_t *self, const char *operator_id, const char *name);
/* Publishes the site's online count on s:<site>. */
void operator_publish_online(router_t *self, const char *site_id);
/* Takes the operators whose hold on their chats ended (presence_sweep),
 * publishes their sites' counts and redistributes their chats. */
void operator_sweep(router_t *self);

void chat_send(router_t *self, job_t *job);
void chat_typing(router_t *self, job_t *job);
/* A transfer's first step: the chat must be assigned to the sender (the
 * conversation cache, else the store), then transfer_owned (transfer.h). */
void chat_transfer_owned_first(router_t *self, job_t *job);
void chat_sync(router_t *self, job_t *job);
void chat_history(router_t *self, job_t *job);
void chat_close(router_t *self, job_t *job);
void chat_on_append(router_t *self, job_t *job, Beseda__StoreReply *reply);
void chat_on_append_replay(router_t *self, job_t *job, Beseda__StoreReply *reply);
void chat_on_lookup(router_t *self, job_t *job, Beseda__StoreReply *reply);
void chat_on_fetch(router_t *self, job_t *job, Beseda__StoreReply *reply);
void chat_on_history(router_t *self, job_t *job, Beseda__StoreReply *reply);
void chat_on_close(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
