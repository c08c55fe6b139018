#include "rows.h"
#include "log.h"
#include "route_eval.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int rows_col(const PGresult *res, const char *name)
{
    int col = PQfnumber(res, name);
    if (col < 0)
        log_error("result has no such column", "column", name);
    return col;
}

bool rows_cols(const PGresult *res, const char *const *names, int n, int *cols)
{
    for (int i = 0; i < n; i++)
        if ((cols[i] = rows_col(res, names[i])) < 0)
            return false;
    return true;
}

bool rows_conv_cols(const PGresult *res, rows_conv_cols_t *cols)
{
    static const char *const names[CONV_NCOLS] = {
        [CONV_ID] = "id", [CONV_SITE_ID] = "site_id", [CONV_VISITOR_ID] = "visitor_id",
        [CONV_STATE] = "state", [CONV_OPERATOR_ID] = "operator_id",
        [CONV_OPERATOR_NAME] = "operator_name", [CONV_LAST_SEQ] = "last_seq",
        [CONV_CREATED_MS] = "created_ms", [CONV_FIRST_URL] = "first_url",
        [CONV_FIRST_TITLE] = "first_title", [CONV_MISSED] = "r_missed",
        [CONV_VISITOR_NAME] = "r_visitor_name", [CONV_VISITOR_EMAIL] = "r_visitor_email",
        [CONV_VISITOR_PHONE] = "r_visitor_phone", [CONV_SURVEY_ANSWER] = "r_survey_answer",
        [CONV_DEADLINE_MS] = "r_deadline_ms", [CONV_RULE] = "r_rule",
        [CONV_RINGING] = "r_ringing", [CONV_REFERRER] = "r_referrer",
        [CONV_LANGUAGE] = "r_language", [CONV_COUNTRY] = "r_country", [CONV_CITY] = "r_city",
    };
    return rows_cols(res, names, CONV_NCOLS, cols->col);
}

bool rows_msg_cols(const PGresult *res, rows_msg_cols_t *cols)
{
    static const char *const names[MSG_NCOLS] = {
        [MSG_CONVERSATION_ID] = "conversation_id", [MSG_SEQ] = "seq",
        [MSG_CLIENT_MSG_ID] = "client_msg_id", [MSG_AUTHOR_KIND] = "author_kind",
        [MSG_AUTHOR_ID] = "author_id", [MSG_AUTHOR_NAME] = "author_name", [MSG_BODY] = "body",
        [MSG_TS_MS] = "ts_ms",
    };
    return rows_cols(res, names, MSG_NCOLS, cols->col);
}

Beseda__ConversationInfo *rows_conversation(store_mem_t *mem, const PGresult *res, int row,
                                            const rows_conv_cols_t *cols)
{
    const int *k = cols->col;
    Beseda__ConversationInfo *c = store_mem_alloc(mem, sizeof *c);
    Beseda__PageInfo *page = store_mem_alloc(mem, sizeof *page);
    if (!c || !page)
        return NULL;
    beseda__conversation_info__init(c);
    beseda__page_info__init(page);
    c->id = rows_str(res, row, k[CONV_ID]);
    c->site_id = rows_str(res, row, k[CONV_SITE_ID]);
    c->visitor_id = rows_str(res, row, k[CONV_VISITOR_ID]);
    c->state = rows_str(res, row, k[CONV_STATE]);
    c->operator_id = rows_str(res, row, k[CONV_OPERATOR_ID]);
    c->operator_name = rows_str(res, row, k[CONV_OPERATOR_NAME]);
    c->last_seq = rows_u64(res, row, k[CONV_LAST_SEQ]);
    c->created_ms = rows_i64(res, row, k[CONV_CREATED_MS]);
    page->url = rows_str(res, row, k[CONV_FIRST_URL]);
    page->title = rows_str(res, row, k[CONV_FIRST_TITLE]);
    c->page = page;
    c->missed = rows_bool(res, row, k[CONV_MISSED]);
    c->visitor_name = rows_str(res, row, k[CONV_VISITOR_NAME]);
    c->visitor_email = rows_str(res, row, k[CONV_VISITOR_EMAIL]);
    c->visitor_phone = rows_str(res, row, k[CONV_VISITOR_PHONE]);
    c->survey_answer = rows_str(res, row, k[CONV_SURVEY_ANSWER]);
    c->deadline_ms = rows_i64(res, row, k[CONV_DEADLINE_MS]);
    c->rule = rows_str(res, row, k[CONV_RULE]);
    if (!rows_split_ids(mem, rows_str(res, row, k[CONV_RINGING]), &c->ringing, &c->n_ringing))
        return NULL;
    page->referrer = rows_str(res, row, k[CONV_REFERRER]);
    page->language = rows_str(res, row, k[CONV_LANGUAGE]);
    page->country = rows_str(res, row, k[CONV_COUNTRY]);
    page->city = rows_str(res, row, k[CONV_CITY]);
    return rows_page_utm(mem, page) ? c : NULL;
}

bool rows_split_ids(store_mem_t *mem, const char *text, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!text || !*text)
        return true;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    size_t len = strlen(text);
    char *copy = store_mem_alloc(mem, len + 1);
    char **list = store_mem_alloc(mem, n * sizeof *list);
    if (!copy || !list)
        return false;
    memcpy(copy, text, len + 1);
    size_t i = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && i < n;
         tok = strtok_r(NULL, ",", &save))
        list[i++] = tok;
    *out = list;
    *count = i;
    return true;
}

bool rows_page_utm(store_mem_t *mem, Beseda__PageInfo *page)
{
    const char *url = page->url ? page->url : "";
    size_t cap = strlen(url) + 1;
    char *utm = store_mem_alloc(mem, cap);
    if (!utm)
        return false;
    route_utm_source(url, utm, cap);
    page->utm_source = utm;
    return true;
}

Beseda__ChatMessage *rows_message(store_mem_t *mem, const PGresult *res, int row,
                                  const rows_msg_cols_t *cols)
{
    const int *k = cols->col;
    Beseda__ChatMessage *m = store_mem_alloc(mem, sizeof *m);
    Beseda__Author *a = store_mem_alloc(mem, sizeof *a);
    if (!m || !a)
        return NULL;
    beseda__chat_message__init(m);
    beseda__author__init(a);
    m->conversation_id = rows_str(res, row, k[MSG_CONVERSATION_ID]);
    m->seq = rows_u64(res, row, k[MSG_SEQ]);
    m->client_msg_id = rows_str(res, row, k[MSG_CLIENT_MSG_ID]);
    a->kind = rows_str(res, row, k[MSG_AUTHOR_KIND]);
    a->id = rows_str(res, row, k[MSG_AUTHOR_ID]);
    a->name = rows_str(res, row, k[MSG_AUTHOR_NAME]);
    m->text = rows_str(res, row, k[MSG_BODY]);
    m->ts_ms = rows_i64(res, row, k[MSG_TS_MS]);
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
    rows_conv_cols_t cols;
    Beseda__ConversationInfo **list = store_mem_alloc(mem, (size_t) n * sizeof *list);
    if (!list || !rows_conv_cols(res, &cols))
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!(list[i] = rows_conversation(mem, res, i, &cols)))
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
    rows_msg_cols_t cols;
    Beseda__ChatMessage **list = store_mem_alloc(mem, (size_t) n * sizeof *list);
    if (!list || !rows_msg_cols(res, &cols))
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++)
        if (!(list[i] = rows_message(mem, res, i, &cols)))
            return STORE_INTERNAL;
    *out = list;
    *count = (size_t) n;
    return STORE_OK;
}
