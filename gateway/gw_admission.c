/* Early refusal under overload: see gw_admission.h. */
#include "gw_admission.h"

void gw_admission_default(gw_admission_t *self)
{
    self->max_in_flight = GW_MAX_IN_FLIGHT;
    self->max_conn_in_flight = GW_MAX_CONN_IN_FLIGHT;
    self->retry_after_ms = GW_RETRY_AFTER_MS;
}

/* The bulk of a chat's traffic, which every client retries on its own
 * (the outbox re-sends a message, a sync is asked again, a typing draft is
 * superseded): refused past the bounds. Everything else - logins, logout,
 * an operator's accept, transfer, close, status, history, the visitor's
 * forms - is rarer, and a client could not always retry it unattended. */
static int refusable(gw_req_kind_t kind)
{
    return kind == GW_REQ_SEND || kind == GW_REQ_TYPING || kind == GW_REQ_SYNC;
}

int gw_admission_admit(const gw_admission_t *self, gw_req_kind_t kind, size_t gw_in_flight,
                       size_t conn_in_flight)
{
    if (!refusable(kind))
        return 1;
    if (self->max_in_flight && gw_in_flight >= self->max_in_flight)
        return 0;
    if (self->max_conn_in_flight && conn_in_flight >= self->max_conn_in_flight)
        return 0;
    return 1;
}

int gw_admission_retry_after(const gw_admission_t *self, uint32_t random)
{
    int base = self->retry_after_ms > 0 ? self->retry_after_ms : 1;
    return base + (int) (random % (uint32_t) base);
}
