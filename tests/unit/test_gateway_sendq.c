/* Per-sender order at the gateway: one send per connection and conversation
 * in flight; later sends of that conversation wait in arrival order and come
 * back one at a time; other conversations do not wait; the queue is bounded
 * by the frame limit and GW_SENDQ_MAX. No socket is involved (wsi is NULL). */
#include "check.h"
#include "gw_gateway.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    gw_server_t server;
    memset(&server, 0, sizeof server);
    gw_limits_default(&server.cfg.limits);
    server.conns = zhashx_new();
    server.topics = gw_topics_new();
    gw_conn_t *c = gw_conn_new(&server, NULL, GW_ROLE_OPERATOR);
    CHECK(c != NULL, "a connection");

    CHECK(!gw_sendq_busy(c, "a"), "nothing in flight at first");
    CHECK(gw_sendq_begin(c, "a") == 0 && gw_sendq_busy(c, "a"), "a send of a in flight");
    CHECK(!gw_sendq_busy(c, "b"), "b does not wait for a");
    CHECK(gw_sendq_push(c, "a", "a1", 2, 1000) == 0, "a1 waits");
    CHECK(gw_sendq_push(c, "b", "b1", 2, 1000) == 0, "b1 queued (as a test of the order by conversation)");
    CHECK(gw_sendq_push(c, "a", "a2", 2, 1000) == 0, "a2 waits");

    size_t len = 0;
    char *next = gw_sendq_done(c, "a", &len);
    CHECK(next && len == 2 && strcmp(next, "a1") == 0 && gw_sendq_busy(c, "a"),
          "a answered: a1 goes next, a stays in flight");
    free(next);
    next = gw_sendq_done(c, "a", &len);
    CHECK(next && strcmp(next, "a2") == 0, "then a2, skipping b's frame");
    free(next);
    CHECK(gw_sendq_done(c, "a", &len) == NULL && !gw_sendq_busy(c, "a"), "none left: a is idle");
    CHECK(c->sendq_count == 1 && c->sendq_bytes == 2, "b1 still waits");

    CHECK(gw_sendq_push(c, "a", "xxxxxxxxxx", 10, 11) == -1, "past the byte bound: refused");
    size_t n = 1;
    while (gw_sendq_push(c, "a", "y", 1, 1000000) == 0)
        n++;
    CHECK(n == GW_SENDQ_MAX, "at most GW_SENDQ_MAX frames wait");

    gw_conn_destroy(&c);          /* frees the queue (valgrind/ASan builds check it) */
    CHECK(c == NULL, "destroyed");
    gw_topics_destroy(&server.topics);
    zhashx_destroy(&server.conns);
    return CHECK_DONE();
}
