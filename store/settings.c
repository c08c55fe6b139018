/* Settings requests (proto StoreSettingsGet/Put, StoreSurvey, StoreGroups)
 * and the loader the routing handlers share. A PUT replaces one section in
 * one transaction: the row is locked, the section validated (settings_check.c
 * for form, PostgreSQL for what only it knows: operators of the site, time
 * zone names), written with version + 1, and the whole document returned as
 * GET shows it. */
#include "settings.h"
#include "settings_check.h"
#include "rows.h"
#include "utf8.h"
#include "validate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *store_settings_parse(const char *text)
{
    json_t *v = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        v = json_object();
    }
    return v;
}

void store_settings_free(store_settings_t *s)
{
    json_decref(s->routing);
    json_decref(s->survey);
    json_decref(s->offline);
    s->routing = s->survey = s->offline = NULL;
}

store_err_t store_settings_load(store_ctx_t *ctx, const char *site_id, store_settings_t *out)
{
    memset(out, 0, sizeof *out);
    const char *params[] = { site_id };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT ss.routing::text, ss.survey::text, ss.offline::text, coalesce(ss.version, 0)"
        " FROM sites s LEFT JOIN site_settings ss ON ss.site_id = s.id WHERE s.id = $1",
        1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    bool found = PQntuples(res) == 1;
    out->site_exists = found;
    out->routing = store_settings_parse(found && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL);
    out->survey = store_settings_parse(found && !PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 1) : NULL);
    out->offline = store_settings_parse(found && !PQgetisnull(res, 0, 2) ? PQgetvalue(res, 0, 2) : NULL);
    out->version = found ? strtoll(PQgetvalue(res, 0, 3), NULL, 10) : 0;
    PQclear(res);
    return STORE_OK;
}

static char *mem_json_str(store_mem_t *mem, const json_t *v)
{
    const char *s = json_string_value(v);
    return store_mem_strdup(mem, s ? s : "");
}

store_err_t store_settings_groups(store_mem_t *mem, const json_t *routing,
                                  Beseda__GroupInfo ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    const json_t *groups = json_object_get(routing, "groups");
    size_t n = json_array_size(groups);
    if (n == 0)
        return STORE_OK;
    Beseda__GroupInfo **list = store_mem_alloc(mem, n * sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        const json_t *g = json_array_get(groups, i);
        Beseda__GroupInfo *info = store_mem_alloc(mem, sizeof *info);
        if (!info)
            return STORE_INTERNAL;
        beseda__group_info__init(info);
        info->id = mem_json_str(mem, json_object_get(g, "id"));
        info->name = mem_json_str(mem, json_object_get(g, "name"));
        const json_t *ops = json_object_get(g, "operators");
        size_t k = json_array_size(ops);
        if (k && !(info->operator_ids = store_mem_alloc(mem, k * sizeof *info->operator_ids)))
            return STORE_INTERNAL;
        for (size_t j = 0; j < k; j++)
            if (!(info->operator_ids[j] = mem_json_str(mem, json_array_get(ops, j))))
                return STORE_INTERNAL;
        info->n_operator_ids = k;
        if (!info->id || !info->name)
            return STORE_INTERNAL;
        list[i] = info;
    }
    *out = list;
    *count = n;
    return STORE_OK;
}

static const char *field_mode(const json_t *survey, const char *key)
{
    const char *s = json_string_value(json_object_get(survey, key));
    return s ? s : "off";
}

Beseda__SurveyConfig *store_settings_survey_config(store_mem_t *mem, const json_t *survey)
{
    if (!json_is_true(json_object_get(survey, "enabled")))
        return NULL;
    Beseda__SurveyConfig *c = store_mem_alloc(mem, sizeof *c);
    if (!c)
        return NULL;
    beseda__survey_config__init(c);
    c->enabled = 1;
    c->name = (char *) field_mode(survey, "name");
    c->email = (char *) field_mode(survey, "email");
    c->phone = (char *) field_mode(survey, "phone");
    c->name = store_mem_strdup(mem, c->name);
    c->email = store_mem_strdup(mem, c->email);
    c->phone = store_mem_strdup(mem, c->phone);
    c->question = mem_json_str(mem, json_object_get(survey, "question"));
    c->question_required = json_is_true(json_object_get(survey, "question_required"));
    const json_t *choices = json_object_get(survey, "choices");
    size_t n = json_array_size(choices);
    if (n && !(c->choices = store_mem_alloc(mem, n * sizeof *c->choices)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(c->choices[i] = mem_json_str(mem, json_array_get(choices, i))))
            return NULL;
    c->n_choices = n;
    return c->name && c->email && c->phone && c->question ? c : NULL;
}

/* ------------------------------------------------------------------ GET */

static store_err_t reply_document(Beseda__StoreReply *reply, store_mem_t *mem, const json_t *routing,
                                  const json_t *survey, const json_t *offline, long long version)
{
    json_t *doc = settings_public(routing, survey, offline, version);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    Beseda__ApiDocument *d = store_mem_alloc(mem, sizeof *d);
    char *copy = text ? store_mem_strdup(mem, text) : NULL;
    free(text);
    if (!d || !copy)
        return STORE_INTERNAL;
    beseda__api_document__init(d);
    d->json = copy;
    d->version = version > 0 ? (uint64_t) version : 0;
    reply->body_case = BESEDA__STORE_REPLY__BODY_DOCUMENT;
    reply->document = d;
    return STORE_OK;
}

store_err_t store_settings_get(store_ctx_t *ctx, const Beseda__StoreSettingsGet *req,
                               Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return STORE_BAD_REQUEST;
    store_settings_t s;
    store_err_t err = store_settings_load(ctx, req->site_id, &s);
    if (err == STORE_OK && !s.site_exists)
        err = STORE_NOT_FOUND;
    if (err == STORE_OK)
        err = reply_document(reply, mem, s.routing, s.survey, s.offline, s.version);
    store_settings_free(&s);
    return err;
}

/* ------------------------------------------------------------------ PUT */

/* Locks the site's settings row (creating it) and reads the section. */
static store_err_t lock_row(store_ctx_t *ctx, const char *site_id, store_settings_t *s)
{
    memset(s, 0, sizeof *s);
    const char *params[] = { site_id };
    store_err_t err = rows_err(store_db_exec(ctx->db,
        "INSERT INTO site_settings (site_id) SELECT id FROM sites WHERE id = $1"
        " ON CONFLICT (site_id) DO NOTHING", 1, params));
    if (err != STORE_OK)
        return err;
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT routing::text, survey::text, offline::text, version FROM site_settings"
        " WHERE site_id = $1 FOR UPDATE", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    s->site_exists = PQntuples(res) == 1;
    if (s->site_exists) {
        s->routing = store_settings_parse(PQgetvalue(res, 0, 0));
        s->survey = store_settings_parse(PQgetvalue(res, 0, 1));
        s->offline = store_settings_parse(PQgetvalue(res, 0, 2));
        s->version = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    }
    PQclear(res);
    return STORE_OK;
}

/* What only PostgreSQL knows: every operator of a group is of this site; a
 * time zone name exists. Writes the problem into msg, or leaves it "". */
static store_err_t check_in_db(store_ctx_t *ctx, const char *site_id, const json_t *routing,
                               const char *doc_text, char *msg, size_t cap)
{
    msg[0] = '\0';
    const char *params[] = { site_id, doc_text };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT g.ord - 1, o.ord - 1"
        "  FROM jsonb_array_elements(coalesce($2::jsonb -> 'groups', '[]')) WITH ORDINALITY g(v, ord),"
        "       jsonb_array_elements_text(coalesce(g.v -> 'operators', '[]')) WITH ORDINALITY o(id, ord)"
        " WHERE NOT EXISTS (SELECT 1 FROM operators op WHERE op.site_id = $1 AND op.id = o.id::uuid)"
        " ORDER BY 1, 2 LIMIT 1", 2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (PQntuples(res) == 1)
        snprintf(msg, cap, "groups[%s].operators[%s]: not an operator of this site",
                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
    const char *tz = json_string_value(json_object_get(routing, "timezone"));
    int offset;
    if (msg[0] || !tz || settings_tz_offset(tz, &offset))
        return STORE_OK;
    const char *tz_params[] = { tz };
    st = store_db_query(ctx->db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, tz_params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (PQntuples(res) == 0)
        snprintf(msg, cap, "timezone: unknown time zone \"%.64s\"", tz);
    PQclear(res);
    return STORE_OK;
}

static json_t **section_slot(store_settings_t *s, const char *section)
{
    return strcmp(section, "routing") == 0 ? &s->routing
         : strcmp(section, "survey") == 0 ? &s->survey : &s->offline;
}

static const char *update_sql(const char *section)
{
    if (strcmp(section, "routing") == 0)
        return "UPDATE site_settings SET routing = $2::jsonb, version = version + 1, updated_at = now(),"
               " updated_by = $3::uuid WHERE site_id = $1 RETURNING version";
    if (strcmp(section, "survey") == 0)
        return "UPDATE site_settings SET survey = $2::jsonb, version = version + 1, updated_at = now(),"
               " updated_by = $3::uuid WHERE site_id = $1 RETURNING version";
    return "UPDATE site_settings SET offline = $2::jsonb, version = version + 1, updated_at = now(),"
           " updated_by = $3::uuid WHERE site_id = $1 RETURNING version";
}

/* Inside the transaction: validate, check, write. */
static store_err_t put_locked(store_ctx_t *ctx, const Beseda__StoreSettingsPut *req, json_t *doc,
                              store_settings_t *s, Beseda__StoreReply *reply, store_mem_t *mem)
{
    store_err_t err = lock_row(ctx, req->site_id, s);
    if (err != STORE_OK)
        return err;
    if (!s->site_exists)
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such site");
    json_t **slot = section_slot(s, req->section);
    char msg[512];
    json_t *value = settings_check(req->section, doc, *slot, msg, sizeof msg);
    if (!value)
        return store_fail_with(reply, mem, STORE_BAD_VALUE, msg);
    json_decref(*slot);
    *slot = value;
    char *text = json_dumps(value, JSON_COMPACT);
    if (!text)
        return STORE_INTERNAL;
    if (strcmp(req->section, "routing") == 0) {
        err = check_in_db(ctx, req->site_id, value, text, msg, sizeof msg);
        if (err == STORE_OK && msg[0]) {
            free(text);
            return store_fail_with(reply, mem, STORE_BAD_VALUE, msg);
        }
    }
    const char *by = store_valid_uuid(req->operator_id) ? req->operator_id : NULL;
    const char *params[] = { req->site_id, text, by };
    PGresult *res = NULL;
    db_status_t st = err == STORE_OK ? store_db_query(ctx->db, update_sql(req->section), 3, params, &res)
                                     : DB_FAILED;
    free(text);
    if (err != STORE_OK)
        return err;
    if (st != DB_OK)
        return rows_err(st);
    s->version = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : s->version;
    PQclear(res);
    return STORE_OK;
}

store_err_t store_settings_put(store_ctx_t *ctx, const Beseda__StoreSettingsPut *req,
                               Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !req->json || !req->section
        || (*req->operator_id && !store_valid_uuid(req->operator_id)))
        return STORE_BAD_REQUEST;
    if (!settings_section_known(req->section))
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such settings section");
    if (strlen(req->json) > SETTINGS_DOC_MAX_BYTES)
        return store_fail_with(reply, mem, STORE_BAD_VALUE, "document larger than 64 KiB");
    json_error_t jerr;
    json_t *doc = json_loads(req->json, 0, &jerr);
    if (!doc) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: not JSON (%s)", req->section, jerr.text);
        return store_fail_with(reply, mem, STORE_BAD_VALUE, msg);
    }
    store_settings_t s = { 0 };
    db_status_t st = store_db_begin(ctx->db);
    store_err_t err = st == DB_OK ? put_locked(ctx, req, doc, &s, reply, mem) : rows_err(st);
    st = store_db_end(ctx->db, err == STORE_OK);
    if (err == STORE_OK && st != DB_OK)
        err = rows_err(st);
    if (err == STORE_OK)
        err = reply_document(reply, mem, s.routing, s.survey, s.offline, s.version);
    store_settings_free(&s);
    json_decref(doc);
    return err;
}

/* --------------------------------------------------------------- survey */

/* A visitor's field against its mode: "required" must be given; "off"
 * fields are not kept. Returns the value to save. */
static const char *survey_field(const json_t *survey, const char *key, const char *given,
                                char *msg, size_t cap, store_err_t *err)
{
    const char *mode = field_mode(survey, key);
    if (!given)
        given = "";
    if (strcmp(mode, "off") == 0)
        return "";
    if (!*given && strcmp(mode, "required") == 0) {
        snprintf(msg, cap, "%s: required", key);
        *err = STORE_MISSING_FIELD;
    }
    return given;
}

static bool in_choices(const json_t *survey, const char *answer)
{
    const json_t *choices = json_object_get(survey, "choices");
    if (json_array_size(choices) == 0)
        return true;                     /* a question without choices takes any text */
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c)
        if (strcmp(json_string_value(c), answer) == 0)
            return true;
    return false;
}

/* Checks the answers against the site's survey; STORE_OK or the error with msg. */
static store_err_t check_survey(const json_t *survey, const Beseda__Survey *in, const char **vals,
                                char *msg, size_t cap)
{
    store_err_t err = STORE_OK;
    if (!json_is_true(json_object_get(survey, "enabled"))) {
        snprintf(msg, cap, "survey: not enabled on this site");
        return STORE_BAD_VALUE;
    }
    if (!store_valid_text(in->name, 400) || !store_valid_text(in->email, 254)
        || !store_valid_text(in->phone, 32) || !store_valid_text(in->answer, 800)) {
        snprintf(msg, cap, "survey: a field is too long or not UTF-8");
        return STORE_BAD_VALUE;
    }
    vals[0] = survey_field(survey, "name", in->name, msg, cap, &err);
    if (err == STORE_OK)
        vals[1] = survey_field(survey, "email", in->email, msg, cap, &err);
    if (err == STORE_OK)
        vals[2] = survey_field(survey, "phone", in->phone, msg, cap, &err);
    if (err != STORE_OK)
        return err;
    if (beseda_utf8_chars(vals[0]) > 100) {
        snprintf(msg, cap, "name: at most 100 characters");
        return STORE_BAD_VALUE;
    }
    if (*vals[1] && !settings_valid_email(vals[1])) {
        snprintf(msg, cap, "email: not an e-mail address");
        return STORE_BAD_VALUE;
    }
    if (*vals[2] && !settings_valid_phone(vals[2])) {
        snprintf(msg, cap, "phone: not a phone number");
        return STORE_BAD_VALUE;
    }
    const char *question = json_string_value(json_object_get(survey, "question"));
    const char *answer = in->answer ? in->answer : "";
    vals[3] = question && *question ? answer : "";
    if (question && *question && !*answer && json_is_true(json_object_get(survey, "question_required"))) {
        snprintf(msg, cap, "answer: required");
        return STORE_MISSING_FIELD;
    }
    if (beseda_utf8_chars(vals[3]) > 200) {
        snprintf(msg, cap, "answer: at most 200 characters");
        return STORE_BAD_VALUE;
    }
    if (*vals[3] && !in_choices(survey, vals[3])) {
        snprintf(msg, cap, "answer: not one of the choices");
        return STORE_BAD_VALUE;
    }
    return STORE_OK;
}

store_err_t store_survey(store_ctx_t *ctx, const Beseda__StoreSurvey *req,
                         Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->visitor_id) || !req->survey)
        return STORE_BAD_REQUEST;
    store_settings_t s;
    store_err_t err = store_settings_load(ctx, req->site_id, &s);
    if (err != STORE_OK)
        return err;
    const char *vals[4] = { "", "", "", "" };
    char msg[256] = "";
    err = s.site_exists ? check_survey(s.survey, req->survey, vals, msg, sizeof msg) : STORE_NOT_FOUND;
    store_settings_free(&s);
    if (err != STORE_OK)
        return msg[0] ? store_fail_with(reply, mem, err, msg) : err;
    const char *params[] = { req->site_id, req->visitor_id, vals[0], vals[1], vals[2], vals[3] };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "UPDATE visitors SET name = $3, email = $4, phone = $5, survey_answer = $6"
        " WHERE site_id = $1 AND id = $2 RETURNING id", 6, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0)
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such visitor");
    Beseda__Empty *ok = store_mem_alloc(mem, sizeof *ok);
    if (!ok)
        return STORE_INTERNAL;
    beseda__empty__init(ok);
    reply->body_case = BESEDA__STORE_REPLY__BODY_OK;
    reply->ok = ok;
    return STORE_OK;
}

/* --------------------------------------------------------------- groups */

store_err_t store_groups(store_ctx_t *ctx, const Beseda__StoreGroups *req,
                         Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return STORE_BAD_REQUEST;
    store_settings_t s;
    store_err_t err = store_settings_load(ctx, req->site_id, &s);
    Beseda__GroupList *list = store_mem_alloc(mem, sizeof *list);
    if (err == STORE_OK && !list)
        err = STORE_INTERNAL;
    if (err == STORE_OK) {
        beseda__group_list__init(list);
        err = store_settings_groups(mem, s.routing, &list->groups, &list->n_groups);
    }
    store_settings_free(&s);
    if (err != STORE_OK)
        return err;
    reply->body_case = BESEDA__STORE_REPLY__BODY_GROUPS;
    reply->groups = list;
    return STORE_OK;
}
