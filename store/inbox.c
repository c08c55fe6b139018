/* The operators' inbox (proto StoreInbox; docs/ROUTING.md "Inbox"): the
 * site's missed chats and offline messages, each new until an operator
 * answers it by e-mail or marks it done. Every query is scoped by the
 * site the router resolved from the operator's session, so another site's
 * item is "not_found", never shown nor answered. The SQL is migration
 * 0026's: the item's JSON is built there, the reply mail is queued in the
 * transaction that marks the item done. */
#include "store.h"
#include "reply.h"
#include "rows.h"
#include "validate.h"
#include <string.h>

#define INBOX_LIST_MAX      200     /* items in one list, new ones first */
#define INBOX_REPLY_MAX    8192     /* bytes of an e-mail answer */

static store_err_t inbox_list(store_ctx_t *ctx, const Beseda__StoreInbox *req,
                              Beseda__StoreReply *reply, store_mem_t *mem)
{
    const char *params[] = { req->site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT beseda_inbox_list($1::uuid, " STORE_STR(INBOX_LIST_MAX) ")", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_INTERNAL;
    return store_reply_json(reply, mem, PQgetvalue(res, 0, 0));
}

/* reply (with text) or done: {"item":{...}} after the change. */
static store_err_t inbox_answer(store_ctx_t *ctx, const Beseda__StoreInbox *req, bool with_text,
                                Beseda__StoreReply *reply, store_mem_t *mem)
{
    const char *params[] = { req->site_id, req->item_id, req->operator_id,
                             with_text ? req->text : NULL };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT status, coalesce(item, '') FROM beseda_inbox_answer($1::uuid, $2::uuid, $3::uuid, $4)",
        4, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_INTERNAL;
    const char *status = PQgetvalue(res, 0, 0);
    if (strcmp(status, "not_found") == 0)
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such inbox item");
    if (strcmp(status, "no_email") == 0)
        return store_fail_with(reply, mem, STORE_BAD_VALUE,
                               "the visitor left no e-mail address: call them and mark it done");
    if (strcmp(status, "ok") != 0)
        return STORE_INTERNAL;
    size_t n = strlen(PQgetvalue(res, 0, 1));
    char *doc = store_mem_alloc(mem, n + 10);
    if (!doc)
        return STORE_INTERNAL;
    memcpy(doc, "{\"item\":", 8);
    memcpy(doc + 8, PQgetvalue(res, 0, 1), n);
    memcpy(doc + 8 + n, "}", 2);
    return store_reply_json(reply, mem, doc);
}

store_err_t store_inbox(store_ctx_t *ctx, const Beseda__StoreInbox *req,
                        Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->operator_id) || !req->action)
        return STORE_BAD_REQUEST;
    if (strcmp(req->action, "list") == 0)
        return inbox_list(ctx, req, reply, mem);
    bool is_reply = strcmp(req->action, "reply") == 0;
    if (!is_reply && strcmp(req->action, "done") != 0)
        return STORE_BAD_REQUEST;
    if (!store_valid_uuid(req->item_id))
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such inbox item");
    if (is_reply) {
        const char *text = req->text ? req->text : "";
        size_t skip = strspn(text, " \t\r\n");
        if (!text[skip])
            return store_fail_with(reply, mem, STORE_MISSING_FIELD, "field 'text' is required");
        if (!store_valid_text(text, INBOX_REPLY_MAX))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "text must be UTF-8 of at most 8192 bytes");
    }
    return inbox_answer(ctx, req, is_reply, reply, mem);
}
