/* visitor_hello: does the site exist, who is the visitor (found, re-created
 * under the id their token names, or new), record the page view, and which
 * conversation of theirs is still open. */
#include "rows.h"
#include "store.h"
#include "validate.h"
#include "log.h"

/* Site name into r, or site_exists stays false. */
static store_err_t load_site(store_ctx_t *ctx, const char *site_id,
                             Beseda__StoreVisitorHelloReply *r, store_mem_t *mem)
{
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, "SELECT name FROM sites WHERE id = $1", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) == 1) {
        r->site_exists = 1;
        r->site_name = rows_str(res, 0, 0);
    }
    return STORE_OK;
}

/* Runs a statement returning one id column; the id (or NULL if no row). */
static store_err_t query_id(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int n,
                            const char *const *params, char **id)
{
    PGresult *res;
    *id = NULL;
    db_status_t st = store_db_query(ctx->db, sql, n, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) > 0)
        *id = rows_str(res, 0, 0);
    return STORE_OK;
}

/* A known visitor is touched; an unknown but well-formed id is created as
 * given (its token is still valid even if the row was lost); anything else
 * gets a fresh visitor. */
static store_err_t find_or_create_visitor(store_ctx_t *ctx, const char *site_id, const char *given,
                                          Beseda__StoreVisitorHelloReply *r, store_mem_t *mem)
{
    char *id = NULL;
    store_err_t err;
    if (store_valid_uuid(given)) {
        const char *params[] = { given, site_id };
        err = query_id(ctx, mem,
            "UPDATE visitors SET last_seen_at = now(), visits = visits + 1"
            " WHERE id = $1 AND site_id = $2 RETURNING id::text", 2, params, &id);
        if (err != STORE_OK)
            return err;
        r->visitor_exists = id != NULL;
        if (!id) {
            /* ON CONFLICT: the id belongs to another site; fall through to a new one. */
            err = query_id(ctx, mem,
                "INSERT INTO visitors (id, site_id) VALUES ($1, $2)"
                " ON CONFLICT (id) DO NOTHING RETURNING id::text", 2, params, &id);
            if (err != STORE_OK)
                return err;
        }
    }
    if (!id) {
        const char *params[] = { site_id };
        err = query_id(ctx, mem, "INSERT INTO visitors (site_id) VALUES ($1) RETURNING id::text",
                       1, params, &id);
        if (err != STORE_OK)
            return err;
        if (!id)
            return STORE_INTERNAL;
    }
    r->visitor_id = id;
    return STORE_OK;
}

static store_err_t record_visit(store_ctx_t *ctx, const char *site_id, const char *visitor_id,
                                const Beseda__StoreVisitorHello *req)
{
    const Beseda__PageInfo *p = req->page;
    const char *params[] = {
        visitor_id, site_id, p ? p->url : "", p ? p->title : "", p ? p->referrer : "",
        p ? p->user_agent : "", p ? p->language : "", req->ip ? req->ip : ""
    };
    return rows_err(store_db_exec(ctx->db,
        "INSERT INTO visits (visitor_id, site_id, url, title, referrer, user_agent, language, ip)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, params));
}

static store_err_t find_open_conversation(store_ctx_t *ctx, const char *site_id,
                                          Beseda__StoreVisitorHelloReply *r, store_mem_t *mem)
{
    const char *params[] = { site_id, r->visitor_id };
    Beseda__ConversationInfo **list;
    size_t n;
    store_err_t err = rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.visitor_id = $2 AND c.state <> 'closed'"
        " ORDER BY c.created_at DESC LIMIT 1", 2, params, &list, &n);
    if (err == STORE_OK && n > 0)
        r->open_conversation = list[0];
    return err;
}

store_err_t store_visitor_hello(store_ctx_t *ctx, const Beseda__StoreVisitorHello *req,
                                Beseda__StoreReply *reply, store_mem_t *mem)
{
    Beseda__StoreVisitorHelloReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_visitor_hello_reply__init(r);
    reply->body_case = BESEDA__STORE_REPLY__BODY_VISITOR_HELLO;
    reply->visitor_hello = r;
    if (!store_valid_uuid(req->site_id))
        return STORE_OK;                        /* site_exists = false */
    if (!store_valid_page(req->page) || !store_valid_text(req->ip, STORE_FIELD_MAX_BYTES)
        || !store_valid_text(req->visitor_id, STORE_FIELD_MAX_BYTES))
        return STORE_BAD_REQUEST;
    store_err_t err = load_site(ctx, req->site_id, r, mem);
    if (err != STORE_OK || !r->site_exists)
        return err;
    if (store_db_begin(ctx->db) != DB_OK)
        return STORE_UNAVAILABLE;
    err = find_or_create_visitor(ctx, req->site_id, req->visitor_id, r, mem);
    if (err == STORE_OK)
        err = record_visit(ctx, req->site_id, r->visitor_id, req);
    db_status_t end = store_db_end(ctx->db, err == STORE_OK);
    if (err == STORE_OK && end != DB_OK)
        err = rows_err(end);
    if (err != STORE_OK)
        return err;
    return find_open_conversation(ctx, req->site_id, r, mem);
}
