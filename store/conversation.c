/* close and get_conversation. Close is idempotent (closing a closed
 * conversation answers it as it is) and fenced by the epoch. Another site's
 * conversation is "forbidden", one that exists nowhere "no_conversation". */
#include "epoch.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <string.h>

/* Whether the id names a conversation of some other site. The protocol
 * answers that "forbidden" rather than "no_conversation"; nothing of the
 * conversation is read. */
static store_err_t exists_elsewhere(store_ctx_t *ctx, const char *id, int *exists)
{
    const char *params[] = { id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, "SELECT 1 FROM conversations WHERE id = $1", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    *exists = PQntuples(res) > 0;
    PQclear(res);
    return STORE_OK;
}

static store_err_t reply_conversation(store_ctx_t *ctx, const char *site_id, const char *id,
                                      Beseda__StoreReply *reply, store_mem_t *mem)
{
    Beseda__ConversationInfo *conv;
    store_err_t err = rows_conversation_get(ctx, mem, site_id, id, &conv);
    if (err != STORE_OK)
        return err;
    if (!conv) {
        int elsewhere = 0;
        err = exists_elsewhere(ctx, id, &elsewhere);
        if (err != STORE_OK)
            return err;
        return elsewhere ? STORE_FORBIDDEN : STORE_NO_CONVERSATION;
    }
    reply->body_case = BESEDA__STORE_REPLY__BODY_CONVERSATION;
    reply->conversation = conv;
    return STORE_OK;
}

store_err_t store_close(store_ctx_t *ctx, const Beseda__StoreClose *req,
                        Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id))
        return STORE_BAD_REQUEST;
    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    const char *params[] = { req->site_id, req->conversation_id, epoch };
    store_err_t err = rows_err(store_db_exec(ctx->db,
        "UPDATE conversations c SET state = 'closed', closed_at = now(), updated_at = now(),"
        "       owner_epoch = greatest(c.owner_epoch, $3::bigint),"
        "       route_stage = c.route_stage + 1, ringing = '{}', deadline_at = NULL"
        " WHERE c.site_id = $1 AND c.id = $2 AND c.state <> 'closed'"
        "   AND c.owner_epoch <= $3::bigint", 3, params));
    if (err != STORE_OK)
        return err;
    err = reply_conversation(ctx, req->site_id, req->conversation_id, reply, mem);
    if (err == STORE_OK && strcmp(reply->conversation->state, "closed") != 0)
        return STORE_STALE_EPOCH;   /* exists, open, not updated: only the epoch stops it */
    return err;
}

store_err_t store_get_conversation(store_ctx_t *ctx, const Beseda__StoreGetConversation *req,
                                   Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id))
        return STORE_BAD_REQUEST;
    return reply_conversation(ctx, req->site_id, req->conversation_id, reply, mem);
}
