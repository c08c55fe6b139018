/* The HTTP API's settings and operators endpoints (docs/PROTOCOL.md §3):
 * the gateway sends the operator's session token from the Authorization
 * header; the router resolves it (StoreOperatorSession: bad_session when
 * unknown or expired), checks the role (settings: site admins only), and
 * passes the request to the store, whose ApiDocument (JSON) the gateway
 * returns as the body. Shard key: the session (as operator_resume) for the
 * lookup, then the site.
 *
 *   api_settings_get  -> StoreSettingsGet            (admin)
 *   api_settings_put  -> StoreSettingsPut            (admin; the store validates)
 *   api_operators     -> StoreListOperators + presence  (any operator of the site)
 *   api_mail_outbox   -> StoreMailOutbox             (admin; mail not sent and why)
 *   api_status        -> presence (the operator's own status; status.c)
 *   api_inbox         -> StoreInbox                 (any operator of the site; its items only)
 *   api_archive       -> StoreArchive               (any operator of the site; its conversations only)
 *
 * Rate limits are the gateway's (per IP). */
#include "api.h"
#include "status.h"
#include "log.h"
#include "publish.h"
#include "util.h"
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *request_session(const Beseda__RouterRequest *msg)
{
    switch (msg->body_case) {
    case BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_GET: return msg->api_settings_get->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_PUT: return msg->api_settings_put->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_OPERATORS:    return msg->api_operators->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_MAIL_OUTBOX:  return msg->api_mail_outbox->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_STATUS:       return msg->api_status->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_INBOX:        return msg->api_inbox->session;
    case BESEDA__ROUTER_REQUEST__BODY_API_ARCHIVE:      return msg->api_archive->session;
    default:                                            return "";
    }
}

void api_request(router_t *self, job_t *job)
{
    const char *session = request_session(job->msg);
    if (!session[0]) {
        router_fail(self, &job, "bad_session", "no session token");
        return;
    }
    Beseda__StoreOperatorSession ss = BESEDA__STORE_OPERATOR_SESSION__INIT;
    ss.session = (char *) session;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_SESSION;
    request.operator_session = &ss;
    char key[33];
    router_opaque_key(session, key);
    job->step = STEP_API_SESSION;
    router_store_call(self, &job, key, &request);
}

static void call_store(router_t *self, job_t *job, Beseda__StoreRequest *request)
{
    job->step = STEP_API_CALL;
    router_store_call(self, &job, job->site_id, request);
}

void api_on_session(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreOperatorReply *so =
        reply->body_case == BESEDA__STORE_REPLY__BODY_OPERATOR ? reply->operator_ : NULL;
    if (!so || !so->ok || !so->operator_ || !so->operator_->id[0] || !so->operator_->site_id[0]) {
        log_info("api: bad session", "ip", job->msg->ip);
        router_fail(self, &job, "bad_session", "unknown or expired session");
        return;
    }
    const Beseda__OperatorInfo *op = so->operator_;
    if (job_set(&job->site_id, op->site_id) != 0 || job_set(&job->operator_id, op->id) != 0) {
        router_fail(self, &job, "internal", "out of memory");
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_STATUS) {
        status_api(self, job);             /* any operator, their own status */
        return;
    }
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_OPERATORS) {
        Beseda__StoreListOperators lo = BESEDA__STORE_LIST_OPERATORS__INIT;
        lo.site_id = job->site_id;
        request.body_case = BESEDA__STORE_REQUEST__BODY_LIST_OPERATORS;
        request.list_operators = &lo;
        call_store(self, job, &request);
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_INBOX) {
        const Beseda__ApiInbox *in = job->msg->api_inbox;
        Beseda__StoreInbox si = BESEDA__STORE_INBOX__INIT;
        si.site_id = job->site_id;
        si.operator_id = job->operator_id;
        si.action = in->action;
        si.item_id = in->item_id;
        si.text = in->text;
        request.body_case = BESEDA__STORE_REQUEST__BODY_INBOX;
        request.inbox = &si;
        call_store(self, job, &request);
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_ARCHIVE) {
        /* The site is the session's, never one the client names. */
        const Beseda__ApiArchive *in = job->msg->api_archive;
        Beseda__StoreArchive sa = BESEDA__STORE_ARCHIVE__INIT;
        sa.site_id = job->site_id;
        sa.conversation_id = in->conversation_id;
        sa.q = in->q;
        sa.from = in->from;
        sa.to = in->to;
        sa.operator_ = in->operator_;
        sa.group = in->group;
        sa.state = in->state;
        sa.visitor = in->visitor;
        sa.before = in->before;
        sa.limit = in->limit;
        request.body_case = BESEDA__STORE_REQUEST__BODY_ARCHIVE;
        request.archive = &sa;
        call_store(self, job, &request);
        return;
    }
    if (strcmp(op->role, "admin") != 0) {
        log_info("api: settings refused to a non-admin", "operator", op->id, "site", op->site_id);
        router_fail(self, &job, "forbidden", "site admins only");
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_GET) {
        Beseda__StoreSettingsGet sg = BESEDA__STORE_SETTINGS_GET__INIT;
        sg.site_id = job->site_id;
        request.body_case = BESEDA__STORE_REQUEST__BODY_SETTINGS_GET;
        request.settings_get = &sg;
        call_store(self, job, &request);
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_MAIL_OUTBOX) {
        Beseda__StoreMailOutbox mo = BESEDA__STORE_MAIL_OUTBOX__INIT;
        mo.site_id = job->site_id;
        request.body_case = BESEDA__STORE_REQUEST__BODY_MAIL_OUTBOX;
        request.mail_outbox = &mo;
        call_store(self, job, &request);
        return;
    }
    const Beseda__ApiSettingsPut *put = job->msg->api_settings_put;
    Beseda__StoreSettingsPut sp = BESEDA__STORE_SETTINGS_PUT__INIT;
    sp.site_id = job->site_id;
    sp.section = put->section;
    sp.json = put->json;
    sp.operator_id = job->operator_id;
    request.body_case = BESEDA__STORE_REQUEST__BODY_SETTINGS_PUT;
    request.settings_put = &sp;
    call_store(self, job, &request);
}

/* The store's refusals of a settings request are the client's answer as
 * they are (the message names the field path); the rest as everywhere. */
static bool api_store_failed(router_t *self, job_t **job_p, const Beseda__StoreReply *reply)
{
    const char *code = reply->error_code;
    if (!code || !*code)
        return false;
    static const char *const passthrough[] = { "bad_value", "missing_field", "not_found", NULL };
    for (int i = 0; passthrough[i]; i++)
        if (strcmp(code, passthrough[i]) == 0) {
            router_fail(self, job_p, passthrough[i],
                        reply->error_message[0] ? reply->error_message : code);
            return true;
        }
    if (strcmp(code, "bad_request") == 0) {
        router_fail(self, job_p, "bad_value",
                    reply->error_message[0] ? reply->error_message : "bad request");
        return true;
    }
    return router_store_failed(self, job_p, reply);
}

bool team_presence_statuses(router_t *self, const char *site_id, char *const *ids, size_t n,
                            const char **out)
{
    /* ARGV: now, site, ids... As presence.h: a live connection and the
     * stored status; a connection without a status hash counts as offline,
     * as presence_is_online() has it. */
    static const char script[] =
        "local now, site = ARGV[1], ARGV[2]\n"
        "local out = {}\n"
        "for i = 3, #ARGV do\n"
        "  local op, st = ARGV[i], 'offline'\n"
        "  if redis.call('ZCOUNT', 'op:'..op..':conns', now, '+inf') > 0 then\n"
        "    local h = redis.call('HMGET', 'op:'..op, 'status', 'site')\n"
        "    if h[2] and h[2] ~= site then st = 'elsewhere' else st = h[1] or 'offline' end\n"
        "  end\n"
        "  out[#out + 1] = st\n"
        "end\n"
        "return out\n";
    if (n == 0)
        return true;
    const char **argv = calloc(n + 5, sizeof *argv);
    if (!argv)
        return false;
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = "0";
    argv[3] = now;
    argv[4] = site_id;
    for (size_t i = 0; i < n; i++)
        argv[5 + i] = ids[i];
    redisReply *r = redis_cmd_argv(self->redis, (int) (n + 5), argv);
    free(argv);
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == n;
    static const char *const known[] = { "online", "away", "busy", "elsewhere" };
    for (size_t i = 0; ok && i < n; i++) {
        const redisReply *e = r->element[i];
        out[i] = "offline";
        for (size_t k = 0; e->type == REDIS_REPLY_STRING && k < sizeof known / sizeof known[0]; k++)
            if (strcmp(e->str, known[k]) == 0)
                out[i] = known[k];
    }
    if (r)
        freeReplyObject(r);
    return ok;
}

/* {"operators":[{"id","name","email","role","max_chats","status"}]}. */
static char *operators_json(router_t *self, const char *site_id, const Beseda__AdminOperatorList *list)
{
    size_t n = list->n_operators;
    const char **statuses = calloc(n ? n : 1, sizeof *statuses);
    char **ids = calloc(n ? n : 1, sizeof *ids);
    bool known = statuses && ids;
    for (size_t i = 0; known && i < n; i++)
        ids[i] = list->operators[i]->id;
    known = known && team_presence_statuses(self, site_id, ids, n, statuses);
    json_t *arr = known ? json_array() : NULL;
    for (size_t i = 0; arr && i < n; i++) {
        const Beseda__AdminOperator *o = list->operators[i];
        /* Present on another site's console cannot be; say offline. */
        const char *st = strcmp(statuses[i], "elsewhere") == 0 ? "offline" : statuses[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", o->id,
                                             "name", o->name, "email", o->email, "role", o->role,
                                             "max_chats", (json_int_t) o->max_chats, "status", st));
    }
    free(statuses);
    free(ids);
    if (!arr)
        return NULL;
    json_t *doc = json_pack("{s:o}", "operators", arr);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return text;
}

static void reply_document(router_t *self, job_t *job, const char *json, uint64_t version)
{
    Beseda__ApiDocument doc = BESEDA__API_DOCUMENT__INIT;
    doc.json = (char *) json;
    doc.version = version;
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_DOCUMENT;
    rr.document = &doc;
    router_reply(self, job, &rr);
}

/* After a saved section: tell the site's open consoles, with the groups as
 * the saved document has them (docs/PROTOCOL.md "settings_changed"). */
static void announce_settings(router_t *self, const job_t *job, const Beseda__ApiDocument *doc)
{
    json_t *root = json_loads(doc->json, 0, NULL);
    const json_t *groups = json_object_get(json_object_get(root, "routing"), "groups");
    size_t n = json_is_array(groups) ? json_array_size(groups) : 0;
    Beseda__GroupInfo *infos = calloc(n ? n : 1, sizeof *infos);
    Beseda__GroupInfo **list = calloc(n ? n : 1, sizeof *list);
    size_t count = 0;
    for (size_t i = 0; infos && list && i < n; i++) {
        const json_t *g = json_array_get(groups, i);
        const char *id = json_string_value(json_object_get(g, "id"));
        const char *name = json_string_value(json_object_get(g, "name"));
        if (!id)
            continue;
        beseda__group_info__init(&infos[count]);
        infos[count].id = (char *) id;
        infos[count].name = (char *) (name ? name : "");
        list[count] = &infos[count];
        count++;
    }
    if (infos && list)
        publish_settings_changed(self->pub, job->site_id, job->msg->api_settings_put->section,
                                 doc->version, list, count);
    else
        log_warn("settings_changed not published: out of memory", "site", job->site_id);
    free(list);
    free(infos);
    json_decref(root);
}

void api_on_call(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (api_store_failed(self, &job, reply))
        return;
    if (reply->body_case == BESEDA__STORE_REPLY__BODY_DOCUMENT && reply->document) {
        if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_SETTINGS_PUT)
            announce_settings(self, job, reply->document);
        if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_API_INBOX
            && strcmp(job->msg->api_inbox->action, "list") != 0)
            publish_inbox_changed(self->pub, job->site_id, "answered");
        reply_document(self, job, reply->document->json, reply->document->version);
        job_destroy(&job);
        return;
    }
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_ADMIN_OPERATORS || !reply->admin_operators) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    char *json = operators_json(self, job->site_id, reply->admin_operators);
    if (!json) {
        router_fail(self, &job, "unavailable", "presence is unknown; try again");
        return;
    }
    reply_document(self, job, json, 0);
    free(json);
    job_destroy(&job);
}
