/* The routing engine's pure choices (router/routing.c): who is eligible
 * (online, free place, not tried, not the current operator; live counts of
 * the queue pass), ranking, round-robin ties, and the step each mode and
 * state leads to. */
#include "routing.h"
#include "check.h"
#include <string.h>

static Beseda__OperatorLoad op(char *id, uint32_t open, uint32_t max)
{
    Beseda__OperatorLoad l = BESEDA__OPERATOR_LOAD__INIT;
    l.operator_id = id;
    l.open_chats = open;
    l.max_chats = max;
    return l;
}

static void eligible_checks(void)
{
    Beseda__OperatorLoad a = op("a", 0, 5), b = op("b", 1, 5), c = op("c", 5, 5), d = op("d", 0, 5);
    Beseda__OperatorLoad *pool[] = { &a, &b, &c, &d, NULL };
    char *online[] = { "a", "b", "c" };
    char *tried[] = { "b" };
    assign_load_t out[5];
    route_filter_t f = { online, 3, NULL, 0, "" };
    CHECK(route_eligible(pool, 5, NULL, 0, &f, out) == 2, "offline (d) and full (c) are not eligible");
    route_filter_t t = { online, 3, tried, 1, "a" };
    CHECK(route_eligible(pool, 5, NULL, 0, &t, out) == 0, "tried and the current operator are skipped");
    assign_load_t live[] = { { "a", 5, 5 } };
    CHECK(route_eligible(pool, 5, live, 1, &f, out) == 1 && strcmp(out[0].operator_id, "b") == 0,
          "the pass's live count (a now full) wins over the store's");
    Beseda__OperatorLoad *twice[] = { &a, &a };
    CHECK(route_eligible(twice, 2, NULL, 0, &f, out) == 1, "an operator in two groups counts once");
}

static void rank_checks(void)
{
    assign_load_t l[] = { { "c", 2, 5 }, { "b", 1, 10 }, { "a", 1, 10 }, { "d", 2, 4 } };
    route_rank(l, 4);
    CHECK(strcmp(l[0].operator_id, "a") == 0 && strcmp(l[1].operator_id, "b") == 0
          && strcmp(l[2].operator_id, "c") == 0 && strcmp(l[3].operator_id, "d") == 0,
          "ranked by open/max, then id");
    CHECK(route_ties(l, 4) == 2, "a and b tie");
    assign_load_t r[] = { { "x", 1, 2 }, { "y", 2, 4 }, { "z", 0, 4 } };
    route_rank(r, 3);
    CHECK(route_ties(r, 3) == 1, "z alone is least loaded");
    CHECK(route_ties(r + 1, 2) == 2, "1/2 and 2/4 are the same load");
    CHECK(route_ties(r, 0) == 0, "no ties among nobody");
}

static Beseda__RouteDecision decision(char *mode, uint32_t notify, uint32_t limit, int in_hours)
{
    Beseda__RouteDecision d = BESEDA__ROUTE_DECISION__INIT;
    d.mode = mode;
    d.notify = notify;
    d.response_limit_s = limit;
    d.in_hours = in_hours;
    d.rule = "R";
    return d;
}

static void plan_checks(void)
{
    route_plan_t p;
    assign_load_t e[] = { { "c", 0, 5 }, { "b", 0, 5 }, { "a", 2, 5 } };
    Beseda__RouteDecision autod = decision("auto", 3, 0, 1);
    route_plan_first(&autod, e, 3, 0, &p);
    CHECK(p.action && strcmp(p.action, "assign") == 0 && strcmp(p.ops[0].operator_id, "b") == 0
          && p.deadline_ms == 0, "auto: the least loaded, lowest id on turn 0");
    route_plan_first(&autod, e, 3, 1, &p);
    CHECK(strcmp(p.ops[0].operator_id, "c") == 0, "auto: turn 1 takes the next of the tie");
    route_plan_first(&autod, e, 3, 2, &p);
    CHECK(strcmp(p.ops[0].operator_id, "b") == 0, "auto: round-robin wraps among the tie only");
    Beseda__RouteDecision limited = decision("auto", 3, 30, 1);
    route_plan_first(&limited, e, 3, 0, &p);
    CHECK(p.deadline_ms == 30000, "auto with a response limit: deadline set");
    Beseda__RouteDecision ring = decision("ring", 2, 0, 1);
    route_plan_first(&ring, e, 3, 0, &p);
    CHECK(strcmp(p.action, "ring") == 0 && p.n_ops == 2 && strcmp(p.ops[0].operator_id, "b") == 0
          && strcmp(p.ops[1].operator_id, "c") == 0, "ring: notify least loaded first");
    CHECK(p.deadline_ms == ROUTE_RING_DEFAULT_S * 1000u, "ring without a limit: the default timeout");
    Beseda__RouteDecision closed = decision("auto", 3, 30, 0);
    route_plan_first(&closed, e, 3, 0, &p);
    CHECK(p.action == NULL, "out of hours: nothing, it waits");
    route_plan_first(&limited, e, 0, 0, &p);
    CHECK(p.action && strcmp(p.action, "queue") == 0 && p.deadline_ms == 30000,
          "nobody free with a limit: queued until the limit");
    limited.deadline_ms = 12345;
    route_plan_first(&limited, e, 0, 0, &p);
    CHECK(p.action == NULL, "a deadline already running is not extended");
    route_plan_first(&autod, e, 0, 0, &p);
    CHECK(p.action == NULL, "nobody free without a limit: it waits");
    route_plan_next(&ring, e, 0, 0, &p);
    CHECK(p.action && strcmp(p.action, "miss") == 0, "nobody left: missed");
    route_plan_next(&ring, e, 1, 0, &p);
    CHECK(strcmp(p.action, "ring") == 0 && p.n_ops == 1, "escalation rings whoever is left");
    Beseda__RouteDecision many = decision("ring", 500, 5, 1);
    route_plan_next(&many, e, 3, 0, &p);
    CHECK(p.n_ops == 3 && p.deadline_ms == 5000, "notify bounded by who is there; limit is the timeout");
}

int main(void)
{
    eligible_checks();
    rank_checks();
    plan_checks();
    return CHECK_DONE();
}
