/* Routing requests (proto StoreRoute, StoreRouteStep, StoreAccept, StoreDue;
 * docs/STORE.md "Routing"). Evaluation is route_eval.c's; every change is a
 * compare-and-set in PostgreSQL (migration 0012: beseda_route_step,
 * beseda_accept), so that two routers racing on one conversation cannot both
 * win and a step computed from an old read is refused (applied = false). */
#include "route.h"
#include "epoch.h"
#include "rows.h"
#include "settings.h"
#include "validate.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ROUTE_OPS_MAX       50      /* operators in one step */
#define ROUTE_RULE_MAX     400      /* bytes of a rule name */
#define DUE_LIMIT_DEFAULT  100
#define DUE_LIMIT_MAX     1000
#define DUE_LEASE_DEFAULT 10000     /* ms */
#define DUE_LEASE_MIN      100
#define DUE_LEASE_MAX   600000

static bool is_empty(const char *s)
{
    return !s || !*s;
}

store_err_t route_load_operators(store_ctx_t *ctx, const char *site_id, store_mem_t *mem,
                                 Beseda__OperatorLoad ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT o.id, o.name, o.max_chats, o.open_chats FROM operators o"
        " WHERE o.site_id = $1 ORDER BY o.id", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    int n = PQntuples(res);
    if (n == 0)
        return STORE_OK;
    Beseda__OperatorLoad **list = store_mem_alloc(mem, (size_t) n * sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++) {
        Beseda__OperatorLoad *load = store_mem_alloc(mem, sizeof *load);
        if (!load)
            return STORE_INTERNAL;
        beseda__operator_load__init(load);
        load->operator_id = rows_str(res, i, 0);
        load->name = rows_str(res, i, 1);
        load->max_chats = (uint32_t) rows_u64(res, i, 2);
        load->open_chats = (uint32_t) rows_u64(res, i, 3);
        list[i] = load;
    }
    *out = list;
    *count = (size_t) n;
    return STORE_OK;
}

store_err_t route_load_site(store_ctx_t *ctx, const char *site_id, json_t **routing, int *local_minute)
{
    *routing = NULL;
    *local_minute = 0;
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT ss.routing::text, beseda_local_minute(ss.routing ->> 'timezone')"
        " FROM (SELECT 1) one LEFT JOIN site_settings ss ON ss.site_id = $1", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    bool row = PQntuples(res) == 1;
    *routing = store_settings_parse(row && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL);
    *local_minute = row ? atoi(PQgetvalue(res, 0, 1)) : 0;
    PQclear(res);
    return STORE_OK;
}

static Beseda__OperatorLoad *find_load(Beseda__OperatorLoad **loads, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (id && strcasecmp(loads[i]->operator_id, id) == 0)
            return loads[i];
    return NULL;
}

static bool listed(Beseda__OperatorLoad **list, size_t n, const Beseda__OperatorLoad *load)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == load)
            return true;
    return false;
}

static const json_t *group_by_id(const json_t *routing, const char *id)
{
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(routing, "groups"), i, g)
        if (id && strcmp(json_string_value(json_object_get(g, "id")), id) == 0)
            return g;
    return NULL;
}

/* The operators of the named groups, in group then listed order, each once,
 * skipping those in `skip` and operators that no longer exist. */
static Beseda__OperatorLoad **members(store_mem_t *mem, const json_t *routing, const json_t *group_ids,
                                      Beseda__OperatorLoad **loads, size_t n_loads,
                                      Beseda__OperatorLoad **skip, size_t n_skip, size_t *count)
{
    *count = 0;
    Beseda__OperatorLoad **list = store_mem_alloc(mem, (n_loads ? n_loads : 1) * sizeof *list);
    if (!list)
        return NULL;
    size_t i;
    const json_t *gid;
    json_array_foreach(group_ids, i, gid) {
        const json_t *group = group_by_id(routing, json_string_value(gid));
        size_t j;
        const json_t *op;
        json_array_foreach(json_object_get(group, "operators"), j, op) {
            Beseda__OperatorLoad *load = find_load(loads, n_loads, json_string_value(op));
            if (load && !listed(list, *count, load) && !listed(skip, n_skip, load))
                list[(*count)++] = load;
        }
    }
    return list;
}

static json_int_t int_or(const json_t *v, json_int_t fallback)
{
    return json_is_integer(v) ? json_integer_value(v) : fallback;
}

Beseda__RouteDecision *route_decide(store_mem_t *mem, const json_t *routing, int local_minute,
                                    Beseda__OperatorLoad **loads, size_t n_loads,
                                    const route_segment_t *seg)
{
    Beseda__RouteDecision *d = store_mem_alloc(mem, sizeof *d);
    if (!d)
        return NULL;
    beseda__route_decision__init(d);
    d->local_minute = local_minute;
    int index = route_first_match(json_object_get(routing, "rules"), seg);
    d->rule_index = index;
    if (index < 0) {                     /* the site default: everyone, auto, always open */
        d->rule = "";
        d->mode = "auto";
        d->in_hours = 1;
        d->candidates = loads;
        d->n_candidates = n_loads;
        return d;
    }
    const json_t *rule = json_array_get(json_object_get(routing, "rules"), (size_t) index);
    const char *mode = json_string_value(json_object_get(rule, "mode"));
    d->matched = 1;
    const char *name = json_string_value(json_object_get(rule, "name"));
    d->rule = store_mem_strdup(mem, name ? name : "");
    d->mode = mode && strcmp(mode, "ring") == 0 ? "ring" : "auto";
    d->notify = (uint32_t) int_or(json_object_get(rule, "notify"), 3);
    d->response_limit_s = (uint32_t) int_or(json_object_get(rule, "response_limit_s"), 0);
    d->in_hours = route_hours_open(json_object_get(rule, "hours"), local_minute / 1440 + 1,
                                   local_minute % 1440);
    d->candidates = members(mem, routing, json_object_get(rule, "groups"), loads, n_loads,
                            NULL, 0, &d->n_candidates);
    d->fallback = members(mem, routing, json_object_get(rule, "fallback_groups"), loads, n_loads,
                          d->candidates, d->n_candidates, &d->n_fallback);
    return d->rule && d->candidates && d->fallback ? d : NULL;
}

void route_segment_of(const Beseda__ConversationInfo *c, route_segment_t *seg)
{
    const Beseda__PageInfo *p = c->page;
    seg->url = p ? p->url : "";
    seg->referrer = p ? p->referrer : "";
    seg->utm_source = p ? p->utm_source : "";
    seg->country = p ? p->country : "";
    seg->city = p ? p->city : "";
    seg->language = p ? p->language : "";
    seg->survey = c->survey_answer;
}

/* ---------------------------------------------------------------- route */

/* The conversation with its stage and tried list. NULL conv: none in this site. */
static store_err_t load_conversation(store_ctx_t *ctx, const char *site_id, const char *id,
                                     store_mem_t *mem, Beseda__ConversationInfo **conv,
                                     uint32_t *stage, char ***tried, size_t *n_tried)
{
    *conv = NULL;
    const char *params[] = { site_id, id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT " CONV_COLUMNS CONV_STAGE_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.id = $2", 2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_OK;
    rows_conv_cols_t cols;
    int stage_col = rows_col(res, "route_stage"), tried_col = rows_col(res, "tried");
    if (stage_col < 0 || tried_col < 0 || !rows_conv_cols(res, &cols)
        || !(*conv = rows_conversation(mem, res, 0, &cols)))
        return STORE_INTERNAL;
    *stage = (uint32_t) rows_u64(res, 0, stage_col);
    return rows_split_ids(mem, rows_str(res, 0, tried_col), tried, n_tried) ? STORE_OK
                                                                            : STORE_INTERNAL;
}

/* A visitor about to chat: the page they are on, their last visit's place,
 * their survey answer. */
static store_err_t visitor_segment(store_ctx_t *ctx, const Beseda__StoreRoute *req, store_mem_t *mem,
                                   route_segment_t *seg)
{
    const Beseda__PageInfo *p = req->page;
    const char *params[] = { req->site_id, is_empty(req->visitor_id) ? NULL : req->visitor_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT coalesce(v.survey_answer, ''), coalesce(lv.country, ''), coalesce(lv.city, '')"
        "  FROM (SELECT 1) one"
        "  LEFT JOIN visitors v ON v.id = $2::uuid AND v.site_id = $1"
        "  LEFT JOIN LATERAL (SELECT vs.country, vs.city FROM visits vs"
        "                      WHERE vs.visitor_id = v.id AND vs.site_id = $1"
        "                      ORDER BY vs.created_at DESC LIMIT 1) lv ON true", 2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    seg->url = p ? p->url : "";
    seg->referrer = p ? p->referrer : "";
    seg->language = p ? p->language : "";
    size_t cap = strlen(seg->url) + 1;
    char *utm = store_mem_alloc(mem, cap);
    if (!utm)
        return STORE_INTERNAL;
    route_utm_source(seg->url, utm, cap);
    seg->utm_source = utm;
    seg->survey = rows_str(res, 0, 0);
    seg->country = p && !is_empty(p->country) ? p->country : rows_str(res, 0, 1);
    seg->city = p && !is_empty(p->city) ? p->city : rows_str(res, 0, 2);
    return STORE_OK;
}

static bool valid_route(const Beseda__StoreRoute *req)
{
    return store_valid_uuid(req->site_id)
        && (is_empty(req->conversation_id) || store_valid_uuid(req->conversation_id))
        && (is_empty(req->visitor_id) || store_valid_uuid(req->visitor_id))
        && (!req->page || store_valid_page(req->page));
}

store_err_t store_route(store_ctx_t *ctx, const Beseda__StoreRoute *req,
                        Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!valid_route(req))
        return STORE_BAD_REQUEST;
    Beseda__StoreRouteReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_route_reply__init(r);
    Beseda__OperatorLoad **loads;
    size_t n_loads;
    store_err_t err = route_load_operators(ctx, req->site_id, mem, &loads, &n_loads);
    if (err != STORE_OK)
        return err;
    route_segment_t seg = { 0 };
    uint32_t stage = 0;
    char **tried = NULL;
    size_t n_tried = 0;
    if (!is_empty(req->conversation_id)) {
        err = load_conversation(ctx, req->site_id, req->conversation_id, mem, &r->conversation,
                                &stage, &tried, &n_tried);
        if (err == STORE_OK && !r->conversation)
            return STORE_NO_CONVERSATION;
        if (err == STORE_OK)
            route_segment_of(r->conversation, &seg);
    } else {
        err = visitor_segment(ctx, req, mem, &seg);
    }
    if (err != STORE_OK)
        return err;
    json_t *routing;
    int minute;
    err = route_load_site(ctx, req->site_id, &routing, &minute);
    if (err != STORE_OK)
        return err;
    r->decision = route_decide(mem, routing, minute, loads, n_loads, &seg);
    json_decref(routing);
    if (!r->decision)
        return STORE_INTERNAL;
    r->decision->stage = stage;
    r->decision->tried = tried;
    r->decision->n_tried = n_tried;
    r->decision->state = r->conversation ? r->conversation->state : "";
    r->decision->deadline_ms = r->conversation ? r->conversation->deadline_ms : 0;
    reply->body_case = BESEDA__STORE_REPLY__BODY_ROUTE;
    reply->route = r;
    return STORE_OK;
}

/* ------------------------------------------------------------ route_step */

static bool valid_action(const char *a)
{
    return a && (strcmp(a, "ring") == 0 || strcmp(a, "assign") == 0 || strcmp(a, "queue") == 0
                 || strcmp(a, "miss") == 0 || strcmp(a, "hold") == 0);
}

/* The ids as a PostgreSQL array literal (they are checked uuids). */
static char *uuid_array(store_mem_t *mem, char **ids, size_t n)
{
    char *out = store_mem_alloc(mem, 2 + n * 37 + 1);
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

static bool valid_step(const Beseda__StoreRouteStep *req)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id)
        || !valid_action(req->action) || req->from_stage > INT_MAX
        || req->n_operator_ids > ROUTE_OPS_MAX || req->response_limit_s > 86400
        || (!is_empty(req->from_operator_id) && !store_valid_uuid(req->from_operator_id))
        || !store_valid_text(req->rule, ROUTE_RULE_MAX))
        return false;
    for (size_t i = 0; i < req->n_operator_ids; i++)
        if (!store_valid_uuid(req->operator_ids[i]))
            return false;
    bool needs_ops = strcmp(req->action, "ring") == 0 || strcmp(req->action, "assign") == 0;
    return !needs_ops || req->n_operator_ids > 0;
}

/* Runs one compare-and-set function returning (bool, ended uuid[] as text)
 * and then reads the conversation as it is. */
static store_err_t run_cas(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int nparams,
                           const char *const *params, const char *site_id, const char *conv_id,
                           protobuf_c_boolean *done, char ***ended, size_t *n_ended,
                           Beseda__ConversationInfo **conv)
{
    PGresult *res;
    db_status_t st = store_db_query(ctx->db, sql, nparams, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_INTERNAL;
    *done = rows_bool(res, 0, 0);
    if (*done && !rows_split_ids(mem, rows_str(res, 0, 1), ended, n_ended))
        return STORE_INTERNAL;
    store_err_t err = rows_conversation_get(ctx, mem, site_id, conv_id, conv);
    if (err == STORE_OK && !*conv)
        return STORE_NO_CONVERSATION;
    return err;
}

store_err_t store_route_step(store_ctx_t *ctx, const Beseda__StoreRouteStep *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!valid_step(req))
        return STORE_BAD_REQUEST;
    Beseda__StoreRouteStepReply *r = store_mem_alloc(mem, sizeof *r);
    char *ops = uuid_array(mem, req->operator_ids, req->n_operator_ids);
    if (!r || !ops)
        return STORE_INTERNAL;
    beseda__store_route_step_reply__init(r);
    char stage[16], deadline[16], limit[16];
    snprintf(stage, sizeof stage, "%u", req->from_stage);
    snprintf(deadline, sizeof deadline, "%u", req->deadline_ms_from_now);
    snprintf(limit, sizeof limit, "%u", req->response_limit_s);
    const char *params[] = { req->site_id, req->conversation_id, stage, req->action, ops, deadline,
                             is_empty(req->from_operator_id) ? NULL : req->from_operator_id,
                             req->rule ? req->rule : "", limit };
    store_err_t err = run_cas(ctx, mem,
        "SELECT applied, array_to_string(ended, ',') FROM beseda_route_step($1::uuid, $2::uuid,"
        " $3::int, $4, $5::uuid[], $6::bigint, $7::uuid, $8, $9::int)", 9, params,
        req->site_id, req->conversation_id, &r->applied, &r->ended_ringing, &r->n_ended_ringing,
        &r->conversation);
    if (err != STORE_OK)
        return err;
    reply->body_case = BESEDA__STORE_REPLY__BODY_ROUTE_STEP;
    reply->route_step = r;
    return STORE_OK;
}

/* ---------------------------------------------------------------- accept */

store_err_t store_accept(store_ctx_t *ctx, const Beseda__StoreAccept *req,
                         Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->conversation_id)
        || !store_valid_uuid(req->operator_id))
        return STORE_BAD_REQUEST;
    Beseda__StoreAcceptReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_accept_reply__init(r);
    char epoch[EPOCH_TEXT_LEN];
    store_epoch_text(req->epoch, epoch);
    const char *params[] = { req->site_id, req->conversation_id, req->operator_id, epoch };
    store_err_t err = run_cas(ctx, mem,
        "SELECT won, array_to_string(ended, ',') FROM beseda_accept($1::uuid, $2::uuid, $3::uuid,"
        " $4::bigint)", 4, params, req->site_id, req->conversation_id, &r->won,
        &r->ended_ringing, &r->n_ended_ringing, &r->conversation);
    if (err == STORE_NO_CONVERSATION) {
        /* Not of this site: another site's chat is "forbidden" (as for
         * every other frame, docs/PROTOCOL.md), an id nobody has is not. */
        const char *id[] = { req->conversation_id };
        PGresult *res;
        db_status_t st = store_db_query(ctx->db, "SELECT 1 FROM conversations WHERE id = $1::uuid",
                                        1, id, &res);
        if (st != DB_OK)
            return rows_err(st);
        bool elsewhere = PQntuples(res) > 0;
        PQclear(res);
        return elsewhere ? store_fail_with(reply, mem, STORE_FORBIDDEN, "this conversation does not ring for you")
                         : store_fail_with(reply, mem, STORE_NO_CONVERSATION, "no such conversation");
    }
    if (err != STORE_OK)
        return err;
    reply->body_case = BESEDA__STORE_REPLY__BODY_ACCEPT;
    reply->accept = r;
    return STORE_OK;
}

/* ------------------------------------------------------------------- due */

store_err_t store_due(store_ctx_t *ctx, const Beseda__StoreDue *req,
                      Beseda__StoreReply *reply, store_mem_t *mem)
{
    uint32_t limit = req->limit ? req->limit : DUE_LIMIT_DEFAULT;
    uint32_t lease = req->lease_ms ? req->lease_ms : DUE_LEASE_DEFAULT;
    if (limit > DUE_LIMIT_MAX || lease < DUE_LEASE_MIN || lease > DUE_LEASE_MAX)
        return STORE_BAD_REQUEST;
    char lim[16], ms[16];
    snprintf(lim, sizeof lim, "%u", limit);
    snprintf(ms, sizeof ms, "%u", lease);
    const char *params[] = { lim, ms };
    PGresult *res;
    /* SKIP LOCKED: a row another router is claiming, or a step is changing,
     * is left for the next poll rather than waited for. The lease moves the
     * deadline, so nobody else claims it until it ends; the step that
     * follows is a compare-and-set on route_stage and sets its own. */
    db_status_t st = store_db_query(ctx->db,
        "UPDATE conversations c SET deadline_at = now() + $2::int * interval '1 millisecond'"
        " WHERE c.id IN (SELECT d.id FROM conversations d"
        "                 WHERE d.deadline_at <= now() AND d.state <> 'closed'"
        "                 ORDER BY d.deadline_at LIMIT $1::int FOR UPDATE SKIP LOCKED)"
        " RETURNING c.site_id, c.id, c.route_stage, c.state, coalesce(c.operator_id::text, ''),"
        "           coalesce(c.held_by::text, '')",
        2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    Beseda__StoreDueReply *r = store_mem_alloc(mem, sizeof *r);
    int n = PQntuples(res);
    if (!r)
        return STORE_INTERNAL;
    beseda__store_due_reply__init(r);
    if (n > 0 && !(r->due = store_mem_alloc(mem, (size_t) n * sizeof *r->due)))
        return STORE_INTERNAL;
    for (int i = 0; i < n; i++) {
        Beseda__DueConversation *d = store_mem_alloc(mem, sizeof *d);
        if (!d)
            return STORE_INTERNAL;
        beseda__due_conversation__init(d);
        d->site_id = rows_str(res, i, 0);
        d->conversation_id = rows_str(res, i, 1);
        d->stage = (uint32_t) rows_u64(res, i, 2);
        d->state = rows_str(res, i, 3);
        d->operator_id = rows_str(res, i, 4);
        d->held_by = rows_str(res, i, 5);
        r->due[i] = d;
    }
    r->n_due = (size_t) n;
    reply->body_case = BESEDA__STORE_REPLY__BODY_DUE;
    reply->due = r;
    return STORE_OK;
}

/* ------------------------------------------------------ operator replies */

store_err_t route_operator_extras(store_ctx_t *ctx, Beseda__StoreOperatorReply *r, store_mem_t *mem)
{
    const char *params[] = { r->operator_->site_id, r->operator_->id };
    store_err_t err = rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.state = 'ringing' AND $2::uuid = ANY (c.ringing)"
        " ORDER BY c.created_at LIMIT " STORE_STR(STORE_QUEUE_MAX), 2, params,
        &r->ringing, &r->n_ringing);
    if (err != STORE_OK)
        return err;
    store_settings_t s;
    err = store_settings_load(ctx, r->operator_->site_id, &s);
    if (err == STORE_OK)
        err = store_settings_groups(mem, s.routing, &r->groups, &r->n_groups);
    store_settings_free(&s);
    return err;
}
