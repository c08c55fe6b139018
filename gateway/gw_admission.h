/* Early refusal under overload (docs/OPERATIONS.md "Overload"): a gateway
 * keeps at most max_in_flight client requests waiting for the routers, and
 * one connection at most max_conn_in_flight of them. A request past either
 * bound is not sent to the bus: the client gets error "overloaded" with a
 * retry_after_ms (jittered, so refused clients do not come back together)
 * and re-sends it then. Only send, typing and sync are refused (the bulk of
 * the traffic, each retried by the client on its own); logins and the
 * rarer requests always pass. Pure functions, so
 * the unit tests link them without libwebsockets running. */
#ifndef BESEDA_GW_ADMISSION_H
#define BESEDA_GW_ADMISSION_H

#include "gw_frame.h"

#include <stddef.h>
#include <stdint.h>

#define GW_MAX_IN_FLIGHT        2000  /* per gateway */
#define GW_MAX_CONN_IN_FLIGHT   256   /* per connection (an operator syncs each of its chats at once) */
#define GW_RETRY_AFTER_MS       1000  /* base of retry_after_ms; up to as much again is added */

typedef struct {
    size_t max_in_flight;        /* 0: no bound */
    size_t max_conn_in_flight;   /* 0: no bound */
    int retry_after_ms;
} gw_admission_t;

void gw_admission_default(gw_admission_t *self);
/* True if a request of `kind` may go to the bus now, with gw_in_flight
 * requests of the gateway and conn_in_flight of its connection waiting. */
int gw_admission_admit(const gw_admission_t *self, gw_req_kind_t kind, size_t gw_in_flight,
                       size_t conn_in_flight);
/* The retry_after_ms of a refusal: base plus a jitter in [0, base), from
 * `random` (any 32-bit value). */
int gw_admission_retry_after(const gw_admission_t *self, uint32_t random);

#endif
