/* assign: give a conversation to an operator, move it from one operator to
 * another, or put it back in the queue (proto StoreAssign).
 *
 * Every form is one conditional UPDATE, a compare-and-set on operator_id:
 * first assignment only while the conversation has no operator, a move only
 * while it still has `from_operator_id`. So two routers racing for one chat
 * cannot both win, and a chat that moved on cannot be moved back by a late
 * request. Fenced by the epoch like appends.
 *
 * ok tells whether the conversation is now as asked; applied tells whether
 * this request made it so. The row keeps the assign_id of the change that
 * last touched it, so a retry of a request that went through (the bus
 * resends; after a crash the retry may reach another store) still answers
 * applied = true, and one that lost answers false: the router publishes on
 * applied only, which makes each change published once. A refusal (taken,
 * closed, stale epoch, operator of another site) is ok = false with the
 * conversation as it is. */
#include "epoch.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_empty(const char *s)
{
    return !s || !*s;
}

static bool valid_request(const Beseda__StoreAssign *req)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id))
        return false;
    if (!is_empty(req->operator_id) && !store_valid_uuid(req->operator_id))
        return false;
    if (!is_empty(req->from_operator_id) && !store_valid_uuid(req->from_operator_id))
        return false;
    if (!is_empty(req->assign_id) && !store_valid_uuid(req->assign_id))
        return false;
    /* Nothing to do without a target, unless it is a move back to the queue. */
    return !is_empty(req->operator_id) || !is_empty(req->from_operator_id);
}

/* The compare-and-set. $3 target operator ('' = none: back to the queue),
 * $5 expected current operator ('' = none), $6 assign id. Moving to the
 * operator who has it already is no change. Sets *updated. */
static store_err_t update_row(store_ctx_t *ctx, const Beseda__StoreAssign *req, bool *updated)
{
    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    const char *params[] = { req->site_id, req->conversation_id,
                             req->operator_id ? req->operator_id : "", epoch,
                             req->from_operator_id ? req->from_operator_id : "",
                             req->assign_id ? req->assign_id : "" };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "UPDATE conversations c SET operator_id = NULLIF($3::text, '')::uuid,"
        "       state = CASE WHEN $3::text = '' THEN 'queued' ELSE 'assigned' END,"
        "       assign_id = NULLIF($6::text, ''), updated_at = now(),"
        "       owner_epoch = greatest(c.owner_epoch, $4::bigint)"
        " WHERE c.site_id = $1 AND c.id = $2 AND c.state <> 'closed'"
        "   AND c.owner_epoch <= $4::bigint"
        "   AND c.operator_id IS NOT DISTINCT FROM NULLIF($5::text, '')::uuid"
        "   AND c.operator_id IS DISTINCT FROM NULLIF($3::text, '')::uuid"
        "   AND ($3::text = '' OR EXISTS (SELECT 1 FROM operators o"
        "                                  WHERE o.id = NULLIF($3::text, '')::uuid AND o.site_id = $1))"
        " RETURNING 1", 6, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    *updated = PQntuples(res) == 1;
    PQclear(res);
    return STORE_OK;
}

/* Whether the row's last change was the one named assign_id (a retry of a
 * request that went through). */
static store_err_t changed_by(store_ctx_t *ctx, const Beseda__StoreAssign *req, bool *mine)
{
    *mine = false;
    if (is_empty(req->assign_id))
        return STORE_OK;
    const char *params[] = { req->site_id, req->conversation_id, req->assign_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT 1 FROM conversations WHERE site_id = $1 AND id = $2 AND assign_id = $3",
        3, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    *mine = PQntuples(res) == 1;
    PQclear(res);
    return STORE_OK;
}

/* Is the conversation now as the request asked? Postgres prints uuids in
 * lower case; the request may not. */
static bool as_asked(const Beseda__ConversationInfo *c, const Beseda__StoreAssign *req)
{
    if (!c)
        return false;
    if (is_empty(req->operator_id))
        return strcmp(c->state, "queued") == 0 && is_empty(c->operator_id);
    return strcmp(c->state, "assigned") == 0
        && strcasecmp(c->operator_id, req->operator_id) == 0;
}

store_err_t store_assign(store_ctx_t *ctx, const Beseda__StoreAssign *req,
                         Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!valid_request(req))
        return STORE_BAD_REQUEST;
    Beseda__StoreAssignReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_assign_reply__init(r);
    reply->body_case = BESEDA__STORE_REPLY__BODY_ASSIGN;
    reply->assign = r;

    bool updated = false, mine = false;
    store_err_t err = update_row(ctx, req, &updated);
    if (err == STORE_OK && !updated)
        err = changed_by(ctx, req, &mine);
    if (err == STORE_OK)
        err = rows_conversation_get(ctx, mem, req->site_id, req->conversation_id, &r->conversation);
    if (err != STORE_OK)
        return err;
    r->ok = as_asked(r->conversation, req);
    r->applied = r->ok && (updated || mine);
    return STORE_OK;
}
