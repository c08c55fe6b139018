/* Fuzz target: the broker's own service "$broker" (broker/admin.c), which
 * besedactl talks to: an arbitrary BrokerAdminRequest body against a
 * registry with a few workers and gateways.
 *
 * Property: the answer is always a BrokerAdminReply that unpacks; a drain
 * names a worker of the registry or nothing. */
#include "fuzz.h"
#include "admin.h"
#include "beseda.pb-c.h"

static workers_t *workers;
static gateways_t *gateways;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    workers = workers_new();
    gateways = gateways_new();
    FUZZ_CHECK(workers && gateways, "registries");
    const char *names[][2] = { { "router", "router-1" }, { "router", "router-2" },
                               { "store", "store-1" } };
    for (int i = 0; i < 3; i++) {
        zframe_t *route = zframe_new(names[i][1], strlen(names[i][1]));
        FUZZ_CHECK(route && workers_heartbeat(workers, route, names[i][0], names[i][1],
                                              INT64_MAX / 4) == 1, "a worker joins");
        zframe_destroy(&route);
    }
    FUZZ_CHECK(gateways_report(gateways, "gw-1", 10, 2, INT64_MAX / 4) == 0, "a gateway reports");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    broker_admin_view_t view = { workers, gateways, 42, 0, INT64_MAX / 4 };
    worker_t *drain = NULL;
    size_t len = 0;
    uint8_t *out = broker_admin_answer(&view, data, size, &drain, &len);
    FUZZ_CHECK(out != NULL, "an answer");
    Beseda__BrokerAdminReply *r = beseda__broker_admin_reply__unpack(NULL, len, out);
    FUZZ_CHECK(r != NULL, "the answer is a BrokerAdminReply");
    if (drain)
        FUZZ_CHECK(workers_find_name(workers, drain->name) == drain
                   && r->body_case == BESEDA__BROKER_ADMIN_REPLY__BODY_DRAINED,
                   "a drain names a registered worker");
    beseda__broker_admin_reply__free_unpacked(r, NULL);
    free(out);
    return 0;
}
