/* The archive (proto StoreArchive; docs/PROTOCOL.md "Archive", docs/STORE.md
 * "Archive and search"): every conversation and offline message of the
 * site, newest first, filtered and searched by text, a page at a time
 * (keyset: started time and id); and one of them read-only with its whole
 * transcript, notes and visitor data. Every query is scoped by the site the
 * router resolved from the operator's session: another site's conversation
 * is "not_found". Parameters are checked here, each refusal naming the
 * parameter; the SQL is built from fixed fragments and $n parameters only.
 *
 * The store serves requests one at a time, so a search runs under a
 * statement timeout: a slow one is refused, it never holds up the chats. */
#include "store.h"
#include "reply.h"
#include "rows.h"
#include "validate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARCHIVE_PAGE_DEFAULT     20
#define ARCHIVE_PAGE_MAX         50
#define ARCHIVE_Q_MAX_BYTES     500
#define ARCHIVE_VISITOR_MAX     200
#define ARCHIVE_MESSAGES_MAX   2000     /* of one transcript; then "truncated" */
#define ARCHIVE_TIMEOUT       "4s"     /* statement_timeout of one search: answered before lws drops a connection idle 5 s */
#define ARCHIVE_SQL_MAX       8192
/* A word in fewer messages than this is searched through the GIN index
 * first (the matching conversations, then newest first); a commoner one by
 * walking the newest conversations and checking each, which finds a page
 * after a few hundred. Counting stops at this many, so the probe is cheap. */
#define ARCHIVE_RARE_MAX     10000
#define ARCHIVE_PARAMS_MAX      16
#define ARCHIVE_SNIPPET_OPTS \
    "'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', MaxWords=24, MinWords=10, MaxFragments=2, FragmentDelimiter=\" … \"'"

typedef struct {
    char sql[ARCHIVE_SQL_MAX];
    size_t len;
    const char *params[ARCHIVE_PARAMS_MAX];
    int n;
    bool overflow;
} sqlbuf_t;

static void add(sqlbuf_t *b, const char *text)
{
    size_t n = strlen(text);
    if (b->len + n >= sizeof b->sql) {
        b->overflow = true;
        return;
    }
    memcpy(b->sql + b->len, text, n + 1);
    b->len += n;
}

/* Adds a parameter and returns its number as "$n" text in num. */
static const char *param(sqlbuf_t *b, const char *value, char num[16])
{
    if (b->n >= ARCHIVE_PARAMS_MAX) {
        b->overflow = true;
        return "NULL";
    }
    b->params[b->n++] = value;
    snprintf(num, 16, "$%d", b->n);
    return num;
}

/* Adds fmt with every "%s" replaced by p (at most four times). */
static void addp(sqlbuf_t *b, const char *fmt, const char *p)
{
    char out[1024];
    int n = snprintf(out, sizeof out, fmt, p, p, p, p);
    if (n < 0 || (size_t) n >= sizeof out) {
        b->overflow = true;
        return;
    }
    add(b, out);
}

static bool empty(const char *s)
{
    return !s || !*s;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* YYYY-MM-DD, or that with THH:MM[:SS[.ffffff]] and Z or +HH:MM / -HH:MM
 * (RFC 3339; without a zone: UTC). *date_only tells the first form. */
static bool archive_valid_time(const char *s, bool *date_only)
{
    size_t len = strlen(s);
    if (len < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-'
        || !digits(s + 8, 2))
        return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
        return false;
    *date_only = len == 10;
    if (len == 10)
        return true;
    const char *t = s + 10;
    if ((*t != 'T' && *t != 't' && *t != ' ') || strlen(t) < 6 || !digits(t + 1, 2) || t[3] != ':'
        || !digits(t + 4, 2) || num(t + 1, 2) > 23 || num(t + 4, 2) > 59)
        return false;
    t += 6;
    if (*t == ':') {
        if (!digits(t + 1, 2) || num(t + 1, 2) > 59)
            return false;
        t += 3;
        if (*t == '.') {
            size_t f = strspn(t + 1, "0123456789");
            if (f < 1 || f > 6)
                return false;
            t += 1 + f;
        }
    }
    if (*t == 'Z' || *t == 'z')
        return t[1] == '\0';
    if (*t == '+' || *t == '-')
        return strlen(t) == 6 && digits(t + 1, 2) && t[3] == ':' && digits(t + 4, 2)
               && num(t + 1, 2) <= 14 && num(t + 4, 2) <= 59;
    return *t == '\0';
}

/* "<microseconds since 1970>_<uuid>", as the previous page's "next". */
static bool split_cursor(store_mem_t *mem, const char *s, char **us, char **id)
{
    const char *u = strchr(s, '_');
    if (!u || u == s || u - s > 18 || !digits(s, (size_t) (u - s)) || !store_valid_uuid(u + 1))
        return false;
    *us = store_mem_alloc(mem, (size_t) (u - s) + 1);
    *id = store_mem_strdup(mem, u + 1);
    if (!*us || !*id)
        return false;
    memcpy(*us, s, (size_t) (u - s));
    (*us)[u - s] = '\0';
    return true;
}

static bool valid_group(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 32 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The time filters and the cursor of one branch: t is its created_at, id its id. */
typedef struct {
    const char *q, *from, *to, *before_us, *before_id, *visitor;
    bool from_date, to_date, visitor_is_id;
} common_t;

static void add_common(sqlbuf_t *b, const common_t *c, const char *t, const char *id,
                       const char *p_from, const char *p_to, const char *p_us, const char *p_id)
{
    char frag[256];
    if (c->from) {
        snprintf(frag, sizeof frag, " AND %s >= %s::timestamptz", t, p_from);
        add(b, frag);
    }
    if (c->to) {
        snprintf(frag, sizeof frag, c->to_date ? " AND %s < %s::timestamptz + interval '1 day'"
                                               : " AND %s < %s::timestamptz", t, p_to);
        add(b, frag);
    }
    if (c->before_us) {
        snprintf(frag, sizeof frag,
                 " AND (%s, %s) < ('epoch'::timestamptz + %s::bigint * interval '1 microsecond', %s::uuid)",
                 t, id, p_us, p_id);
        add(b, frag);
    }
}

static store_err_t archive_search(store_ctx_t *ctx, const Beseda__StoreArchive *req,
                                  Beseda__StoreReply *reply, store_mem_t *mem)
{
    common_t c = { 0 };
    int limit = ARCHIVE_PAGE_DEFAULT;
    if (!empty(req->limit)) {
        size_t n = strlen(req->limit);
        if (n > 3 || !digits(req->limit, n) || (limit = num(req->limit, n)) < 1 || limit > ARCHIVE_PAGE_MAX)
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "limit must be a whole number from 1 to " STORE_STR(ARCHIVE_PAGE_MAX));
    }
    if (!empty(req->q)) {
        if (!store_valid_text(req->q, ARCHIVE_Q_MAX_BYTES))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "q must be UTF-8 text of at most " STORE_STR(ARCHIVE_Q_MAX_BYTES) " bytes");
        if (req->q[strspn(req->q, " \t\r\n")])
            c.q = req->q;
    }
    if (!empty(req->from)) {
        if (!archive_valid_time(req->from, &c.from_date))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "from must be a date (YYYY-MM-DD) or an RFC 3339 time");
        c.from = req->from;
    }
    if (!empty(req->to)) {
        if (!archive_valid_time(req->to, &c.to_date))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "to must be a date (YYYY-MM-DD) or an RFC 3339 time");
        c.to = req->to;
    }
    if (!empty(req->operator_) && !store_valid_uuid(req->operator_))
        return store_fail_with(reply, mem, STORE_BAD_VALUE, "operator must be an operator's id");
    if (!empty(req->group) && !valid_group(req->group))
        return store_fail_with(reply, mem, STORE_BAD_VALUE,
                               "group must be a group id (1-32 characters a-z 0-9 _ -)");
    const char *state = empty(req->state) ? NULL : req->state;
    if (state && strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "missed")
        && strcmp(state, "offline"))
        return store_fail_with(reply, mem, STORE_BAD_VALUE,
                               "state must be 'open', 'closed', 'missed' or 'offline'");
    if (!empty(req->visitor)) {
        if (!store_valid_text(req->visitor, ARCHIVE_VISITOR_MAX))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "visitor must be UTF-8 text of at most " STORE_STR(ARCHIVE_VISITOR_MAX) " bytes");
        c.visitor = req->visitor;
        c.visitor_is_id = store_valid_uuid(req->visitor);
    }
    char *us = NULL, *cid = NULL;
    if (!empty(req->before)) {
        if (!split_cursor(mem, req->before, &us, &cid))
            return store_fail_with(reply, mem, STORE_BAD_VALUE,
                                   "before must be the 'next' of a previous page");
        c.before_us = us;
        c.before_id = cid;
    }
    bool chats = !state || strcmp(state, "offline") != 0;
    bool offline = (!state || strcmp(state, "offline") == 0) && empty(req->operator_) && empty(req->group);

    sqlbuf_t *b = store_mem_alloc(mem, sizeof *b);
    char limit_text[8];
    snprintf(limit_text, sizeof limit_text, "%d", limit + 1);
    char *limit_copy = store_mem_strdup(mem, limit_text);
    if (!b || !limit_copy)
        return STORE_INTERNAL;
    memset(b, 0, sizeof *b);
    if (store_db_begin(ctx->db) != DB_OK)
        return STORE_UNAVAILABLE;
    db_status_t pst = store_db_exec(ctx->db, "SET LOCAL statement_timeout = '" ARCHIVE_TIMEOUT "'", 0, NULL);
    bool rare = false;
    if (pst == DB_OK && c.q) {
        const char *pp[] = { req->site_id, c.q };
        PGresult *pr = NULL;
        pst = store_db_query(ctx->db,
            "SELECT count(*) < " STORE_STR(ARCHIVE_RARE_MAX) " FROM (SELECT 1 FROM messages m "
            "WHERE m.site_id = $1::uuid AND m.tsv @@ websearch_to_tsquery('russian', $2) "
            "LIMIT " STORE_STR(ARCHIVE_RARE_MAX) ") x", 2, pp, &pr);
        rare = pst == DB_OK && PQntuples(pr) == 1 && PQgetvalue(pr, 0, 0)[0] == 't';
        PQclear(pr);
    }
    if (pst != DB_OK) {
        store_db_end(ctx->db, 0);
        return pst == DB_RETRY ? store_fail_with(reply, mem, STORE_UNAVAILABLE,
                                                 "the search took too long; narrow it down and try again")
                               : rows_err(pst);
    }
    char p_site[16], p_q[16] = "", p_from[16] = "", p_to[16] = "", p_us[16] = "", p_id[16] = "",
         p_vis[16] = "", p_op[16] = "", p_group[16] = "", p_limit[16];
    param(b, req->site_id, p_site);
    if (c.q)
        param(b, c.q, p_q);
    if (c.from)
        param(b, c.from, p_from);
    if (c.to)
        param(b, c.to, p_to);
    if (c.before_us) {
        param(b, c.before_us, p_us);
        param(b, c.before_id, p_id);
    }
    if (c.visitor)
        param(b, c.visitor, p_vis);
    if (!empty(req->operator_))
        param(b, req->operator_, p_op);
    if (!empty(req->group))
        param(b, req->group, p_group);
    param(b, limit_copy, p_limit);

    if (c.q) {
        addp(b, "WITH query AS (SELECT websearch_to_tsquery('russian', %s) AS tq)", p_q);
        if (rare)
            addp(b, ", hits AS MATERIALIZED (SELECT DISTINCT m.conversation_id FROM messages m "
                    "WHERE m.site_id = %s::uuid AND m.tsv @@ (SELECT tq FROM query))", p_site);
        add(b, " ");
    }
    add(b, "SELECT h.kind, h.id, ((extract(epoch FROM h.t) * 1000000)::bigint)::text || '_' || h.id, ");
    /* The document of one result. */
    add(b, "json_build_object('id', h.id, 'kind', h.kind, "
           "'state', CASE WHEN h.kind = 'offline' THEN 'offline' ELSE c.state END, "
           "'missed', coalesce(c.missed, false), "
           "'started_ms', (extract(epoch FROM h.t) * 1000)::bigint, "
           "'closed_ms', (extract(epoch FROM c.closed_at) * 1000)::bigint, "
           "'operator', CASE WHEN o.id IS NULL THEN NULL ELSE json_build_object('id', o.id, 'name', o.name) END, "
           "'rule', coalesce(c.route_rule, ''), "
           "'visitor', json_build_object('id', v.id, "
           "  'name', coalesce(nullif(coalesce(c.visitor_name, om.name), ''), v.name, ''), "
           "  'email', coalesce(nullif(coalesce(c.visitor_email, om.email), ''), v.email, ''), "
           "  'phone', coalesce(nullif(coalesce(c.visitor_phone, om.phone), ''), v.phone, '')), "
           "'messages', CASE WHEN h.kind = 'offline' THEN 1 ELSE c.last_seq END, "
           "'snippet', coalesce(");
    if (c.q)
        add(b, "CASE WHEN h.kind = 'offline' "
               "THEN ts_headline('russian', translate(om.body, chr(2) || chr(3), ''), "
               "  (SELECT tq FROM query), " ARCHIVE_SNIPPET_OPTS ") "
               "ELSE (SELECT ts_headline('russian', translate(m.body, chr(2) || chr(3), ''), "
               "  (SELECT tq FROM query), " ARCHIVE_SNIPPET_OPTS ") "
               "  FROM messages m WHERE m.conversation_id = h.id AND m.tsv @@ (SELECT tq FROM query) "
               "  ORDER BY m.seq LIMIT 1) END");
    else
        add(b, "CASE WHEN h.kind = 'offline' THEN left(om.body, 200) "
               "ELSE (SELECT left(m.body, 200) FROM messages m WHERE m.conversation_id = h.id "
               "  AND m.author_kind = 'visitor' ORDER BY m.seq LIMIT 1) END");
    add(b, ", ''))::text FROM (");

    bool first = true;
    if (chats) {
        first = false;
        add(b, "(SELECT 'chat' AS kind, c.id, c.created_at AS t FROM conversations c WHERE c.site_id = ");
        add(b, p_site);
        add(b, "::uuid");
        add_common(b, &c, "c.created_at", "c.id", p_from, p_to, p_us, p_id);
        if (state && strcmp(state, "open") == 0)
            add(b, " AND c.state <> 'closed'");
        else if (state && strcmp(state, "closed") == 0)
            add(b, " AND c.state = 'closed'");
        else if (state && strcmp(state, "missed") == 0)
            add(b, " AND c.missed");
        if (*p_op)
            addp(b, " AND c.operator_id = %s::uuid", p_op);
        if (*p_group) {
            /* A group's chats: routed by a rule naming it, or had by one of
             * its members (as the settings have them now). */
            char frag[1024];
            snprintf(frag, sizeof frag,
                     " AND EXISTS (SELECT 1 FROM site_settings s WHERE s.site_id = %s::uuid AND ("
                     "EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(s.routing->'groups', '[]')) g "
                     "  WHERE g->>'id' = %s AND coalesce(g->'operators', '[]') ? lower(c.operator_id::text)) "
                     "OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(s.routing->'rules', '[]')) r "
                     "  WHERE r->>'name' = c.route_rule AND (coalesce(r->'groups', '[]') ? %s "
                     "  OR coalesce(r->'fallback_groups', '[]') ? %s))))",
                     p_site, p_group, p_group, p_group);
            add(b, frag);
        }
        if (c.visitor) {
            if (c.visitor_is_id)
                addp(b, " AND c.visitor_id = %s::uuid", p_vis);
            else
                addp(b, " AND EXISTS (SELECT 1 FROM visitors v WHERE v.id = c.visitor_id AND "
                        "(strpos(lower(c.visitor_name || ' ' || c.visitor_email || ' ' || c.visitor_phone "
                        "|| ' ' || v.name || ' ' || v.email || ' ' || v.phone), lower(%s)) > 0))", p_vis);
        }
        if (c.q && rare)
            add(b, " AND c.id IN (SELECT conversation_id FROM hits)");
        else if (c.q)     /* a scalar subquery, never made a join: checked per conversation, newest first */
            add(b, " AND coalesce((SELECT true FROM messages m WHERE m.conversation_id = c.id "
                   "AND m.tsv @@ (SELECT tq FROM query) LIMIT 1), false)");
        addp(b, " ORDER BY c.created_at DESC, c.id DESC LIMIT %s::int)", p_limit);
    }
    if (offline) {
        if (!first)
            add(b, " UNION ALL ");
        add(b, "(SELECT 'offline' AS kind, o.id, o.created_at AS t FROM offline_messages o WHERE o.site_id = ");
        add(b, p_site);
        add(b, "::uuid");
        add_common(b, &c, "o.created_at", "o.id", p_from, p_to, p_us, p_id);
        if (c.visitor) {
            if (c.visitor_is_id)
                addp(b, " AND o.visitor_id = %s::uuid", p_vis);
            else
                addp(b, " AND EXISTS (SELECT 1 FROM visitors v WHERE v.id = o.visitor_id AND "
                        "(strpos(lower(o.name || ' ' || o.email || ' ' || o.phone "
                        "|| ' ' || v.name || ' ' || v.email || ' ' || v.phone), lower(%s)) > 0))", p_vis);
        }
        if (c.q)
            add(b, " AND o.tsv @@ (SELECT tq FROM query)");
        addp(b, " ORDER BY o.created_at DESC, o.id DESC LIMIT %s::int)", p_limit);
    }
    add(b, ") h LEFT JOIN conversations c ON h.kind = 'chat' AND c.id = h.id "
           "LEFT JOIN offline_messages om ON h.kind = 'offline' AND om.id = h.id "
           "LEFT JOIN operators o ON o.id = c.operator_id "
           "LEFT JOIN visitors v ON v.id = coalesce(c.visitor_id, om.visitor_id) "
           "ORDER BY h.t DESC, h.id DESC LIMIT ");
    add(b, p_limit);
    add(b, "::int");
    if (b->overflow) {
        store_db_end(ctx->db, 0);
        return STORE_INTERNAL;
    }

    PGresult *res = NULL;
    db_status_t st = store_db_query(ctx->db, b->sql, b->n, b->params, &res);
    store_db_end(ctx->db, 0);           /* read only: nothing to commit */
    if (st != DB_OK)
        return st == DB_RETRY ? store_fail_with(reply, mem, STORE_UNAVAILABLE,
                                                "the search took too long; narrow it down and try again")
                              : rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int rows = PQntuples(res);
    bool more = rows > limit;
    int shown = more ? limit : rows;
    size_t total = 64;
    for (int i = 0; i < shown; i++)
        total += strlen(PQgetvalue(res, i, 3)) + 1;
    if (more)
        total += strlen(PQgetvalue(res, shown - 1, 2));
    char *doc = store_mem_alloc(mem, total);
    if (!doc)
        return STORE_INTERNAL;
    size_t at = 0;
    at += (size_t) sprintf(doc + at, "{\"conversations\":[");
    for (int i = 0; i < shown; i++)
        at += (size_t) sprintf(doc + at, "%s%s", i ? "," : "", PQgetvalue(res, i, 3));
    if (more)
        sprintf(doc + at, "],\"next\":\"%s\"}", PQgetvalue(res, shown - 1, 2));
    else
        sprintf(doc + at, "],\"next\":null}");
    return store_reply_json(reply, mem, doc);
}

/* One conversation (or offline message) of the site, read-only. */
static store_err_t archive_get(store_ctx_t *ctx, const Beseda__StoreArchive *req,
                               Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->conversation_id))
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such conversation");
    const char *params[] = { req->site_id, req->conversation_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT json_build_object("
        " 'conversation', json_build_object('id', c.id, 'kind', 'chat', 'state', c.state, 'missed', c.missed,"
        "   'started_ms', (extract(epoch FROM c.created_at) * 1000)::bigint,"
        "   'closed_ms', (extract(epoch FROM c.closed_at) * 1000)::bigint,"
        "   'accepted_ms', (extract(epoch FROM c.accepted_at) * 1000)::bigint,"
        "   'first_response_ms', (extract(epoch FROM c.first_response_at) * 1000)::bigint,"
        "   'operator', CASE WHEN o.id IS NULL THEN NULL ELSE json_build_object('id', o.id, 'name', o.name) END,"
        "   'rule', c.route_rule, 'messages', c.last_seq,"
        "   'tried', (SELECT coalesce(json_agg(json_build_object('id', t.id, 'name', coalesce(tp.name, ''))), '[]')"
        "             FROM unnest(c.tried) t(id) LEFT JOIN operators tp ON tp.id = t.id AND tp.site_id = c.site_id)),"
        " 'visitor', json_build_object('id', v.id,"
        "   'name', coalesce(nullif(c.visitor_name, ''), v.name), 'email', coalesce(nullif(c.visitor_email, ''), v.email),"
        "   'phone', coalesce(nullif(c.visitor_phone, ''), v.phone),"
        "   'survey_answer', coalesce(nullif(c.survey_answer, ''), v.survey_answer),"
        "   'first_url', c.first_url, 'first_title', c.first_title, 'referrer', c.first_referrer,"
        "   'language', c.first_language, 'country', c.country, 'city', c.city, 'visits', v.visits,"
        "   'first_seen_ms', (extract(epoch FROM v.created_at) * 1000)::bigint),"
        " 'messages', (SELECT coalesce(json_agg(json_build_object('seq', m.seq, 'author', m.author_kind,"
        "     'author_name', m.author_name, 'text', m.body, 'ts_ms', (extract(epoch FROM m.created_at) * 1000)::bigint)"
        "     ORDER BY m.seq), '[]') FROM (SELECT * FROM messages mm WHERE mm.conversation_id = c.id"
        "     ORDER BY mm.seq LIMIT " STORE_STR(ARCHIVE_MESSAGES_MAX) ") m),"
        " 'truncated', c.last_seq > " STORE_STR(ARCHIVE_MESSAGES_MAX) ","
        " 'notes', (SELECT coalesce(json_agg(json_build_object('kind', n.kind, 'text', n.body,"
        "     'ts_ms', (extract(epoch FROM n.created_at) * 1000)::bigint,"
        "     'author', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object('id', a.id, 'name', a.name) END,"
        "     'to_operator', CASE WHEN t.id IS NULL THEN NULL ELSE json_build_object('id', t.id, 'name', t.name) END)"
        "     ORDER BY n.created_at), '[]') FROM conversation_notes n"
        "     LEFT JOIN operators a ON a.id = n.author_id LEFT JOIN operators t ON t.id = n.to_operator_id"
        "     WHERE n.site_id = c.site_id AND n.conversation_id = c.id))::text"
        " FROM conversations c LEFT JOIN operators o ON o.id = c.operator_id"
        " JOIN visitors v ON v.id = c.visitor_id"
        " WHERE c.site_id = $1::uuid AND c.id = $2::uuid"
        " UNION ALL "
        "SELECT json_build_object("
        " 'conversation', json_build_object('id', om.id, 'kind', 'offline', 'state', 'offline', 'missed', false,"
        "   'started_ms', (extract(epoch FROM om.created_at) * 1000)::bigint, 'closed_ms', NULL,"
        "   'accepted_ms', NULL, 'first_response_ms', NULL, 'operator', NULL, 'rule', '', 'messages', 1,"
        "   'tried', '[]'::json),"
        " 'visitor', json_build_object('id', v.id, 'name', coalesce(nullif(om.name, ''), v.name),"
        "   'email', coalesce(nullif(om.email, ''), v.email), 'phone', coalesce(nullif(om.phone, ''), v.phone),"
        "   'survey_answer', v.survey_answer, 'first_url', '', 'first_title', '', 'referrer', '',"
        "   'language', '', 'country', '', 'city', '', 'visits', v.visits,"
        "   'first_seen_ms', (extract(epoch FROM v.created_at) * 1000)::bigint),"
        " 'messages', json_build_array(json_build_object('seq', 1, 'author', 'visitor',"
        "   'author_name', om.name, 'text', om.body, 'ts_ms', (extract(epoch FROM om.created_at) * 1000)::bigint)),"
        " 'truncated', false, 'notes', '[]'::json)::text"
        " FROM offline_messages om JOIN visitors v ON v.id = om.visitor_id"
        " WHERE om.site_id = $1::uuid AND om.id = $2::uuid",
        2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) < 1)
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such conversation");
    return store_reply_json(reply, mem, PQgetvalue(res, 0, 0));
}

store_err_t store_archive(store_ctx_t *ctx, const Beseda__StoreArchive *req,
                          Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return STORE_BAD_REQUEST;
    if (!empty(req->conversation_id))
        return archive_get(ctx, req, reply, mem);
    return archive_search(ctx, req, reply, mem);
}
