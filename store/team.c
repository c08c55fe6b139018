/* Team chat: one room per site for its operators (proto StoreTeamAppend,
 * StoreTeamFetch; docs/STORE.md "team_append").
 *
 * Appends are idempotent on (site, client id, author): a retry answers the
 * first seq with duplicate = true. Sequences are gap-free per site (one
 * counter row per site, beseda_team_append() in migration 0014). Team
 * messages are rare next to chat messages, so they are not group-committed:
 * one call, one transaction. */
#include "rows.h"
#include "team.h"
#include "validate.h"
#include <stdio.h>
#include <string.h>

static bool valid_author(const Beseda__Author *a)
{
    return a && a->kind && strcmp(a->kind, "operator") == 0 && store_valid_uuid(a->id)
        && store_valid_text(a->name, STORE_FIELD_MAX_BYTES);
}

store_err_t store_team_append(store_ctx_t *ctx, const Beseda__StoreTeamAppend *req,
                              Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !valid_author(req->author)
        || !req->client_msg_id || !*req->client_msg_id
        || !store_valid_text(req->client_msg_id, TEAM_CLIENT_ID_MAX)
        || !req->text || !*req->text || !store_valid_text(req->text, STORE_TEXT_MAX_BYTES))
        return STORE_BAD_REQUEST;
    const char *params[] = { req->site_id, req->author->id, req->author->name,
                             req->client_msg_id, req->text };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT seq, ts_ms, duplicate FROM beseda_team_append($1::uuid, $2::uuid, $3, $4, $5)",
        5, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_FORBIDDEN;          /* the author is no operator of this site */
    Beseda__TeamAck *ack = store_mem_alloc(mem, sizeof *ack);
    if (!ack)
        return STORE_INTERNAL;
    beseda__team_ack__init(ack);
    ack->client_msg_id = req->client_msg_id;
    ack->seq = rows_u64(res, 0, 0);
    ack->ts_ms = rows_i64(res, 0, 1);
    ack->duplicate = rows_bool(res, 0, 2);
    reply->body_case = BESEDA__STORE_REPLY__BODY_TEAM_ACK;
    reply->team_ack = ack;
    return STORE_OK;
}

static store_err_t load_last_seq(store_ctx_t *ctx, const char *site_id, uint64_t *last_seq)
{
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT last_seq FROM team_counters WHERE site_id = $1", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    *last_seq = PQntuples(res) > 0 ? rows_u64(res, 0, 0) : 0;
    PQclear(res);
    return STORE_OK;
}

static Beseda__TeamMessage *team_message(store_mem_t *mem, const PGresult *res, int row)
{
    Beseda__TeamMessage *m = store_mem_alloc(mem, sizeof *m);
    Beseda__Author *a = store_mem_alloc(mem, sizeof *a);
    if (!m || !a)
        return NULL;
    beseda__team_message__init(m);
    beseda__author__init(a);
    m->seq = rows_u64(res, row, 0);
    m->client_msg_id = rows_str(res, row, 1);
    a->kind = "operator";
    a->id = rows_str(res, row, 2);
    a->name = rows_str(res, row, 3);
    m->author = a;
    m->text = rows_str(res, row, 4);
    m->ts_ms = rows_i64(res, row, 5);
    return m;
}

/* How many of the first n fit the byte budget (at least one, so a reader
 * always makes progress), counted as store_msgs_within() does. */
static size_t within_budget(const PGresult *res, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        used += (size_t) PQgetlength(res, (int) i, 4) + STORE_MSG_OVERHEAD;
        if (used > TEAM_FETCH_MAX_BYTES)
            return i > 0 ? i : 1;
    }
    return n;
}

store_err_t store_team_fetch(store_ctx_t *ctx, const Beseda__StoreTeamFetch *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return STORE_BAD_REQUEST;
    Beseda__TeamMessageList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__team_message_list__init(list);
    /* Read last_seq first: messages committed in between only make the list
     * longer than it says, never leave a gap behind it (as store_fetch). */
    store_err_t err = load_last_seq(ctx, req->site_id, &list->last_seq);
    if (err != STORE_OK)
        return err;
    uint32_t limit = req->limit == 0 || req->limit > TEAM_FETCH_MAX ? TEAM_FETCH_MAX : req->limit;
    char after[24], lim[16];
    snprintf(after, sizeof after, "%llu",
             (unsigned long long) (req->after_seq > INT64_MAX ? INT64_MAX : req->after_seq));
    snprintf(lim, sizeof lim, "%u", limit + 1);      /* one more tells whether there is more */
    const char *params[] = { req->site_id, after, lim };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT t.seq, t.client_msg_id, t.author_id::text, t.author_name, t.body,"
        "       (extract(epoch FROM t.created_at) * 1000)::bigint"
        "  FROM team_messages t WHERE t.site_id = $1 AND t.seq > $2::bigint"
        " ORDER BY t.seq LIMIT $3::int", 3, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    size_t n = (size_t) PQntuples(res);
    size_t take = within_budget(res, n > limit ? limit : n);
    if (take > 0 && !(list->messages = store_mem_alloc(mem, take * sizeof *list->messages)))
        return STORE_INTERNAL;
    for (size_t i = 0; i < take; i++)
        if (!(list->messages[i] = team_message(mem, res, (int) i)))
            return STORE_INTERNAL;
    list->n_messages = take;
    list->more = n > take;
    if (take > 0 && list->messages[take - 1]->seq > list->last_seq)
        list->last_seq = list->messages[take - 1]->seq;
    reply->body_case = BESEDA__STORE_REPLY__BODY_TEAM_MESSAGES;
    reply->team_messages = list;
    return STORE_OK;
}
