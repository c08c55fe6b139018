/* Per-sender order of messages (docs/PROTOCOL.md, delivery rules): a
 * connection has at most one `send` per conversation in flight to the bus.
 * Later sends of that conversation wait here, in arrival order, and go one
 * at a time as each earlier one is answered (ack or error, or the bus's
 * timeout). A send retried by the bus therefore never lets a later message
 * of the same sender through to the store before it. Sends to different
 * conversations (an operator's chats) do not wait for each other. A close
 * or a transfer of the conversation takes the same line (gw_dispatch.c).
 *
 * The waiting frames are bounded per connection by the frame limit in
 * bytes (and GW_SENDQ_MAX frames): a client sending faster than its
 * messages are stored is told `rate_limited` for what does not fit. */
#ifndef BESEDA_GATEWAY_GW_SENDQ_H
#define BESEDA_GATEWAY_GW_SENDQ_H

#include <stddef.h>

#define GW_SENDQ_MAX 64           /* frames waiting per connection */

typedef struct gw_conn_t gw_conn_t;
typedef struct gw_sendq_item_t gw_sendq_item_t;

/* Is a send of conv (canonical id) in flight on this connection? */
int gw_sendq_busy(const gw_conn_t *conn, const char *conv);
/* A send of conv goes to the bus now. -1 when out of memory. */
int gw_sendq_begin(gw_conn_t *conn, const char *conv);
/* Keeps a copy of a frame of conv for later; -1 when the queue is full. */
int gw_sendq_push(gw_conn_t *conn, const char *conv, const char *data, size_t len,
                  size_t max_bytes);
/* The send of conv in flight was answered. Returns the next waiting frame
 * of conv (malloc'd, *len set; conv stays in flight: send it), or NULL when
 * none waits (conv is idle now). */
char *gw_sendq_done(gw_conn_t *conn, const char *conv, size_t *len);
/* Frees everything (the connection closes). */
void gw_sendq_clear(gw_conn_t *conn);

#endif
