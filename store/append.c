/* Group commit, see append.h. Pipeline mode (libpq 14+) sends BEGIN, every
 * append and COMMIT in one write and reads all results after one Sync, so a
 * batch costs one round trip and one fsync however many appends it holds. */
#include "append.h"
#include "epoch.h"
#include "log.h"
#include "rows.h"
#include "validate.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APPEND_SQL "SELECT * FROM beseda_append($1::uuid, $2::uuid, $3, $4::uuid, $5, $6, $7, $8::bigint)"
#define APPEND_NPARAMS 8
#define APPEND_NCOLS 12

struct store_batch_t {
    size_t max, count;
    store_item_t **items;
};

void store_item_destroy(store_item_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_item_t *self = *self_p;
    bus_request_destroy(&self->request);
    free(self->key);
    if (self->msg)
        beseda__store_request__free_unpacked(self->msg, NULL);
    free(self);
    *self_p = NULL;
}

store_batch_t *store_batch_new(size_t max)
{
    store_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->max = max ? max : 1;
    self->items = calloc(self->max, sizeof *self->items);
    if (!self->items) {
        free(self);
        return NULL;
    }
    return self;
}

void store_batch_clear(store_batch_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        store_item_destroy(&self->items[i]);
    self->count = 0;
}

void store_batch_destroy(store_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_batch_clear(*self_p);
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

int store_batch_add(store_batch_t *self, store_item_t **item_p)
{
    if (self->count >= self->max)
        return -1;
    self->items[self->count++] = *item_p;
    *item_p = NULL;
    return 0;
}

size_t store_batch_count(const store_batch_t *self) { return self->count; }
int store_batch_full(const store_batch_t *self) { return self->count >= self->max; }
store_item_t *store_batch_item(const store_batch_t *self, size_t i)
{
    return i < self->count ? self->items[i] : NULL;
}

static const char *conversation_of(const store_item_t *item)
{
    const Beseda__StoreAppend *a = item->msg ? item->msg->append : NULL;
    return a && a->conversation_id ? a->conversation_id : "";
}

void store_batch_order(const store_batch_t *self, size_t *order)
{
    /* Insertion sort: stable, and batches are at most a few hundred. */
    for (size_t i = 0; i < self->count; i++) {
        size_t j = i;
        while (j > 0 && strcasecmp(conversation_of(self->items[order[j - 1]]),
                                   conversation_of(self->items[i])) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

/* ---------------------------------------------------------------- commit */

typedef struct {
    const char *values[APPEND_NPARAMS];
    char epoch[EPOCH_TEXT_LEN];
} append_params_t;

static void fill_params(const Beseda__StoreAppend *a, append_params_t *p)
{
    int system = strcmp(a->author->kind, "system") == 0;
    store_epoch_text(a->epoch, p->epoch);
    p->values[0] = a->site_id;
    p->values[1] = a->conversation_id;
    p->values[2] = a->author->kind;
    p->values[3] = system ? NULL : a->author->id;
    p->values[4] = a->author->name ? a->author->name : "";
    p->values[5] = a->client_msg_id;
    p->values[6] = a->text ? a->text : "";
    p->values[7] = p->epoch;
}

/* Reads every result up to the Sync. results[k] gets the k-th append's row
 * (k in run order). Returns 0 if BEGIN, every append and COMMIT succeeded. */
static int read_pipeline(PGconn *conn, size_t n, PGresult **results)
{
    size_t pos = 0;
    int failed = 0, nulls = 0;
    for (;;) {
        PGresult *r = PQgetResult(conn);
        if (!r) {
            /* One NULL ends each statement's results; two in a row mean the
             * Sync will never come (connection lost). */
            if (PQstatus(conn) == CONNECTION_BAD || ++nulls > 1)
                return -1;
            continue;
        }
        nulls = 0;
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        int is_append = pos >= 1 && pos <= n;
        int ok = is_append ? st == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == APPEND_NCOLS
                           : st == PGRES_COMMAND_OK;
        if (!ok && !failed && st != PGRES_PIPELINE_ABORTED) {
            char reason[512];
            snprintf(reason, sizeof reason, "%s", PQresultErrorMessage(r));
            reason[strcspn(reason, "\n")] = '\0';
            log_warn("group commit failed", "error", reason, "sqlstate", store_db_sqlstate(r));
        }
        failed |= !ok;
        if (ok && is_append)
            results[pos - 1] = r;
        else
            PQclear(r);
        pos++;
    }
    return failed || pos != n + 2 ? -1 : 0;
}

static int send_pipeline(PGconn *conn, store_batch_t *self, const size_t *run, size_t n)
{
    if (!PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    for (size_t k = 0; k < n; k++) {
        append_params_t p;
        fill_params(self->items[run[k]]->msg->append, &p);
        if (!PQsendQueryParams(conn, APPEND_SQL, APPEND_NPARAMS, NULL, p.values, NULL, NULL, 0))
            return -1;
    }
    if (!PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    return PQpipelineSync(conn) == 1 ? 0 : -1;
}

/* One transaction for the appends run[0..n); results[k] for each. */
static int run_transaction(store_ctx_t *ctx, store_batch_t *self, const size_t *run, size_t n,
                           PGresult **results)
{
    PGconn *conn = store_db_conn(ctx->db);
    if (!conn)
        return -1;
    if (PQenterPipelineMode(conn) != 1) {
        log_error("cannot enter pipeline mode", "error", PQerrorMessage(conn));
        return -1;
    }
    int rc = send_pipeline(conn, self, run, n);
    if (rc < 0)
        log_warn("group commit send failed", "error", PQerrorMessage(conn));
    /* Results must be drained even after a send failure: pipeline mode can
     * only be left when nothing is pending. */
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) {
        if (rc == 0 || PQpipelineSync(conn) == 1)
            rc = read_pipeline(conn, n, results) < 0 || rc < 0 ? -1 : 0;
        if (PQexitPipelineMode(conn) != 1) {
            /* Not idle: results we could not read. Start over rather than
             * run later statements on a connection in an unknown state. */
            store_db_drop(ctx->db);
            return -1;
        }
    }
    store_db_check(ctx->db);
    if (rc < 0)
        store_db_end(ctx->db, 0);        /* ROLLBACK if a transaction is still open */
    return rc;
}

static Beseda__StoreAppendReply *reply_from_row(const Beseda__StoreAppend *a, PGresult *res,
                                               store_mem_t *mem)
{
    Beseda__StoreAppendReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return NULL;
    beseda__store_append_reply__init(r);
    r->status = rows_str(res, 0, 0);
    r->seq = rows_u64(res, 0, 1);
    r->ts_ms = rows_i64(res, 0, 2);
    r->created = rows_bool(res, 0, 3);
    if (PQgetisnull(res, 0, 5))
        return r;                        /* no_conversation: nothing to describe */
    Beseda__ConversationInfo *c = store_mem_alloc(mem, sizeof *c);
    Beseda__PageInfo *page = store_mem_alloc(mem, sizeof *page);
    if (!c || !page)
        return NULL;
    beseda__conversation_info__init(c);
    beseda__page_info__init(page);
    c->id = a->conversation_id;
    c->site_id = a->site_id;
    c->visitor_id = rows_str(res, 0, 4);
    c->state = rows_str(res, 0, 5);
    c->operator_id = rows_str(res, 0, 6);
    c->operator_name = rows_str(res, 0, 7);
    c->last_seq = rows_u64(res, 0, 8);
    c->created_ms = rows_i64(res, 0, 9);
    page->url = rows_str(res, 0, 10);
    page->title = rows_str(res, 0, 11);
    c->page = page;
    r->conversation = c;
    return r;
}

static Beseda__StoreReply *new_reply(store_mem_t *mem, store_err_t err)
{
    Beseda__StoreReply *reply = store_mem_alloc(mem, sizeof *reply);
    if (!reply)
        return NULL;
    beseda__store_reply__init(reply);
    reply->error_code = (char *) store_err_code(err);
    return reply;
}

/* Items that may run, in run order; the others get their error reply now. */
static size_t plan(store_batch_t *self, size_t *run, Beseda__StoreReply **replies, store_mem_t *mem)
{
    size_t order[self->count ? self->count : 1];
    store_batch_order(self, order);
    size_t n = 0;
    for (size_t k = 0; k < self->count; k++) {
        size_t i = order[k];
        const Beseda__StoreRequest *msg = self->items[i]->msg;
        store_err_t err = msg && msg->body_case == BESEDA__STORE_REQUEST__BODY_APPEND
                        ? store_validate_append(msg->append) : STORE_BAD_REQUEST;
        if (err == STORE_OK)
            run[n++] = i;
        else
            replies[i] = new_reply(mem, err);
    }
    return n;
}

void store_batch_commit(store_ctx_t *ctx, store_batch_t *self, Beseda__StoreReply **replies,
                        store_mem_t *mem)
{
    for (size_t i = 0; i < self->count; i++)
        replies[i] = NULL;
    size_t run[self->count ? self->count : 1];
    size_t n = plan(self, run, replies, mem);
    if (n == 0)
        return;
    PGresult *results[n];
    memset(results, 0, sizeof results);
    int rc = run_transaction(ctx, self, run, n, results);
    for (size_t k = 0; k < n; k++) {
        Beseda__StoreReply *reply = new_reply(mem, rc == 0 ? STORE_OK : STORE_UNAVAILABLE);
        if (results[k] && !store_mem_keep(mem, results[k]) && reply)
            reply->error_code = (char *) store_err_code(STORE_INTERNAL);
        else if (rc == 0 && reply) {
            reply->append = reply_from_row(self->items[run[k]]->msg->append, results[k], mem);
            reply->body_case = reply->append ? BESEDA__STORE_REPLY__BODY_APPEND
                                             : BESEDA__STORE_REPLY__BODY__NOT_SET;
            if (!reply->append)
                reply->error_code = (char *) store_err_code(STORE_INTERNAL);
        }
        replies[run[k]] = reply;
    }
}
