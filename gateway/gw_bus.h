/* The gateway's side of the bus, in its own thread.
 *
 * libwebsockets serves every connection from one thread that must never block,
 * and ZeroMQ sockets belong to one thread each. So a bus thread (a zactor) owns
 * the DEALER (bus_client, service "router") and the SUB socket; the lws thread
 * hands it requests and (un)subscriptions through the actor pipe without ever
 * waiting, and gets replies and deliveries back through a mutex-protected
 * queue plus a wake-up callback (the lws loop's ev_async). The callback is
 * called only when the queue goes from empty to non-empty, so the lws thread
 * must drain the whole queue each time it is woken. */
#ifndef BESEDA_GW_BUS_H
#define BESEDA_GW_BUS_H

#include "bus.h"
#include "gw_frame.h"
#include <stddef.h>
#include <stdint.h>

#define GW_BUS_SERVICE        "router"
#define GW_BUS_QUEUE_MAX      100000   /* events waiting for the lws thread; over it deliveries drop */
#define GW_BUS_PIPE_HWM       100000   /* commands waiting for the bus thread */

typedef enum { GW_EV_REPLY, GW_EV_DELIVERY } gw_event_type_t;

typedef struct gw_event_t {
    gw_event_type_t type;
    /* GW_EV_REPLY: what the request was for */
    uint64_t conn_id;
    gw_req_kind_t kind;
    char *ref;
    char *req;                 /* the client's request id ("" if none) */
    char *arg;
    bus_status_t status;       /* BUS_TIMEOUT: no answer before the deadline */
    int64_t started_ms;        /* monotonic, when the request was made */
    /* GW_EV_DELIVERY */
    char *topic;
    zframe_t *body;            /* reply or delivery body; NULL on timeout */
    struct gw_event_t *next;
} gw_event_t;

typedef void (gw_wake_fn)(void *arg);
typedef struct gw_bus_t gw_bus_t;

/* Starts the bus thread, connected to the broker's ROUTER and XPUB. wake is
 * called from the bus thread after events were queued. NULL on failure. */
gw_bus_t *gw_bus_new(const char *broker, const char *broker_sub, gw_wake_fn *wake, void *wake_arg);
void gw_bus_destroy(gw_bus_t **self_p);

/* Queues a request to the router service. Takes ownership of body (malloc'd)
 * in every case. Never blocks: -1 if the bus thread's queue is full. */
int gw_bus_request(gw_bus_t *self, uint64_t conn_id, gw_req_kind_t kind, const char *ref,
                   const char *arg, const char *shard_key, uint8_t *body, size_t len,
                   int timeout_ms);
/* The same for a client frame that carries a request id (`req`): its
 * answer echoes it. */
int gw_bus_request_req(gw_bus_t *self, uint64_t conn_id, gw_req_kind_t kind, const char *ref,
                       const char *req, const char *arg, const char *shard_key, uint8_t *body,
                       size_t len, int timeout_ms);
int gw_bus_subscribe(gw_bus_t *self, const char *topic);
int gw_bus_unsubscribe(gw_bus_t *self, const char *topic);

/* Takes every queued event at once (a list linked by next), or NULL. */
gw_event_t *gw_bus_take_events(gw_bus_t *self);
void gw_event_destroy(gw_event_t **event_p);
/* Load reports: the bus thread sends the broker a GatewayStats with this
 * name and the counts every BUS_HEARTBEAT_MS (for besedactl status). The lws
 * thread sets the name once and counts connections as they open and close. */
void gw_bus_set_report_name(gw_bus_t *self, const char *name);
void gw_bus_count_conn(gw_bus_t *self, gw_role_t role, int delta);
/* 1 while the bus thread has a connection to the broker (any thread). */
int gw_bus_connected(gw_bus_t *self);
/* Deliveries dropped because the queue was full, since the start. */
uint64_t gw_bus_dropped(gw_bus_t *self);

#endif
