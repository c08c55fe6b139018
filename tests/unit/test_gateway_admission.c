/* Early refusal under overload: which requests a gateway admits with so
 * many in flight, and the jittered retry_after_ms of a refusal. */
#include "check.h"
#include "gw_admission.h"

static void test_bounds(void)
{
    gw_admission_t a = { .max_in_flight = 10, .max_conn_in_flight = 2, .retry_after_ms = 500 };
    CHECK(gw_admission_admit(&a, GW_REQ_SEND, 0, 0), "an idle gateway admits a send");
    CHECK(gw_admission_admit(&a, GW_REQ_SEND, 9, 1), "just below both bounds: admitted");
    CHECK(!gw_admission_admit(&a, GW_REQ_SEND, 10, 0), "the gateway's bound refuses a send");
    CHECK(!gw_admission_admit(&a, GW_REQ_SEND, 3, 2), "the connection's bound refuses a send");
    CHECK(!gw_admission_admit(&a, GW_REQ_SYNC, 10, 0), "a sync is refused too");
    CHECK(!gw_admission_admit(&a, GW_REQ_TYPING, 10, 0), "typing is refused too");
    CHECK(gw_admission_admit(&a, GW_REQ_VISITOR_HELLO, 100, 100), "a visitor hello is always admitted");
    CHECK(gw_admission_admit(&a, GW_REQ_OPERATOR_LOGIN, 100, 100), "an operator login is always admitted");
    CHECK(gw_admission_admit(&a, GW_REQ_OPERATOR_RESUME, 100, 100), "a resume is always admitted");
    CHECK(gw_admission_admit(&a, GW_REQ_LOGOUT, 100, 100), "a logout is always admitted");
    CHECK(gw_admission_admit(&a, GW_REQ_ACCEPT, 100, 100), "an operator's accept is always admitted");
    CHECK(gw_admission_admit(&a, GW_REQ_CLOSE, 100, 100), "a close is always admitted");
    gw_admission_t none = { .max_in_flight = 0, .max_conn_in_flight = 0, .retry_after_ms = 1 };
    CHECK(gw_admission_admit(&none, GW_REQ_SEND, 1000000, 1000000), "0 means no bound");
    gw_admission_t d;
    gw_admission_default(&d);
    CHECK(d.max_in_flight == GW_MAX_IN_FLIGHT && d.max_conn_in_flight == GW_MAX_CONN_IN_FLIGHT
          && d.retry_after_ms == GW_RETRY_AFTER_MS, "defaults");
}

static void test_retry_after(void)
{
    gw_admission_t a = { .max_in_flight = 1, .max_conn_in_flight = 1, .retry_after_ms = 500 };
    int lo = 1 << 30, hi = 0;
    for (uint32_t r = 0; r < 5000; r += 7) {
        int v = gw_admission_retry_after(&a, r * 2654435761u);
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    CHECK(lo >= 500 && hi < 1000, "retry_after_ms is base plus a jitter below base");
    CHECK(hi - lo > 400, "the jitter spreads the retries");
    gw_admission_t zero = { .retry_after_ms = 0 };
    CHECK(gw_admission_retry_after(&zero, 12345) >= 1, "never 0");
}

int main(void)
{
    test_bounds();
    test_retry_after();
    return CHECK_DONE();
}
