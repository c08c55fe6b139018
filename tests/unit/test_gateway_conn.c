/* A connection's message reassembly: fragments join, the size limit holds
 * for the whole message however it is split, and nothing is read once the
 * connection is closing; an assignment is announced once per connection.
 * No socket is involved (wsi is NULL). */
#include "check.h"
#include "gw_gateway.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    gw_server_t server;
    memset(&server, 0, sizeof server);
    gw_limits_default(&server.cfg.limits);
    server.cfg.limits.max_frame_bytes = 100;
    gw_rates_default(&server.cfg.rates);
    server.conns = zhashx_new();
    server.topics = gw_topics_new();

    gw_conn_t *a = gw_conn_new(&server, NULL, GW_ROLE_VISITOR);
    gw_conn_t *b = gw_conn_new(&server, NULL, GW_ROLE_OPERATOR);
    CHECK(a && b && a->id != b->id, "connections get distinct ids");
    CHECK(gw_conn_find(&server, b->id) == b, "a connection is found by id");
    CHECK(strcmp(a->status, "online") == 0 && a->auth == GW_AUTH_NONE, "new: online, not logged in");

    CHECK(gw_conn_rx(a, "{\"type\":", 8, 0, 0) == GW_RX_MORE, "a first fragment waits");
    CHECK(gw_conn_rx(a, "\"ping\"}", 7, 1, 1) == GW_RX_COMPLETE, "the final fragment completes");
    CHECK(a->rx_len == 15 && strcmp((char *) a->rx, "{\"type\":\"ping\"}") == 0 && !a->rx_binary,
          "fragments are joined; the first one's opcode counts");
    CHECK(gw_conn_rx(a, "x", 1, 1, 1) == GW_RX_COMPLETE && a->rx_binary && a->rx_len == 1,
          "the next message starts afresh");

    char big[60];
    memset(big, 'x', sizeof big);
    CHECK(gw_conn_rx(a, big, 60, 0, 0) == GW_RX_MORE, "60 bytes of 100");
    CHECK(gw_conn_rx(a, big, 40, 0, 1) == GW_RX_COMPLETE, "exactly the limit is fine");
    CHECK(gw_conn_rx(a, big, 60, 0, 0) == GW_RX_MORE, "60 bytes again");
    CHECK(gw_conn_rx(a, big, 41, 0, 0) == GW_RX_TOO_LARGE, "one byte over the limit, over fragments");
    CHECK(gw_conn_rx(b, big, 60, 0, 0) == GW_RX_MORE, "another connection is not affected");

    b->closing = 1;
    CHECK(gw_conn_rx(b, big, 10, 0, 1) == GW_RX_IGNORE, "a closing connection reads nothing");

    CHECK(gw_conn_announce(b, "conv-1") == 1, "a first assignment is announced");
    CHECK(gw_conn_announce(b, "conv-1") == 0, "its second copy (o: and g:) is not");
    CHECK(gw_conn_announce(b, "conv-2") == 1, "another conversation is");
    gw_conn_forget(b, "conv-1");
    CHECK(gw_conn_announce(b, "conv-1") == 1, "a chat that left and came back is announced again");
    gw_conn_forget(b, "never-seen");
    for (int i = 0; i < GW_ANNOUNCED_MAX + 5; i++) {
        char conv[32];
        snprintf(conv, sizeof conv, "many-%d", i);
        gw_conn_announce(b, conv);
    }
    CHECK(zhashx_size(b->announced) <= GW_ANNOUNCED_MAX, "a connection remembers a bounded number");

    uint64_t id = a->id;
    gw_conn_destroy(&a);
    CHECK(a == NULL && gw_conn_find(&server, id) == NULL, "a destroyed connection is gone");
    gw_conn_destroy(&b);
    CHECK(zhashx_size(server.conns) == 0, "no connection left");
    gw_topics_destroy(&server.topics);
    zhashx_destroy(&server.conns);
    return CHECK_DONE();
}
