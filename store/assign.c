/* assign: give an unassigned, open conversation to an operator of its site.
 * Conditional, so two routers racing for one chat cannot both win, and
 * fenced by the epoch like appends. Idempotent: a retry of an assignment
 * that already went through answers ok again. A refusal (taken, closed,
 * stale epoch, operator of another site) is ok = false with the
 * conversation as it is. */
#include "epoch.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <string.h>
#include <strings.h>

store_err_t store_assign(store_ctx_t *ctx, const Beseda__StoreAssign *req,
                         Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id)
        || !store_valid_uuid(req->operator_id))
        return STORE_BAD_REQUEST;
    Beseda__StoreAssignReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_assign_reply__init(r);
    reply->body_case = BESEDA__STORE_REPLY__BODY_ASSIGN;
    reply->assign = r;

    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    const char *params[] = { req->site_id, req->conversation_id, req->operator_id, epoch };
    store_err_t err = rows_err(store_db_exec(ctx->db,
        "UPDATE conversations c SET operator_id = $3, state = 'assigned', updated_at = now(),"
        "       owner_epoch = greatest(c.owner_epoch, $4::bigint)"
        " WHERE c.site_id = $1 AND c.id = $2 AND c.operator_id IS NULL AND c.state <> 'closed'"
        "   AND c.owner_epoch <= $4::bigint"
        "   AND EXISTS (SELECT 1 FROM operators o WHERE o.id = $3 AND o.site_id = $1)",
        4, params));
    if (err != STORE_OK)
        return err;
    err = rows_conversation_get(ctx, mem, req->site_id, req->conversation_id, &r->conversation);
    if (err != STORE_OK)
        return err;
    /* Postgres prints uuids in lower case; the request may not. */
    r->ok = r->conversation && strcmp(r->conversation->state, "assigned") == 0
         && strcasecmp(r->conversation->operator_id, req->operator_id) == 0;
    return STORE_OK;
}
