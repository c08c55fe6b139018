/* The routing engine's pure choices: who may take a conversation now and
 * which step to take (routing.h). No Redis, no store, no clock. */
#include "routing.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool in_list(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && strcasecmp(ids[i], id) == 0)
            return true;
    return false;
}

static const assign_load_t *live_load(const assign_load_t *live, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (live[i].operator_id && strcasecmp(live[i].operator_id, id) == 0)
            return &live[i];
    return NULL;
}

static bool filtered_out(const route_filter_t *f, const char *id)
{
    if (!in_list(f->online, f->n_online, id))
        return true;
    if (in_list(f->skip, f->n_skip, id))
        return true;
    return f->skip_one && f->skip_one[0] && strcasecmp(f->skip_one, id) == 0;
}

size_t route_eligible(Beseda__OperatorLoad *const *pool, size_t n_pool,
                      const assign_load_t *live, size_t n_live, const route_filter_t *f,
                      assign_load_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < n_pool; i++) {
        const Beseda__OperatorLoad *p = pool[i];
        if (!p || !p->operator_id || !p->operator_id[0] || filtered_out(f, p->operator_id))
            continue;
        const assign_load_t *l = live_load(live, n_live, p->operator_id);
        assign_load_t e = { p->operator_id, l ? l->open_chats : p->open_chats,
                            l ? l->max_chats : p->max_chats };
        if (e.open_chats >= e.max_chats || live_load(out, n, e.operator_id))
            continue;
        out[n++] = e;
    }
    return n;
}

/* a before b: lower open/max (without division), fewer open, lower id. */
static int compare_load(const void *pa, const void *pb)
{
    const assign_load_t *a = pa, *b = pb;
    uint64_t lhs = (uint64_t) a->open_chats * b->max_chats;
    uint64_t rhs = (uint64_t) b->open_chats * a->max_chats;
    if (lhs != rhs)
        return lhs < rhs ? -1 : 1;
    if (a->open_chats != b->open_chats)
        return a->open_chats < b->open_chats ? -1 : 1;
    return strcmp(a->operator_id, b->operator_id);
}

void route_rank(assign_load_t *loads, size_t n)
{
    if (n > 1)
        qsort(loads, n, sizeof *loads, compare_load);
}

size_t route_ties(const assign_load_t *ranked, size_t n)
{
    size_t t = n ? 1 : 0;
    while (t < n && (uint64_t) ranked[t].open_chats * ranked[0].max_chats
                        == (uint64_t) ranked[0].open_chats * ranked[t].max_chats)
        t++;
    return t;
}

static uint32_t ring_ms(const Beseda__RouteDecision *d)
{
    return (d->response_limit_s ? d->response_limit_s : ROUTE_RING_DEFAULT_S) * 1000u;
}

/* ring the first `notify`, or assign the round-robin pick among the ties. */
static void plan_offer(const Beseda__RouteDecision *d, const assign_load_t *ranked, size_t n,
                       uint64_t rr, route_plan_t *plan)
{
    if (d->mode && strcmp(d->mode, "ring") == 0) {
        size_t k = d->notify ? d->notify : 1;
        if (k > ROUTE_NOTIFY_MAX)
            k = ROUTE_NOTIFY_MAX;
        plan->n_ops = n < k ? n : k;
        memcpy(plan->ops, ranked, plan->n_ops * sizeof *ranked);
        plan->action = "ring";
        plan->deadline_ms = ring_ms(d);
        return;
    }
    size_t ties = route_ties(ranked, n);
    plan->ops[0] = ranked[rr % ties];
    plan->n_ops = 1;
    plan->action = "assign";
    plan->deadline_ms = d->response_limit_s * 1000u;
}

void route_plan_first(const Beseda__RouteDecision *d, assign_load_t *eligible, size_t n,
                      uint64_t rr, route_plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    if (!d->in_hours)
        return;                       /* out of hours: it waits (the widget offers the form) */
    if (n == 0) {
        /* Nobody free: wait, with a response limit at most until it ends. */
        if (d->response_limit_s > 0 && d->deadline_ms == 0) {
            plan->action = "queue";
            plan->deadline_ms = d->response_limit_s * 1000u;
        }
        return;
    }
    route_rank(eligible, n);
    plan_offer(d, eligible, n, rr, plan);
}

void route_plan_next(const Beseda__RouteDecision *d, assign_load_t *eligible, size_t n,
                     uint64_t rr, route_plan_t *plan)
{
    memset(plan, 0, sizeof *plan);
    if (n == 0) {
        plan->action = "miss";
        return;
    }
    route_rank(eligible, n);
    plan_offer(d, eligible, n, rr, plan);
}
