#include "rows.h"
#include <stdio.h>
#include <stdlib.h>

char *rows_str(const PGresult *res, int row, int col)
{
    /* protobuf-c fields are char * but packing only reads them. */
    return (char *) PQgetvalue(res, row, col);
}

uint64_t rows_u64(const PGresult *res, int row, int col)
{
    return strtoull(PQgetvalue(res, row, col), NULL, 10);
}

int64_t rows_i64(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int rows_bool(const PGresult *res, int row, int col)
{
    return PQgetvalue(res, row, col)[0] == 't';
}

store_err_t rows_err(db_status_t st)
{
    return st == DB_OK ? STORE_OK : st == DB_RETRY ? STORE_UNAVAILABLE : STORE_INTERNAL;
}

Beseda__ConversationInfo *rows_conversation(store_mem_t *mem, const PGresult *res, int row, int col)
{
    Beseda__ConversationInfo *c = store_mem_alloc(mem, sizeof *c);
    Beseda__PageInfo *page = store_mem_alloc(mem, sizeof *page);
    if (!c || !page)
        return NULL;
    beseda__conversation_info__init(c);
    beseda__page_info__init(page);
    c->id = rows_str(res, row, col);
    c->site_id = rows_str(res, row, col + 1);
    c->visitor_id = rows_str(res, row, col + 2);
    c->state = rows_str(res, row, col + 3);
    c->operator_id = rows_str(res, row, col + 4);
    c->operator_name = rows_str(res, row, col + 5);
    c->last_seq = rows_u64(res, row, col + 6);
    c->created_ms = rows_i64(res, row, col + 7);
    page->url = rows_str(res, row, col + 8);
    page->title = rows_str(res, row, col + 9);
    c->page = page;
    return c;
}

Beseda__ChatMessage *rows_message(store_mem_t *mem, const PGresult *res, int row, int col)
{
    Beseda__ChatMessage *m = store_mem_alloc(mem, sizeof *m);
    Beseda__Author *a = store_mem_alloc(mem, sizeof *a);
    if (!m || !a)
        return NULL;
    beseda__chat_message__init(m);
    beseda__author__init(a);
    m->conversation_id = rows_str(res, row, col);
    m->seq = rows_u64(res, row, col + 1);
    m->client_msg_id = rows_str(res, row, col + 2);
    a->kind = rows_str(res, row, col + 3);
    a->id = rows_str(res, row, col + 4);
    a->name = rows_str(res, row, col + 5);
    m->text = rows_str(res, row, col + 6);
    m->ts_ms = rows_i64(res, row, col + 7);
    m->author = a;
    return m;
}

store_err_t rows_conversations(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int nparams,
                               const char *const *params, Beseda__ConversationInfo ***out,
                               size_t *count)
{
    *out = NULL;
    *count = 0;
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, sql, nparams, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int n = PQntuples(res);
    if (n == 0)
        return STORE_OK;
    Beseda__ConversationInfo **list = store_mem_alloc(mem, (size_t) n * sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!(list[i] = rows_conversation(mem, res, i, 0)))
            return STORE_INTERNAL;
    *out = list;
    *count = (size_t) n;
    return STORE_OK;
}

store_err_t rows_conversation_get(store_ctx_t *ctx, store_mem_t *mem, const char *site_id,
                                  const char *conversation_id, Beseda__ConversationInfo **out)
{
    const char *params[] = { site_id, conversation_id };
    Beseda__ConversationInfo **list;
    size_t n;
    store_err_t err = rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM "WHERE c.site_id = $1 AND c.id = $2",
        2, params, &list, &n);
    *out = err == STORE_OK && n > 0 ? list[0] : NULL;
    return err;
}

store_err_t rows_messages(store_ctx_t *ctx, store_mem_t *mem, const char *site_id,
                          const char *conversation_id, uint64_t after_seq, uint32_t limit,
                          Beseda__ChatMessage ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    char after[24], lim[16];
    snprintf(after, sizeof after, "%llu", (unsigned long long) (after_seq > INT64_MAX ? INT64_MAX : after_seq));
    snprintf(lim, sizeof lim, "%u", limit);
    const char *params[] = { site_id, conversation_id, after, lim };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT " MSG_COLUMNS " FROM messages m"
        " WHERE m.site_id = $1 AND m.conversation_id = $2 AND m.seq > $3"
        " ORDER BY m.seq LIMIT $4", 4, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int n = PQntuples(res);
    if (n == 0)
        return STORE_OK;
    Beseda__ChatMessage **list = store_mem_alloc(mem, (size_t) n * sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!(list[i] = rows_message(mem, res, i, 0)))
            return STORE_INTERNAL;
    *out = list;
    *count = (size_t) n;
    return STORE_OK;
}
