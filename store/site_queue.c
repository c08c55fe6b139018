/* site_queue: what the router needs to pick an operator: each operator's
 * load and limit, the open chats nobody has, oldest first, and, when asked
 * with an operator id, that operator's open chats (to hand them on when they
 * went offline). Presence is not here (it lives in Redis); the router joins
 * the two. The loads are operators.open_chats, which a trigger keeps
 * (migration 0004), rather than a count over every open chat of the site:
 * this runs for every new conversation. */
#include "route.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <stdbool.h>

static store_err_t load_operators(store_ctx_t *ctx, const char *site_id,
                                  Beseda__StoreSiteQueueReply *r, store_mem_t *mem)
{
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT o.id, o.name, o.max_chats, o.open_chats FROM operators o"
        " WHERE o.site_id = $1 ORDER BY o.id", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int n = PQntuples(res);
    if (n == 0)
        return STORE_OK;
    r->loads = store_mem_alloc(mem, (size_t) n * sizeof *r->loads);
    if (!r->loads)
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++) {
        Beseda__OperatorLoad *load = store_mem_alloc(mem, sizeof *load);
        if (!load)
            return STORE_INTERNAL;
        beseda__operator_load__init(load);
        load->operator_id = rows_str(res, i, 0);
        load->name = rows_str(res, i, 1);
        load->max_chats = (uint32_t) rows_u64(res, i, 2);
        load->open_chats = (uint32_t) rows_u64(res, i, 3);
        r->loads[i] = load;
    }
    r->n_loads = (size_t) n;
    return STORE_OK;
}

/* One RouteDecision per unassigned conversation (route.c), with its stage
 * and tried list read in the same statement as the conversation. */
static store_err_t decide_each(store_ctx_t *ctx, const char *site_id, const PGresult *res,
                               Beseda__StoreSiteQueueReply *r, store_mem_t *mem)
{
    json_t *routing;
    int minute;
    store_err_t err = route_load_site(ctx, site_id, &routing, &minute);
    if (err != STORE_OK)
        return err;
    int stage_col = rows_col(res, "route_stage"), tried_col = rows_col(res, "tried");
    r->decisions = stage_col < 0 || tried_col < 0
        ? NULL : store_mem_alloc(mem, r->n_unassigned * sizeof *r->decisions);
    for (size_t i = 0; r->decisions && i < r->n_unassigned; i++) {
        route_segment_t seg;
        route_segment_of(r->unassigned[i], &seg);
        Beseda__RouteDecision *d = route_decide(mem, routing, minute, r->loads, r->n_loads, &seg);
        if (!d || !rows_split_ids(mem, rows_str(res, (int) i, tried_col), &d->tried, &d->n_tried)) {
            err = STORE_INTERNAL;
            break;
        }
        /* The site default's candidates are every operator: the reply's
         * loads already list them once. Copying them into each of up to
         * STORE_QUEUE_MAX decisions made a reply of queue x operators
         * (100 x 250 loads per visitor message under load); the router
         * reads the loads for an unmatched decision without candidates. */
        if (!d->matched) {
            d->candidates = NULL;
            d->n_candidates = 0;
        }
        d->stage = (uint32_t) rows_u64(res, (int) i, stage_col);
        d->state = r->unassigned[i]->state;
        d->deadline_ms = r->unassigned[i]->deadline_ms;
        r->decisions[i] = d;
    }
    json_decref(routing);
    if (err == STORE_OK && !r->decisions)
        err = STORE_INTERNAL;
    r->n_decisions = err == STORE_OK ? r->n_unassigned : 0;
    return err;
}

/* Open conversations nobody has, oldest first; a ringing one is being
 * offered (it waits for an accept, not for an assignment). */
static store_err_t load_unassigned(store_ctx_t *ctx, const char *site_id, const char *conv_id,
                                   Beseda__StoreSiteQueueReply *r, store_mem_t *mem)
{
    const char *params[] = { site_id, conv_id };
    PGresult *res;
    db_status_t st = conv_id
        ? store_db_query(ctx->db,
            "SELECT " CONV_COLUMNS CONV_STAGE_COLUMNS CONV_FROM
            "WHERE c.site_id = $1 AND c.id = $2 AND c.operator_id IS NULL"
            " AND c.state NOT IN ('closed', 'ringing')", 2, params, &res)
        : store_db_query(ctx->db,
            "SELECT " CONV_COLUMNS CONV_STAGE_COLUMNS CONV_FROM
            "WHERE c.site_id = $1 AND c.operator_id IS NULL AND c.state NOT IN ('closed', 'ringing')"
            " ORDER BY c.created_at LIMIT " STORE_STR(STORE_QUEUE_MAX), 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int n = PQntuples(res);
    if (n == 0)
        return STORE_OK;
    rows_conv_cols_t cols;
    r->unassigned = store_mem_alloc(mem, (size_t) n * sizeof *r->unassigned);
    if (!r->unassigned || !rows_conv_cols(res, &cols))
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!(r->unassigned[i] = rows_conversation(mem, res, i, &cols)))
            return STORE_INTERNAL;
    r->n_unassigned = (size_t) n;
    return decide_each(ctx, site_id, res, r, mem);
}

store_err_t store_site_queue(store_ctx_t *ctx, const Beseda__StoreSiteQueue *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    bool of_operator = req->operator_id && *req->operator_id;
    bool of_conv = req->conversation_id && *req->conversation_id;
    if (!store_valid_uuid(req->site_id) || (of_operator && !store_valid_uuid(req->operator_id))
        || (of_conv && !store_valid_uuid(req->conversation_id)))
        return STORE_BAD_REQUEST;
    Beseda__StoreSiteQueueReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_site_queue_reply__init(r);
    reply->body_case = BESEDA__STORE_REPLY__BODY_SITE_QUEUE;
    reply->site_queue = r;
    store_err_t err = load_operators(ctx, req->site_id, r, mem);
    if (err != STORE_OK)
        return err;
    if (of_operator) {
        const char *op_params[] = { req->site_id, req->operator_id };
        err = rows_conversations(ctx, mem,
            "SELECT " CONV_COLUMNS CONV_FROM
            "WHERE c.site_id = $1 AND c.operator_id = $2 AND c.state = 'assigned'"
            " ORDER BY c.created_at LIMIT " STORE_STR(STORE_QUEUE_MAX), 2, op_params,
            &r->operator_conversations, &r->n_operator_conversations);
        if (err != STORE_OK)
            return err;
    }
    return load_unassigned(ctx, req->site_id, of_conv ? req->conversation_id : NULL, r, mem);
}
