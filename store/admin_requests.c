/* Administration requests on the bus (besedactl, docs/CTL.md): sites,
 * operator accounts, queue lengths. Creating and resetting go through
 * accounts.c, like the beseda-store subcommands; listing is here. A refused
 * field gets bad_request with the reason in error_message. Hashing a
 * password (argon2id, ~0.1 s) blocks this worker meanwhile: these requests
 * are rare and made by people. */
#include "accounts.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <string.h>

#define ADMIN_LIST_MAX   10000   /* rows in a site or operator list */
#define SITE_COLUMNS "s.id, s.name, array_to_string(s.allowed_origins, ','), " \
                     "(extract(epoch FROM s.created_at) * 1000)::bigint"
#define OPERATOR_COLUMNS "o.id, o.site_id, o.email, o.name, o.role, o.max_chats, " \
                         "(extract(epoch FROM o.created_at) * 1000)::bigint"

static store_err_t refuse(Beseda__StoreReply *reply, store_mem_t *mem, const char *why)
{
    reply->error_message = store_mem_strdup(mem, why);
    return STORE_BAD_REQUEST;
}

/* Splits the comma list in place (the string is arena memory). */
static int split_origins(store_mem_t *mem, char *csv, Beseda__SiteInfo *site)
{
    size_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    site->origins = store_mem_alloc(mem, n * sizeof *site->origins);
    if (!site->origins)
        return -1;
    for (char *tok = strtok(csv, ","); tok; tok = strtok(NULL, ","))
        site->origins[site->n_origins++] = tok;
    return 0;
}

/* Sites selected by sql (SITE_COLUMNS only) into a SiteList. */
static store_err_t load_sites(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int n,
                              const char *const *params, Beseda__SiteList *list)
{
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, sql, n, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int rows = PQntuples(res);
    list->sites = store_mem_alloc(mem, (size_t) (rows + 1) * sizeof *list->sites);
    if (!list->sites)
        return STORE_INTERNAL;
    for (int i = 0; i < rows; i++) {
        Beseda__SiteInfo *site = store_mem_alloc(mem, sizeof *site);
        char *origins = store_mem_strdup(mem, PQgetvalue(res, i, 2));
        if (!site || !origins)
            return STORE_INTERNAL;
        beseda__site_info__init(site);
        site->id = rows_str(res, i, 0);
        site->name = rows_str(res, i, 1);
        site->created_ms = rows_i64(res, i, 3);
        if (split_origins(mem, origins, site) < 0)
            return STORE_INTERNAL;
        list->sites[list->n_sites++] = site;
    }
    return STORE_OK;
}

static store_err_t load_operators(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int n,
                                  const char *const *params, Beseda__AdminOperatorList *list)
{
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, sql, n, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int rows = PQntuples(res);
    list->operators = store_mem_alloc(mem, (size_t) (rows + 1) * sizeof *list->operators);
    if (!list->operators)
        return STORE_INTERNAL;
    for (int i = 0; i < rows; i++) {
        Beseda__AdminOperator *op = store_mem_alloc(mem, sizeof *op);
        if (!op)
            return STORE_INTERNAL;
        beseda__admin_operator__init(op);
        op->id = rows_str(res, i, 0);
        op->site_id = rows_str(res, i, 1);
        op->email = rows_str(res, i, 2);
        op->name = rows_str(res, i, 3);
        op->role = rows_str(res, i, 4);
        op->max_chats = (uint32_t) rows_u64(res, i, 5);
        op->created_ms = rows_i64(res, i, 6);
        list->operators[list->n_operators++] = op;
    }
    return STORE_OK;
}

/* Replies with the one operator whose id is given. */
static store_err_t reply_operator(store_ctx_t *ctx, store_mem_t *mem, const char *id,
                                  Beseda__StoreReply *reply)
{
    Beseda__AdminOperatorList list = BESEDA__ADMIN_OPERATOR_LIST__INIT;
    const char *params[] = { id };
    store_err_t err = load_operators(ctx, mem, "SELECT " OPERATOR_COLUMNS
                                     " FROM operators o WHERE o.id = $1", 1, params, &list);
    if (err != STORE_OK)
        return err;
    if (list.n_operators != 1)
        return STORE_NOT_FOUND;
    reply->body_case = BESEDA__STORE_REPLY__BODY_ADMIN_OPERATOR;
    reply->admin_operator = list.operators[0];
    return STORE_OK;
}

store_err_t store_create_site(store_ctx_t *ctx, const Beseda__StoreCreateSite *req,
                              Beseda__StoreReply *reply, store_mem_t *mem)
{
    size_t total = 1;
    for (size_t i = 0; i < req->n_origins; i++) {
        if (strchr(req->origins[i], ','))
            return refuse(reply, mem, "an origin must not contain a comma");
        total += strlen(req->origins[i]) + 1;
    }
    char *csv = store_mem_alloc(mem, total);
    if (!csv)
        return STORE_INTERNAL;
    for (size_t i = 0; i < req->n_origins; i++) {
        strcat(csv, req->origins[i]);
        if (i + 1 < req->n_origins)
            strcat(csv, ",");
    }
    const char *why = store_accounts_check_site(req->name, csv);
    if (why)
        return refuse(reply, mem, why);
    char id[UUID_STR_LEN];
    store_err_t err = store_accounts_create_site(ctx->db, req->name, csv, id);
    if (err != STORE_OK)
        return err;
    Beseda__SiteList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__site_list__init(list);
    const char *params[] = { id };
    err = load_sites(ctx, mem, "SELECT " SITE_COLUMNS " FROM sites s WHERE s.id = $1",
                     1, params, list);
    if (err != STORE_OK)
        return err;
    if (list->n_sites != 1)
        return STORE_INTERNAL;
    reply->body_case = BESEDA__STORE_REPLY__BODY_SITE;
    reply->site = list->sites[0];
    return STORE_OK;
}

store_err_t store_list_sites(store_ctx_t *ctx, const Beseda__StoreListSites *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    (void) req;
    Beseda__SiteList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__site_list__init(list);
    reply->body_case = BESEDA__STORE_REPLY__BODY_SITES;
    reply->sites = list;
    return load_sites(ctx, mem, "SELECT " SITE_COLUMNS " FROM sites s ORDER BY s.created_at, s.id"
                      " LIMIT " STORE_STR(ADMIN_LIST_MAX), 0, NULL, list);
}

store_err_t store_create_operator(store_ctx_t *ctx, const Beseda__StoreCreateOperator *req,
                                  Beseda__StoreReply *reply, store_mem_t *mem)
{
    store_new_operator_t op = { req->site_id, req->email, req->name, req->password, req->role,
                                (long) req->max_chats };
    const char *why = store_accounts_check_operator(&op);
    if (why)
        return refuse(reply, mem, why);
    char id[UUID_STR_LEN];
    store_err_t err = store_accounts_create_operator(ctx->db, &op, id);
    if (err == STORE_NOT_FOUND)
        reply->error_message = "no such site";
    else if (err == STORE_CONFLICT)
        reply->error_message = "an operator with this e-mail exists already";
    return err != STORE_OK ? err : reply_operator(ctx, mem, id, reply);
}

store_err_t store_list_operators(store_ctx_t *ctx, const Beseda__StoreListOperators *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return refuse(reply, mem, "the site must be a site id (UUID)");
    const char *params[] = { req->site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, "SELECT 1 FROM sites WHERE id = $1", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    int found = PQntuples(res) == 1;
    PQclear(res);
    if (!found) {
        reply->error_message = "no such site";
        return STORE_NOT_FOUND;
    }
    Beseda__AdminOperatorList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__admin_operator_list__init(list);
    reply->body_case = BESEDA__STORE_REPLY__BODY_ADMIN_OPERATORS;
    reply->admin_operators = list;
    return load_operators(ctx, mem, "SELECT " OPERATOR_COLUMNS " FROM operators o"
                          " WHERE o.site_id = $1 ORDER BY o.created_at, o.id"
                          " LIMIT " STORE_STR(ADMIN_LIST_MAX), 1, params, list);
}

store_err_t store_reset_password(store_ctx_t *ctx, const Beseda__StoreResetPassword *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!req->email || !*req->email || !store_valid_text(req->email, STORE_FIELD_MAX_BYTES))
        return refuse(reply, mem, "the e-mail must not be empty");
    const char *why = store_accounts_check_password(req->password);
    if (why)
        return refuse(reply, mem, why);
    char id[UUID_STR_LEN];
    store_err_t err = store_accounts_reset_password(ctx->db, req->email, req->password, id);
    if (err == STORE_NOT_FOUND)
        reply->error_message = "no operator has this e-mail";
    return err != STORE_OK ? err : reply_operator(ctx, mem, id, reply);
}

store_err_t store_queue_lengths(store_ctx_t *ctx, const Beseda__StoreQueueLengths *req,
                                Beseda__StoreReply *reply, store_mem_t *mem)
{
    const char *site = req->site_id ? req->site_id : "";
    if (*site && !store_valid_uuid(site))
        return refuse(reply, mem, "the site must be a site id (UUID)");
    const char *params[] = { site };
    PGresult *res;
    /* "Queued" is what the router assigns from: open and without operator. */
    db_status_t st = store_db_query(ctx->db,
        "SELECT s.id, s.name,"
        "  count(c.id) FILTER (WHERE c.operator_id IS NULL),"
        "  count(c.id) FILTER (WHERE c.operator_id IS NOT NULL)"
        " FROM sites s LEFT JOIN conversations c ON c.site_id = s.id AND c.state <> 'closed'"
        " WHERE $1 = '' OR s.id::text = $1"
        " GROUP BY s.id ORDER BY 3 DESC, s.name, s.id LIMIT " STORE_STR(ADMIN_LIST_MAX),
        1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int rows = PQntuples(res);
    Beseda__QueueLengths *q = store_mem_alloc(mem, sizeof *q);
    Beseda__SiteQueueLength **items = store_mem_alloc(mem, (size_t) (rows + 1) * sizeof *items);
    if (!q || !items)
        return STORE_INTERNAL;
    beseda__queue_lengths__init(q);
    q->sites = items;
    for (int i = 0; i < rows; i++) {
        Beseda__SiteQueueLength *item = store_mem_alloc(mem, sizeof *item);
        if (!item)
            return STORE_INTERNAL;
        beseda__site_queue_length__init(item);
        item->site_id = rows_str(res, i, 0);
        item->site_name = rows_str(res, i, 1);
        item->queued = (uint32_t) rows_u64(res, i, 2);
        item->assigned = (uint32_t) rows_u64(res, i, 3);
        q->sites[q->n_sites++] = item;
    }
    if (*site && rows == 0) {
        reply->error_message = "no such site";
        return STORE_NOT_FOUND;
    }
    reply->body_case = BESEDA__STORE_REPLY__BODY_QUEUE_LENGTHS;
    reply->queue_lengths = q;
    return STORE_OK;
}
