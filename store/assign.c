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

/* The compare-and-set, whether the row's last change was the one named
 * assign_id (a retry of a request that went through), and the conversation
 * afterwards: one call (store/sql/assign.sql). Moving to the operator who has it
 * already is no change. */
static store_err_t run_assign(store_ctx_t *ctx, const Beseda__StoreAssign *req, store_mem_t *mem,
                              bool *updated, bool *mine, Beseda__ConversationInfo **conv)
{
    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    const char *params[] = { req->site_id, req->conversation_id,
                             is_empty(req->operator_id) ? NULL : req->operator_id, epoch,
                             is_empty(req->from_operator_id) ? NULL : req->from_operator_id,
                             is_empty(req->assign_id) ? NULL : req->assign_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT * FROM beseda_assign($1::uuid, $2::uuid, $3::uuid, $4::bigint, $5::uuid, $6)",
        6, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    *updated = *mine = false;
    *conv = NULL;
    if (PQntuples(res) == 0)
        return STORE_OK;                 /* not a conversation of this site */
    rows_conv_cols_t cols;
    int updated_col = rows_col(res, "updated"), mine_col = rows_col(res, "mine");
    if (updated_col < 0 || mine_col < 0 || !rows_conv_cols(res, &cols))
        return STORE_INTERNAL;
    *updated = rows_bool(res, 0, updated_col);
    *mine = rows_bool(res, 0, mine_col);
    return (*conv = rows_conversation(mem, res, 0, &cols)) ? STORE_OK : STORE_INTERNAL;
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
    store_err_t err = run_assign(ctx, req, mem, &updated, &mine, &r->conversation);
    if (err != STORE_OK)
        return err;
    r->ok = as_asked(r->conversation, req);
    r->applied = r->ok && (updated || mine);
    return STORE_OK;
}
