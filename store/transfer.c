/* transfer: an operator hands their chat to a colleague or to a group, with
 * an internal note (proto StoreTransfer; docs/STORE.md "transfer").
 *
 * One call of beseda_transfer() (migration 0014) does it all in one
 * transaction: the compare-and-set from the sender to the target, fenced by
 * the epoch, the note, and the system message "<name> joined the chat".
 * The message's client id is the transfer id, which makes a retry answer
 * applied again with the same message (the router publishes on applied:
 * the message and the change go out once). A refusal is not an error of the
 * request: applied = false and `refused` says why; the conversation is
 * answered as it is. */
#include "epoch.h"
#include "rows.h"
#include "team.h"
#include "validate.h"
#include <stdio.h>
#include <string.h>

static bool is_empty(const char *s)
{
    return !s || !*s;
}

static bool valid_transfer(const Beseda__StoreTransfer *req)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id)
        || !store_valid_uuid(req->from_operator_id) || !store_valid_uuid(req->transfer_id)
        || !store_valid_text(req->note, TRANSFER_NOTE_MAX))
        return false;
    if (req->n_to_any_of > TRANSFER_ANY_OF_MAX)
        return false;
    for (size_t i = 0; i < req->n_to_any_of; i++)
        if (!store_valid_uuid(req->to_any_of[i]))
            return false;
    /* Exactly one kind of target: an operator, or a (non-empty) group's members. */
    if (is_empty(req->to_operator_id))
        return req->n_to_any_of > 0;
    return req->n_to_any_of == 0 && store_valid_uuid(req->to_operator_id);
}

/* The ids as a PostgreSQL array literal (they are checked uuids). */
static char *uuid_array(store_mem_t *mem, char **ids, size_t n)
{
    char *out = store_mem_alloc(mem, 3 + n * 37);
    if (!out)
        return NULL;
    char *p = out;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
    *p++ = '}';
    *p = '\0';
    return out;
}

/* The system message as the function stored it (or had stored, on a retry). */
static Beseda__ChatMessage *system_message(store_ctx_t *ctx, store_mem_t *mem,
                                           const Beseda__StoreTransfer *req, uint64_t seq)
{
    char seq_text[24];
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long) seq);
    const char *params[] = { req->site_id, req->conversation_id, seq_text };
    PGresult *res;
    if (store_db_query(ctx->db, "SELECT " MSG_COLUMNS " FROM messages m"
                       " WHERE m.site_id = $1 AND m.conversation_id = $2 AND m.seq = $3::bigint",
                       3, params, &res) != DB_OK)
        return NULL;
    rows_msg_cols_t cols;
    if (!store_mem_keep(mem, res) || PQntuples(res) != 1 || !rows_msg_cols(res, &cols))
        return NULL;
    return rows_message(mem, res, 0, &cols);
}

static store_err_t run_transfer(store_ctx_t *ctx, const Beseda__StoreTransfer *req,
                                store_mem_t *mem, Beseda__StoreTransferReply *r, uint64_t *seq)
{
    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    char *any = uuid_array(mem, req->to_any_of, req->n_to_any_of);
    if (!any)
        return STORE_INTERNAL;
    const char *params[] = { req->site_id, req->conversation_id, req->from_operator_id,
                             is_empty(req->to_operator_id) ? NULL : req->to_operator_id,
                             any, req->note ? req->note : "", epoch, req->transfer_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT applied, refused, coalesce(msg_seq, 0) FROM beseda_transfer($1::uuid, $2::uuid,"
        " $3::uuid, $4::uuid, $5::uuid[], $6, $7::bigint, $8)", 8, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_INTERNAL;
    r->applied = rows_bool(res, 0, 0);
    r->refused = rows_str(res, 0, 1);
    *seq = rows_u64(res, 0, 2);
    return STORE_OK;
}

store_err_t store_transfer(store_ctx_t *ctx, const Beseda__StoreTransfer *req,
                           Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!valid_transfer(req))
        return STORE_BAD_REQUEST;
    Beseda__StoreTransferReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_transfer_reply__init(r);
    uint64_t seq = 0;
    store_err_t err = run_transfer(ctx, req, mem, r, &seq);
    if (err != STORE_OK)
        return err;
    if (strcmp(r->refused, "no_conversation") == 0)
        return STORE_NO_CONVERSATION;
    err = rows_conversation_get(ctx, mem, req->site_id, req->conversation_id, &r->conversation);
    if (err != STORE_OK)
        return err;
    if (!r->conversation)
        return STORE_NO_CONVERSATION;    /* deleted in between */
    if (r->applied && !(r->system_message = system_message(ctx, mem, req, seq)))
        return STORE_UNAVAILABLE;        /* committed: a retry answers it from the transfer id */
    reply->body_case = BESEDA__STORE_REPLY__BODY_TRANSFER;
    reply->transfer = r;
    return STORE_OK;
}
