/* Operators: login and resume (welcome), status, presence beats, leaving.
 *
 * Login is throttled before the password is even checked, and failures
 * are counted after it (throttle.h).
 * Welcome marks the connection online in Redis, tells the site how many
 * operators are online, and hands the site's queued conversations to
 * whoever is free now (assign.h). The gateway binds site and operator id to
 * the connection after the welcome and sends them with every later request.
 *
 * Leaving: the last connection's OperatorGone takes the operator offline at
 * once (the site hears the new count), but their chats stay theirs for the
 * reassign grace, so a console reload costs nothing. A dead gateway sends
 * nothing: the connections' TTL runs out. Either way the end of the hold is
 * noticed by operator_sweep(), on exactly one router, which publishes the
 * count and hands the chats on (assign_redistribute). */
#include "router.h"
#include "assign.h"
#include "routing.h"
#include "status.h"
#include "log.h"
#include "publish.h"
#include "throttle.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

/* Operator requests after the welcome must carry the bound identity. */
static bool operator_identified(router_t *self, job_t **job_p)
{
    const Beseda__RouterRequest *msg = (*job_p)->msg;
    if (msg->operator_id[0] && msg->site_id[0])
        return true;
    router_fail(self, job_p, "not_authenticated", "operator request without an operator");
    return false;
}

const char *operator_name(router_t *self, const char *operator_id)
{
    const char *name = zhashx_lookup(self->op_names, operator_id);
    if (name)
        return name;
    char *stored = presence_operator_name(self->presence, operator_id);
    if (stored) {
        operator_name_remember(self, operator_id, stored);
        free(stored);
        name = zhashx_lookup(self->op_names, operator_id);
    }
    return name ? name : OPERATOR_DISPLAY_NAME;
}

void operator_name_remember(router_t *self, const char *operator_id, const char *name)
{
    if (!operator_id || !*operator_id || !name || !*name)
        return;
    if (zhashx_size(self->op_names) >= OPERATOR_NAMES_MAX)
        zhashx_purge(self->op_names);
    char *copy = strdup(name);
    if (copy)
        zhashx_update(self->op_names, operator_id, copy);
}

void operator_publish_online(router_t *self, const char *site_id)
{
    /* Unknown (Redis down) is not zero: saying nobody is online would send
     * every visitor of the site to the offline form for nothing. */
    int count = presence_count(self->presence, site_id);
    if (count >= 0)
        publish_operators_online(self->pub, site_id, (uint32_t) count);
}

/* The throttle's name for a login being checked: unique among this
 * router's live jobs, and routers have unique names. */
static void login_attempt_id(router_t *self, const job_t *job, char out[160])
{
    snprintf(out, 160, "%.100s/%p/%lld", self->cfg.name, (const void *) job,
             (long long) job->started_ms);
}

static throttle_limits_t login_limits(router_t *self)
{
    throttle_limits_t limits = {
        .max_account = self->cfg.login_max_fails,
        .max_ip = self->cfg.login_max_fails_ip,
        .max_pending_ip = self->cfg.login_max_pending_ip,
        .window_ms = self->cfg.login_window_s * 1000,
        /* the store's answer, or its timeout, comes within store_timeout_ms */
        .pending_ms = (int64_t) self->cfg.store_timeout_ms + 5000,
    };
    return limits;
}

/* A login's throttle entry ends with the store's answer (or its absence). */
static void login_attempt_end(router_t *self, const job_t *job, throttle_outcome_t outcome)
{
    char attempt[160];
    login_attempt_id(self, job, attempt);
    throttle_limits_t limits = login_limits(self);
    throttle_login_end(self->redis, &limits, job->msg->operator_login->email, job->msg->ip,
                       attempt, outcome);
}

void operator_login_abandon(router_t *self, const job_t *job)
{
    if (job->step == STEP_LOGIN && job->msg && job->msg->operator_login)
        login_attempt_end(self, job, THROTTLE_UNDECIDED);
}

void operator_login(router_t *self, job_t *job)
{
    const Beseda__OperatorLogin *login = job->msg->operator_login;
    if (!login || !login->email[0] || !login->password[0]) {
        router_fail(self, &job, "missing_field", !login || !login->email[0] ? "email" : "password");
        return;
    }
    if (!throttle_email_ok(login->email)) {
        log_info("bad login: e-mail not ASCII", "ip", job->msg->ip);
        router_fail(self, &job, "bad_login", "wrong e-mail or password");
        return;
    }
    char attempt[160];
    login_attempt_id(self, job, attempt);
    throttle_limits_t limits = login_limits(self);
    if (throttle_login_begin(self->redis, &limits, login->email, job->msg->ip, attempt)) {
        log_warn("login throttled", "ip", job->msg->ip);
        router_fail(self, &job, "login_throttled", "too many failed logins; wait");
        return;
    }
    Beseda__StoreOperatorLogin sl = BESEDA__STORE_OPERATOR_LOGIN__INIT;
    sl.email = login->email;
    sl.password = login->password;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGIN;
    request.operator_login = &sl;
    char key[33];
    router_opaque_key(login->email, key);
    job->step = STEP_LOGIN;
    router_store_call(self, &job, key, &request);
}

void operator_resume(router_t *self, job_t *job)
{
    const Beseda__OperatorResume *resume = job->msg->operator_resume;
    if (!resume || !resume->session[0]) {
        router_fail(self, &job, "missing_field", "session");
        return;
    }
    Beseda__StoreOperatorSession ss = BESEDA__STORE_OPERATOR_SESSION__INIT;
    ss.session = resume->session;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_SESSION;
    request.operator_session = &ss;
    char key[33];
    router_opaque_key(resume->session, key);
    job->step = STEP_RESUME;
    router_store_call(self, &job, key, &request);
}

/* Logout: the store deletes the session row (only this operator's), so
 * the token resumes nothing any more; the gateway closes the connection
 * after the ok, and its OperatorGone ends the presence. */
void operator_logout(router_t *self, job_t *job)
{
    const Beseda__OperatorLogout *logout = job->msg->operator_logout;
    if (!job->msg->operator_id[0]) {
        router_fail(self, &job, "not_authenticated", "log in first");
        return;
    }
    if (!logout || !logout->session[0]) {
        router_fail(self, &job, "missing_field", "session");
        return;
    }
    Beseda__StoreOperatorLogout sl = BESEDA__STORE_OPERATOR_LOGOUT__INIT;
    sl.session = logout->session;
    sl.operator_id = job->msg->operator_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGOUT;
    request.operator_logout = &sl;
    char key[33];
    router_opaque_key(logout->session, key);
    job->step = STEP_LOGOUT;
    router_store_call(self, &job, key, &request);
}

void operator_on_logout(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    log_info("operator logged out", "operator", job->msg->operator_id);
    router_reply_ok(self, job);
    /* Answering does not free the job (router_reply); every logout leaked
     * it (LeakSanitizer, tests/fuzz/corpus/router_request/logout). */
    job_destroy(&job);
}

/* Refused login or resume: answer the error (a login's failure was
 * counted by operator_on_welcome). */
static void operator_refused(router_t *self, job_t **job_p)
{
    job_t *job = *job_p;
    if (job->step == STEP_LOGIN) {
        log_info("bad login", "ip", job->msg->ip);
        router_fail(self, job_p, "bad_login", "wrong e-mail or password");
    } else {
        log_info("bad session", "ip", job->msg->ip);
        router_fail(self, job_p, "bad_session", "unknown or expired session");
    }
}

static void reply_welcome(router_t *self, job_t *job, const Beseda__StoreOperatorReply *so)
{
    Beseda__OperatorInfo info = *so->operator_;   /* a copy: never edit the unpacked one */
    info.status = "online";
    Beseda__OperatorWelcome ow = BESEDA__OPERATOR_WELCOME__INIT;
    ow.operator_ = &info;
    ow.session = so->session[0] || job->step == STEP_LOGIN ? so->session
                                                          : job->msg->operator_resume->session;
    ow.n_conversations = so->n_conversations;
    ow.conversations = so->conversations;
    ow.n_ringing = so->n_ringing;
    ow.ringing = so->ringing;
    ow.n_groups = so->n_groups;
    ow.groups = so->groups;
    Beseda__RouterReply reply = BESEDA__ROUTER_REPLY__INIT;
    reply.body_case = BESEDA__ROUTER_REPLY__BODY_OPERATOR_WELCOME;
    reply.operator_welcome = &ow;
    router_reply(self, job, &reply);
}

void operator_on_welcome(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    const Beseda__StoreOperatorReply *so =
        reply->body_case == BESEDA__STORE_REPLY__BODY_OPERATOR ? reply->operator_ : NULL;
    if (job->step == STEP_LOGIN) {
        /* bad_login is the store's answer "wrong password" too */
        const char *code = router_store_error_code(reply);
        bool refused = (code && strcmp(code, "bad_login") == 0) || (!code && so && !so->ok);
        login_attempt_end(self, job, refused ? THROTTLE_FAILED
                                     : !code && so && so->ok ? THROTTLE_OK : THROTTLE_UNDECIDED);
    }
    if (router_store_failed(self, &job, reply))
        return;
    if (!so) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    if (!so->ok) {
        operator_refused(self, &job);
        return;
    }
    const Beseda__OperatorInfo *op = so->operator_;
    if (!op || !op->id[0] || !op->site_id[0]) {
        router_fail(self, &job, "internal", "store returned no operator");
        return;
    }
    operator_name_remember(self, op->id, op->name);
    presence_touch(self->presence, op->id, op->site_id, job->msg->gateway_id,
                   job->msg->conn_id, "online", op->name);
    int64_t now = beseda_mono_ms();
    for (size_t i = 0; i < so->n_conversations; i++)
        conv_cache_put(self->convs, so->conversations[i], now);
    reply_welcome(self, job, so);
    log_info("operator online", "operator", op->id, "site", op->site_id,
             "via", job->step == STEP_LOGIN ? "login" : "resume", "gateway", job->msg->gateway_id);
    operator_publish_online(self, op->site_id);
    /* This connection hears its own assignments on g:<gateway> too: its
     * o:<operator> subscription, made on the welcome, may not be here yet. */
    assign_origin_t origin = { job->msg->gateway_id, job->msg->conn_id, op->id };
    assign_site_queue(self, op->site_id, job->epoch, &origin);
    job_destroy(&job);
}

void operator_set_status(router_t *self, job_t *job)
{
    if (!operator_identified(self, &job))
        return;
    const Beseda__RouterRequest *msg = job->msg;
    const char *status = msg->set_status ? msg->set_status->status : "";
    if (!status_valid(status)) {
        router_fail(self, &job, "missing_field", "status must be online, away or busy");
        return;
    }
    presence_touch(self->presence, msg->operator_id, msg->site_id, msg->gateway_id,
                   msg->conn_id, status, "");
    log_info("operator status", "operator", msg->operator_id, "site", msg->site_id,
             "status", status);
    router_reply_ok(self, job);
    status_publish(self, msg->site_id, msg->operator_id, status);
    operator_publish_online(self, msg->site_id);
    assign_origin_t origin = { msg->gateway_id, msg->conn_id, msg->operator_id };
    if (strcmp(status, "online") == 0)
        assign_site_queue(self, msg->site_id, job->epoch, &origin);
    job_destroy(&job);
}

void operator_beat(router_t *self, job_t *job)
{
    if (!operator_identified(self, &job))
        return;
    const Beseda__RouterRequest *msg = job->msg;
    const char *status = msg->presence_beat ? msg->presence_beat->status : "";
    /* The beat's status only rebuilds a status Redis lost ("?" prefix, see
     * presence.c): the last `status` frame or login of any console wins. */
    const char *fallback = strcmp(status, "away") == 0 ? "?away"
                         : strcmp(status, "busy") == 0 ? "?busy" : "?online";
    int change = presence_touch(self->presence, msg->operator_id, msg->site_id, msg->gateway_id,
                                msg->conn_id, status_valid(status) ? fallback : "", "");
    router_reply_ok(self, job);
    /* A beat changes the count only after Redis lost the operator (restart,
     * expiry): then the site hears it and queued chats get their operator. */
    if (change == PRESENCE_CAME_ONLINE || change == PRESENCE_WENT_AWAY) {
        log_info("operator presence rebuilt from a beat", "operator", msg->operator_id,
                 "site", msg->site_id);
        operator_publish_online(self, msg->site_id);
    }
    /* A beating connection subscribed to o:<operator> long ago. */
    if (change == PRESENCE_CAME_ONLINE)
        assign_site_queue(self, msg->site_id, job->epoch, NULL);
    job_destroy(&job);
}

void operator_gone(router_t *self, job_t *job)
{
    if (!operator_identified(self, &job))
        return;
    const Beseda__RouterRequest *msg = job->msg;
    int left = presence_gone(self->presence, msg->operator_id, msg->site_id, msg->gateway_id,
                             msg->conn_id);
    if (left == 0)
        log_info("operator offline; chats held for the grace", "operator", msg->operator_id,
                 "site", msg->site_id);
    router_reply_ok(self, job);
    operator_publish_online(self, msg->site_id);
    job_destroy(&job);
}

/* "<site>/<op>" from presence_sweep: split in place; false if malformed. */
static bool split_member(char *member, char **site_id, char **operator_id)
{
    char *slash = strchr(member, '/');
    if (!slash || slash == member || !slash[1])
        return false;
    *slash = '\0';
    *site_id = member;
    *operator_id = slash + 1;
    return true;
}

void operator_sweep(router_t *self)
{
    char **members = NULL;
    size_t n = presence_sweep(self->presence, &members);
    for (size_t i = 0; i < n; i++) {
        char *site_id, *operator_id;
        if (!split_member(members[i], &site_id, &operator_id)) {
            log_warn("presence sweep: malformed member dropped", "member", members[i]);
            continue;
        }
        log_info("operator gone for good; handing their chats on", "operator", operator_id,
                 "site", site_id);
        /* Nobody else publishes the count when a TTL runs out. */
        operator_publish_online(self, site_id);
        assign_redistribute(self, site_id, operator_id, self->epoch_seen);
    }
    presence_ids_free(&members, n);
}
