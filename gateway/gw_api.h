/* The HTTP API of docs/PROTOCOL.md section 3 (/api/v1/...): an operator's
 * session token in "Authorization: Bearer", JSON in and out. Each request
 * becomes one RouterRequest; the HTTP answer is written when its reply
 * comes back (lws: HTTP_WRITEABLE), so the lws thread never waits. */
#ifndef BESEDA_GW_API_H
#define BESEDA_GW_API_H

#include "gw_bus.h"

#include <libwebsockets.h>

#define GW_API_MAX_BODY_BYTES  65536   /* a settings document; more is 413 */
#define GW_API_RATE_PER_SEC    20      /* requests per client address */
#define GW_API_RATE_BURST      60
#define GW_API_ADDRS_MAX       10000   /* addresses remembered for the rate limit */

typedef struct gw_server_t gw_server_t;
typedef struct gw_api_req_t gw_api_req_t;

/* True for a path the API serves ("/api/..."). */
int gw_api_path(const char *uri);
/* 0 when the request's body is delimited in a way the gateway takes (no
 * Transfer-Encoding; a Content-Length of digits only, at most
 * GW_API_MAX_BODY_BYTES; *length is -1 without one), else the HTTP status
 * of the refusal (400, 411, 413) and *why in English. The connection of a
 * refused request is closed after the answer. */
unsigned gw_http_framing(struct lws *wsi, int needs_length, long *length, const char **why);
/* A POST, PUT or PATCH: without Content-Length lws 4.1 reads what follows
 * on the connection as its body, so such a request must be the last. */
int gw_http_lws_awaits_body(struct lws *wsi);
/* LWS_CALLBACK_HTTP for an API path. *req_p is the wsi's slot for the
 * request state. Returns what the lws callback returns. */
int gw_api_begin(gw_server_t *s, struct lws *wsi, gw_api_req_t **req_p, const char *uri);
/* LWS_CALLBACK_HTTP_BODY and _BODY_COMPLETION. */
int gw_api_body(gw_api_req_t *req, const void *data, size_t len);
int gw_api_body_done(gw_api_req_t *req);
/* LWS_CALLBACK_HTTP_WRITEABLE: writes the answer once there is one. */
int gw_api_writeable(gw_api_req_t **req_p);
/* LWS_CALLBACK_CLOSED_HTTP (and the end of a transaction): forgets it, so
 * that a late reply finds nothing. */
void gw_api_release(gw_api_req_t **req_p);
/* A reply of an API kind from the bus. */
void gw_api_reply(gw_server_t *s, gw_event_t *ev);
/* Server lifecycle: the table of requests waiting for replies and the
 * per-address buckets. */
int gw_api_init(gw_server_t *s);
void gw_api_destroy(gw_server_t *s);

#endif
