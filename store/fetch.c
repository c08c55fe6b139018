/* fetch: messages after a sequence number, for resume and gap repair.
 * A conversation that does not exist (yet: the router mints ids before the
 * first message) gives an empty list with last_seq 0, not an error: to the
 * client both mean "nothing to catch up on". Who may read it is the router's
 * check (it knows the client); the store only keeps sites apart. */
#include "rows.h"
#include "store.h"
#include "validate.h"

static store_err_t load_last_seq(store_ctx_t *ctx, const Beseda__StoreFetch *req, uint64_t *last_seq)
{
    const char *params[] = { req->site_id, req->conversation_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT last_seq FROM conversations WHERE site_id = $1 AND id = $2", 2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    *last_seq = PQntuples(res) > 0 ? rows_u64(res, 0, 0) : 0;
    PQclear(res);
    return STORE_OK;
}

store_err_t store_fetch(store_ctx_t *ctx, const Beseda__StoreFetch *req,
                        Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id))
        return STORE_BAD_REQUEST;
    Beseda__MessageList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__message_list__init(list);
    list->conversation_id = req->conversation_id;
    reply->body_case = BESEDA__STORE_REPLY__BODY_MESSAGES;
    reply->messages = list;

    uint32_t limit = req->limit == 0 || req->limit > STORE_FETCH_MAX ? STORE_FETCH_MAX : req->limit;
    /* Read last_seq first: messages committed in between only make the list
     * longer than last_seq says, never leave a gap behind it. */
    store_err_t err = load_last_seq(ctx, req, &list->last_seq);
    if (err != STORE_OK)
        return err;
    Beseda__ChatMessage **msgs;
    size_t n;
    /* One more than asked tells whether there is more. */
    err = rows_messages(ctx, mem, req->site_id, req->conversation_id, req->after_seq,
                        limit + 1, &msgs, &n);
    if (err != STORE_OK)
        return err;
    size_t take = store_msgs_within(msgs, n > limit ? limit : n, STORE_FETCH_MAX_BYTES);
    list->more = n > take;
    list->n_messages = take;
    list->messages = msgs;
    if (list->n_messages > 0 && msgs[list->n_messages - 1]->seq > list->last_seq)
        list->last_seq = msgs[list->n_messages - 1]->seq;
    return STORE_OK;
}
