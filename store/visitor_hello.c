/* visitor_hello: does the site exist, who is the visitor (found, re-created
 * under the id their token names, or new), record the page view, and which
 * conversation of theirs is still open. */
#include "rows.h"
#include "settings.h"
#include "store.h"
#include "validate.h"

/* One round trip (store/sql/visitor_hello.sql): the function checks the site, touches or
 * creates the visitor and records the visit in the statement's transaction;
 * the lateral join adds the newest open conversation (the function writes no
 * conversation, so the statement's snapshot sees them all). */
#define HELLO_SQL_SURVEY \
    "SELECT h.site_name AS hello_site_name, h.visitor_id::text AS hello_visitor_id," \
    " h.visitor_exists AS hello_visitor_exists, oc.*, ss.survey::text AS survey FROM"
#define HELLO_SQL \
    HELLO_SQL_SURVEY \
    " beseda_visitor_hello($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10) h" \
    " LEFT JOIN LATERAL (SELECT " CONV_COLUMNS CONV_FROM \
    "   WHERE c.site_id = $1::uuid AND c.visitor_id = h.visitor_id AND c.state <> 'closed'" \
    "   ORDER BY c.created_at DESC LIMIT 1) oc ON true" \
    " LEFT JOIN site_settings ss ON ss.site_id = $1::uuid"

/* The columns of HELLO_SQL besides the conversation's, by name. */
enum { HELLO_SITE_NAME, HELLO_VISITOR_ID, HELLO_VISITOR_EXISTS, HELLO_SURVEY, HELLO_NCOLS };

static bool hello_cols(const PGresult *res, int *cols, rows_conv_cols_t *conv_cols)
{
    static const char *const names[HELLO_NCOLS] = {
        [HELLO_SITE_NAME] = "hello_site_name", [HELLO_VISITOR_ID] = "hello_visitor_id",
        [HELLO_VISITOR_EXISTS] = "hello_visitor_exists", [HELLO_SURVEY] = "survey",
    };
    return rows_cols(res, names, HELLO_NCOLS, cols) && rows_conv_cols(res, conv_cols);
}

static store_err_t run_hello(store_ctx_t *ctx, const Beseda__StoreVisitorHello *req,
                             Beseda__StoreVisitorHelloReply *r, store_mem_t *mem)
{
    const Beseda__PageInfo *p = req->page;
    /* A malformed visitor id is no id: the visitor gets a new one. */
    const char *given = store_valid_uuid(req->visitor_id) ? req->visitor_id : NULL;
    const char *params[] = {
        req->site_id, given, p ? p->url : "", p ? p->title : "", p ? p->referrer : "",
        p ? p->user_agent : "", p ? p->language : "", req->ip ? req->ip : "",
        p ? p->country : "", p ? p->city : ""   /* the router's GeoIP lookup */
    };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, HELLO_SQL, 10, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) == 0)
        return STORE_OK;                        /* no such site */
    int cols[HELLO_NCOLS];
    rows_conv_cols_t conv_cols;
    if (PQntuples(res) != 1 || !hello_cols(res, cols, &conv_cols))
        return STORE_INTERNAL;
    r->site_exists = 1;
    r->site_name = rows_str(res, 0, cols[HELLO_SITE_NAME]);
    r->visitor_id = rows_str(res, 0, cols[HELLO_VISITOR_ID]);
    r->visitor_exists = rows_bool(res, 0, cols[HELLO_VISITOR_EXISTS]);
    if (!PQgetisnull(res, 0, conv_cols.col[CONV_ID])
        && !(r->open_conversation = rows_conversation(mem, res, 0, &conv_cols)))
        return STORE_INTERNAL;
    int survey_col = cols[HELLO_SURVEY];
    json_t *survey = store_settings_parse(PQgetisnull(res, 0, survey_col) ? NULL
                                                                          : PQgetvalue(res, 0, survey_col));
    r->survey = store_settings_survey_config(mem, survey);   /* NULL: no survey */
    json_decref(survey);
    return STORE_OK;
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
    return run_hello(ctx, req, r, mem);
}
