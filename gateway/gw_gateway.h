/* Internals shared by the gateway's lws-thread files (server, conn,
 * dispatch). Everything here is touched by the lws thread only; the bus
 * thread sees nothing but gw_bus_t. */
#ifndef BESEDA_GW_GATEWAY_H
#define BESEDA_GW_GATEWAY_H

#include "gw_api.h"
#include "gw_bus.h"
#include "gw_frame.h"
#include "gw_limits.h"
#include "gw_metrics.h"
#include "gw_proxy.h"
#include "gw_sendq.h"
#include "gw_server.h"
#include "gw_topics.h"

#include <czmq.h>
#include <libwebsockets.h>

#define GW_MAX_OUT_BYTES    (4 * 1024 * 1024)  /* queued to one slow client before it is dropped */
#define GW_CLOSE_DRAIN_SECS 5                  /* a closing client's input is dropped this long */
#define GW_GONE_TIMEOUT_MS  3000               /* OperatorGone needs no answer; give it little time */
#define GW_IP_MAX           48                 /* INET6_ADDRSTRLEN and a NUL */
#define GW_UA_MAX           512                /* a longer User-Agent is not passed on */
#define GW_OWN_TOPIC_MAX    200                /* "g:<gateway id>", as long as routers publish */
#define GW_ANNOUNCED_MAX    1000               /* assigned chats one connection remembers */

struct gw_server_t {
    gw_config_t cfg;
    char *origins_text;            /* the comma list, split in place by NULs */
    const char *origins[32];
    size_t n_origins;
    gw_proxies_t proxies;          /* BESEDA_TRUSTED_PROXIES */
    struct lws_context *context;
    gw_bus_t *bus;
    gw_topics_t *topics;
    char own_topic[GW_OWN_TOPIC_MAX];  /* "g:<gateway id>": deliveries for one connection here */
    zhashx_t *conns;               /* "<id>" -> gw_conn_t */
    zhashx_t *api;                 /* "<id>" -> gw_api_req_t waiting for a reply (gw_api.c) */
    zhashx_t *api_buckets;         /* client address -> gw_bucket_t of the HTTP API */
    uint64_t next_conn_id;
    lws_sorted_usec_list_t beat_sul;
    int stopping;
    size_t in_flight;              /* client requests sent to the routers, not yet answered */
    gw_metrics_t metrics;          /* series of cfg.metrics; NULLs without one */
};

typedef struct gw_out_t {
    struct gw_out_t *next;
    size_t len;
    unsigned char buf[];           /* LWS_PRE bytes of room, then the text */
} gw_out_t;

typedef enum { GW_RX_MORE, GW_RX_COMPLETE, GW_RX_TOO_LARGE, GW_RX_IGNORE } gw_rx_t;

typedef struct gw_conn_t {
    gw_server_t *server;
    struct lws *wsi;
    uint64_t id;
    char id_str[24];
    gw_role_t role;
    gw_auth_t auth;
    char site_id[GW_ARG_MAX];
    char visitor_id[GW_ARG_MAX];
    char operator_id[GW_ARG_MAX];
    char status[16];               /* operator's status for presence beats */
    char ip[GW_IP_MAX];
    char *user_agent;              /* from the handshake; NULL if none (most idle bytes otherwise) */
    gw_bucket_t bucket;
    /* a message being reassembled from fragments; freed once handled, so
     * an idle connection holds no buffer */
    unsigned char *rx;
    size_t rx_len;
    size_t rx_cap;
    int rx_active;
    int rx_binary;
    /* frames waiting for WRITEABLE */
    gw_out_t *out_head;
    gw_out_t *out_tail;
    size_t out_bytes;
    int close_code;                /* non-zero: close with it once the queue is written */
    int closing;                   /* no more input is read */
    int close_drain;               /* send the close frame, then read and drop until the
                                    * client's close (it may still be sending) */
    int close_sent;
    zlistx_t *topics;              /* topics this connection is subscribed to */
    zhashx_t *announced;           /* conversations announced `assigned` to it (operators;
                                    * made at the first announcement) */
    /* per-sender order (gw_sendq.h): conversations with a send in flight
     * (made at the first send) and the sends waiting behind them */
    zhashx_t *sending;
    gw_sendq_item_t *sendq_head;
    gw_sendq_item_t *sendq_tail;
    size_t sendq_count;
    size_t sendq_bytes;
    size_t in_flight;              /* its requests sent to the routers, not yet answered */
} gw_conn_t;

/* gw_conn.c */
gw_conn_t *gw_conn_new(gw_server_t *server, struct lws *wsi, gw_role_t role);
void gw_conn_destroy(gw_conn_t **conn_p);
gw_conn_t *gw_conn_find(gw_server_t *server, uint64_t id);
gw_rx_t gw_conn_rx(gw_conn_t *conn, const void *data, size_t len, int binary, int final);
void gw_conn_send(gw_conn_t *conn, char *text);          /* takes text */
/* The same frame text for many connections (a delivery): copied straight
 * into each one's queue. */
void gw_conn_send_copy(gw_conn_t *conn, const char *text, size_t len);
void gw_conn_error(gw_conn_t *conn, const char *code, const char *message, const char *ref);
/* The same naming the request it answers: its request id and conversation
 * (either NULL or "": absent). */
void gw_conn_error_about(gw_conn_t *conn, const char *code, const char *message,
                         const char *ref, const char *req, const char *conversation);
void gw_conn_close_after(gw_conn_t *conn, int code);
/* The same for a client that may still be sending (a frame over the
 * limit): after the close frame its input is read and dropped until its own
 * close comes (or GW_CLOSE_DRAIN_SECS pass), because closing a socket with
 * unread input resets it, and the reset can destroy the error and close
 * frames before the client reads them. */
void gw_conn_close_draining(gw_conn_t *conn, int code);
int gw_conn_write(gw_conn_t *conn);                        /* on WRITEABLE; -1 closes */
void gw_conn_subscribe(gw_conn_t *conn, const char *topic);
void gw_conn_unsubscribe(gw_conn_t *conn, const char *topic);
void gw_conn_identity(const gw_conn_t *conn, gw_identity_t *id);
/* The reassembly buffer of a message that was handled: released, because
 * thousands of idle connections would each keep one otherwise. */
void gw_conn_rx_release(gw_conn_t *conn);
/* An `assigned` for conv_id may reach a connection twice (o:<operator> and
 * g:<gateway>): 1 the first time (remembered), 0 after. A conversation
 * that left the operator or closed is forgotten, so a later assignment of
 * it back is announced again. */
int gw_conn_announce(gw_conn_t *conn, const char *conv_id);
void gw_conn_forget(gw_conn_t *conn, const char *conv_id);

/* gw_server.c: Absent Origin (not a browser) passes; a present one must be
 * one of the allowed origins. */
int gw_server_origin_allowed(gw_server_t *server, struct lws *wsi);

/* gw_dispatch.c */
void gw_dispatch_message(gw_conn_t *conn, const char *data, size_t len);
void gw_dispatch_events(gw_server_t *server);
void gw_dispatch_beats(gw_server_t *server);
void gw_dispatch_closed(gw_conn_t *conn);

#endif
