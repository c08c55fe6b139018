/* site_queue: what the router needs to pick an operator: each operator's
 * load and limit, the open chats nobody has, oldest first, and, when asked
 * with an operator id, that operator's open chats (to hand them on when they
 * went offline). Presence is not here (it lives in Redis); the router joins
 * the two. The loads are operators.open_chats, which a trigger keeps
 * (migration 0004), rather than a count over every open chat of the site:
 * this runs for every new conversation. */
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

store_err_t store_site_queue(store_ctx_t *ctx, const Beseda__StoreSiteQueue *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    bool of_operator = req->operator_id && *req->operator_id;
    if (!store_valid_uuid(req->site_id) || (of_operator && !store_valid_uuid(req->operator_id)))
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
    const char *params[] = { req->site_id };
    return rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.operator_id IS NULL AND c.state <> 'closed'"
        " ORDER BY c.created_at LIMIT " STORE_STR(STORE_QUEUE_MAX), 1, params,
        &r->unassigned, &r->n_unassigned);
}
