/* Routing decisions shared by the route request and site_queue (route.c). */
#ifndef STORE_ROUTE_H
#define STORE_ROUTE_H

#include "route_eval.h"
#include "store.h"

/* Every operator of the site, by id, as OperatorLoad messages in mem. */
store_err_t route_load_operators(store_ctx_t *ctx, const char *site_id, store_mem_t *mem,
                                 Beseda__OperatorLoad ***out, size_t *count);

/* The site's routing document (a new reference, {} if none) and the local
 * minute of the week in its time zone (0 = Monday 00:00). */
store_err_t route_load_site(store_ctx_t *ctx, const char *site_id, json_t **routing, int *local_minute);

/* Evaluates routing for seg (docs/ROUTING.md): the first matching rule, its
 * mode, limits, schedule now, candidates and fallback from loads. The
 * conversation's own fields (tried, stage, state, deadline) are left for the
 * caller. */
Beseda__RouteDecision *route_decide(store_mem_t *mem, const json_t *routing, int local_minute,
                                    Beseda__OperatorLoad **loads, size_t n_loads,
                                    const route_segment_t *seg);

/* The segment of a conversation as rows_conversation built it. */
void route_segment_of(const Beseda__ConversationInfo *c, route_segment_t *seg);

/* Fills an operator reply's ringing conversations and the site's groups. */
store_err_t route_operator_extras(store_ctx_t *ctx, Beseda__StoreOperatorReply *r, store_mem_t *mem);

#endif
