/* The routing engine (docs/ROUTING.md, docs/ROUTER.md "Routing engine").
 *
 * The store evaluates the site's distribution rules (StoreRoute, and one
 * RouteDecision per queued conversation in StoreSiteQueue); the router adds
 * what only it knows, presence in Redis, and picks the step:
 *
 *   auto  the least loaded online candidate with a free place (ties
 *         round-robin, a per-rule counter in Redis) is assigned; with a
 *         response limit through StoreRouteStep "assign" with a deadline;
 *   ring  up to `notify` of them (least loaded first) ring
 *         (StoreRouteStep "ring"); the first StoreAccept wins.
 *
 * Deadlines are the conversation's deadline_at: every router polls StoreDue
 * and moves each due conversation on from the stage it read: untried
 * candidates, then the fallback groups, then "miss". Every step is a
 * compare-and-set in the store; only the applied one is published.
 *
 * routing.c: the pure choices (unit-tested); ring.c: steps, accept and
 * their deliveries; due.c: the deadline poll. */
#ifndef BESEDA_ROUTER_ROUTING_H
#define BESEDA_ROUTER_ROUTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "assign.h"
#include "beseda.pb-c.h"
#include "pending.h"

#define ROUTE_NOTIFY_MAX        50      /* operators in one step (the store's bound) */
#define ROUTE_RING_DEFAULT_S    60      /* ring timeout when the rule sets no limit */
#define DUE_POLL_MS_DEFAULT     500     /* BESEDA_DUE_POLL_MS */
#define DUE_BATCH               100     /* due conversations claimed per poll */
#define DUE_LEASE_MS            10000   /* a claimed conversation is ours this long */

typedef struct router_t router_t;

/* ---- pure choices (routing.c) */

/* A candidate is eligible: online, open_chats < max_chats, not in skip. */
typedef struct {
    char *const *online;
    size_t n_online;
    char *const *skip;             /* tried operators, and the one who has it */
    size_t n_skip;
    const char *skip_one;          /* "" none */
} route_filter_t;

/* The eligible members of `pool` into out (room for n_pool), with live
 * counts from `live` (the queue pass's loads, counting its own picks) when
 * an operator is there. Returns how many. */
size_t route_eligible(Beseda__OperatorLoad *const *pool, size_t n_pool,
                      const assign_load_t *live, size_t n_live, const route_filter_t *f,
                      assign_load_t *out);
/* Sorts loads least loaded first (lower open/max, fewer open, lower id). */
void route_rank(assign_load_t *loads, size_t n);
/* How many of the ranked loads tie with the first (same open/max). */
size_t route_ties(const assign_load_t *ranked, size_t n);

/* One step to take, computed from a decision. */
typedef struct {
    const char *action;            /* "assign", "ring", "queue", "miss", "hold" (due.c); NULL: nothing */
    assign_load_t ops[ROUTE_NOTIFY_MAX];
    size_t n_ops;
    uint32_t deadline_ms;          /* from now; 0 none */
} route_plan_t;

/* First routing of a queued conversation (eligible: candidates that may
 * take it now, ranked here in place; rr: the round-robin turn for ties). */
void route_plan_first(const Beseda__RouteDecision *d, assign_load_t *eligible, size_t n,
                      uint64_t rr, route_plan_t *plan);
/* Its deadline passed: the next untried candidates (or, with none, the
 * fallback's, given as `eligible` by the caller), else miss. */
void route_plan_next(const Beseda__RouteDecision *d, assign_load_t *eligible, size_t n,
                     uint64_t rr, route_plan_t *plan);

/* ---- the flow (ring.c) */

/* Round-robin turn of a rule (Redis INCR; 0 when Redis cannot say). */
uint64_t route_rr_next(router_t *self, const char *site_id, int rule_index);
/* Queue pass / visitor message: route one queued conversation by its
 * decision. `live` are the pass's loads (a pick counts as one more open
 * chat). Takes over the claim on conv. True when a step was started. */
bool route_conversation(router_t *self, const job_t *queue_job, const Beseda__ConversationInfo *conv,
                        const Beseda__RouteDecision *d, assign_load_t *live, size_t n_live,
                        char **online, size_t n_online);
/* Sends one StoreRouteStep; job gets site/conv/from set by the caller. */
void route_step_send(router_t *self, job_t *job, const route_plan_t *plan,
                     const Beseda__RouteDecision *d);
void route_on_step(router_t *self, job_t *job, Beseda__StoreReply *reply);
/* A STEP_ROUTE_STEP job ends without an answer: give up its claim. */
void route_abandon(router_t *self, const job_t *job);
void ring_accept(router_t *self, job_t *job);
void ring_on_accept(router_t *self, job_t *job, Beseda__StoreReply *reply);
void ring_on_lost(router_t *self, job_t *job, Beseda__StoreReply *reply);

/* ---- deadlines (due.c) */

/* Polls StoreDue when its time has come (one poll in flight at a time). */
void due_when_due(router_t *self);
/* Milliseconds until the next poll (for the loop's wait). */
int64_t due_wait_ms(const router_t *self);
void due_on_due(router_t *self, job_t *job, Beseda__StoreReply *reply);
void due_on_route(router_t *self, job_t *job, Beseda__StoreReply *reply);
/* The STEP_DUE job ends without an answer. */
void due_abandon(router_t *self);

#endif
