/* Routing steps and ring accept (routing.h; docs/ROUTING.md).
 *
 * A step is one StoreRouteStep, a compare-and-set on the conversation's
 * route_stage: of two routers computing a step from the same read, one
 * applies, the other is refused and publishes nothing. An accept is one
 * StoreAccept: the first operator to lock the ringing row wins. */
#include "routing.h"
#include "router.h"
#include "claim.h"
#include "log.h"
#include "publish.h"
#include "util.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RR_KEY_MAX 200

uint64_t route_rr_next(router_t *self, const char *site_id, int rule_index)
{
    char key[RR_KEY_MAX];
    snprintf(key, sizeof key, "route:rr:%s:%d", site_id, rule_index);
    redisReply *r = redis_cmd(self->redis, "INCR %s", key);
    uint64_t v = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? (uint64_t) r->integer : 0;
    if (r)
        freeReplyObject(r);
    return v;
}

/* The round-robin turn, asked of Redis only when there is a tie to break. */
static uint64_t rr_if_tied(router_t *self, const char *site_id, const Beseda__RouteDecision *d,
                           assign_load_t *eligible, size_t n)
{
    if (d->mode && strcmp(d->mode, "ring") == 0)
        return 0;
    route_rank(eligible, n);
    return route_ties(eligible, n) > 1 ? route_rr_next(self, site_id, d->rule_index) : 0;
}

static void copy_origin(job_t *job, const job_t *from)
{
    if (!from || !from->notify_conn)
        return;
    if (job_set(&job->notify_gateway, from->notify_gateway) != 0
        || job_set(&job->notify_conn, from->notify_conn) != 0
        || job_set(&job->notify_operator, from->notify_operator) != 0) {
        free(job->notify_conn);           /* no origin rather than half of one */
        job->notify_conn = NULL;
    }
}

bool route_conversation(router_t *self, const job_t *queue_job, const Beseda__ConversationInfo *conv,
                        const Beseda__RouteDecision *d, assign_load_t *live, size_t n_live,
                        char **online, size_t n_online)
{
    assign_load_t *eligible = calloc(d->n_candidates ? d->n_candidates : 1, sizeof *eligible);
    if (!eligible) {
        claim_release(self->assigning, conv->id);
        return false;
    }
    route_filter_t f = { online, n_online, NULL, 0, "" };
    size_t n = route_eligible(d->candidates, d->n_candidates, live, n_live, &f, eligible);
    uint64_t rr = rr_if_tied(self, queue_job->site_id, d, eligible, n);
    route_plan_t plan;
    route_plan_first(d, eligible, n, rr, &plan);
    free(eligible);
    if (!plan.action) {
        beseda_counter_inc(self->metrics.queued);
        log_info(d->in_hours ? "no candidate free; conversation queued"
                             : "out of the rule's hours; conversation waits",
                 "conversation", conv->id, "rule", d->rule, "site", queue_job->site_id);
        claim_release(self->assigning, conv->id);
        return false;
    }
    for (size_t i = 0; strcmp(plan.action, "assign") == 0 && i < n_live; i++)
        if (strcasecmp(live[i].operator_id, plan.ops[0].operator_id) == 0)
            live[i].open_chats++;         /* the pass counts its own picks */
    if (strcmp(plan.action, "assign") == 0 && plan.deadline_ms == 0 && !d->matched) {
        /* No rule (the site default): the plain assignment, epoch-fenced and
         * idempotent by assign_id. A rule's assignment is a route step: it
         * records the rule on the conversation (shown to operators). */
        assign_ask(self, queue_job, conv->id, plan.ops[0].operator_id,
                   operator_name(self, plan.ops[0].operator_id), "");
        return true;
    }
    job_t *job = job_new(STEP_ROUTE_STEP, NULL, NULL);
    if (!job || job_set(&job->site_id, queue_job->site_id) != 0
        || job_set(&job->conv_id, conv->id) != 0 || job_set(&job->from_operator_id, "") != 0) {
        log_error("routing step skipped: out of memory", "conversation", conv->id);
        claim_release(self->assigning, conv->id);
        job_destroy(&job);
        return false;
    }
    job->claimed = 1;
    job->stage = d->stage;
    job->epoch = queue_job->epoch;
    copy_origin(job, queue_job);
    route_step_send(self, job, &plan, d);
    return true;
}

void route_step_send(router_t *self, job_t *job, const route_plan_t *plan,
                     const Beseda__RouteDecision *d)
{
    char *ids[ROUTE_NOTIFY_MAX];
    for (size_t i = 0; i < plan->n_ops; i++)
        ids[i] = (char *) plan->ops[i].operator_id;
    job->step = STEP_ROUTE_STEP;
    job->action = plan->action;
    job->response_limit_s = d->response_limit_s;
    Beseda__StoreRouteStep rs = BESEDA__STORE_ROUTE_STEP__INIT;
    rs.site_id = job->site_id;
    rs.conversation_id = job->conv_id;
    rs.from_stage = job->stage;
    rs.action = (char *) plan->action;
    rs.n_operator_ids = plan->n_ops;
    rs.operator_ids = ids;
    rs.deadline_ms_from_now = plan->deadline_ms;
    rs.from_operator_id = job->from_operator_id ? job->from_operator_id : "";
    rs.rule = d->rule ? d->rule : "";
    rs.response_limit_s = d->response_limit_s;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ROUTE_STEP;
    request.route_step = &rs;
    log_info("routing step", "conversation", job->conv_id, "action", plan->action,
             "operator", plan->n_ops ? plan->ops[0].operator_id : "", "rule", rs.rule,
             "site", job->site_id);
    char *key = job->conv_id;
    router_store_call(self, &job, key, &request);
}

void route_abandon(router_t *self, const job_t *job)
{
    if (job->claimed && job->conv_id)
        claim_release(self->assigning, job->conv_id);
}

static void ring_end_all(router_t *self, const char *site_id, const char *conv_id,
                         char **ops, size_t n, const char *reason, const char *by_id,
                         const char *by_name)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i] && ops[i][0])
            publish_ring_end(self->pub, site_id, ops[i], conv_id, reason, by_id, by_name);
}

static bool for_origin(const job_t *job, const char *operator_id)
{
    return job->notify_conn && job->notify_operator
        && strcasecmp(job->notify_operator, operator_id) == 0;
}

/* Publishes what an applied step changed, once. */
static void publish_step(router_t *self, const job_t *job, Beseda__ConversationInfo *info,
                         const Beseda__StoreRouteStepReply *sr)
{
    const char *a = job->action;
    if (info->operator_id[0] && !info->operator_name[0])
        info->operator_name = (char *) operator_name(self, info->operator_id);
    if (strcmp(a, "miss") == 0) {
        publish_conversation(self->pub, info);
        ring_end_all(self, info->site_id, info->id, sr->ended_ringing, sr->n_ended_ringing,
                     "missed", "", "");
        publish_missed(self->pub, info);
        return;
    }
    bool had_operator = job->from_operator_id && job->from_operator_id[0];
    if (strcmp(a, "hold") == 0) {
        /* Nobody left to escalate to: the chat stays with its operator,
         * who is warned; the visitor is told nothing and keeps chatting.
         * Given back after an escalation nobody took: the ringing stop,
         * and the operator and the visitor see it theirs again. */
        if (!had_operator) {
            ring_end_all(self, info->site_id, info->id, sr->ended_ringing, sr->n_ended_ringing,
                         "taken", info->operator_id, info->operator_name);
            publish_assigned(self->pub, info->operator_id, info);
            publish_conversation(self->pub, info);
        }
        publish_response_overdue(self->pub, info->operator_id, info, job->response_limit_s, false);
        return;
    }
    ring_end_all(self, info->site_id, info->id, sr->ended_ringing, sr->n_ended_ringing,
                 "escalated", "", "");
    if (had_operator)                     /* escalated from an operator who did not answer */
        publish_response_overdue(self->pub, job->from_operator_id, info, job->response_limit_s, true);
    if (strcmp(a, "ring") == 0) {
        for (size_t i = 0; i < info->n_ringing; i++) {
            publish_ring(self->pub, info->ringing[i], info);
            if (for_origin(job, info->ringing[i]))
                publish_ring_to_conn(self->pub, job->notify_gateway, job->notify_conn, info);
        }
        if (!had_operator)
            return;                       /* the visitor still waits; nothing changed for them */
        /* Taken from an operator who did not answer: they (and the
         * visitor, who knows no "ringing") see it waiting again. */
        info->state = "queued";
    } else if (strcmp(a, "assign") == 0 && info->operator_id[0]) {
        publish_assigned(self->pub, info->operator_id, info);
        if (for_origin(job, info->operator_id))
            publish_assigned_to_conn(self->pub, job->notify_gateway, job->notify_conn, info);
    } else if (strcmp(a, "queue") == 0 && !had_operator) {
        return;                           /* still queued; only its deadline is new */
    }
    publish_conversation(self->pub, info);
}

void route_on_step(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    route_abandon(self, job);
    if (router_store_error_code(reply)) {
        log_warn("routing step failed", "conversation", job->conv_id, "error", reply->error_code,
                 "detail", reply->error_message);
        job_destroy(&job);
        return;
    }
    const Beseda__StoreRouteStepReply *sr =
        reply->body_case == BESEDA__STORE_REPLY__BODY_ROUTE_STEP ? reply->route_step : NULL;
    const Beseda__ConversationInfo *now = sr && sr->conversation && sr->conversation->id[0]
                                        ? sr->conversation : NULL;
    if (now)
        conv_cache_put(self->convs, now, beseda_mono_ms());
    if (!sr || !sr->applied || !now) {
        log_info("routing step not applied (moved on meanwhile)", "conversation", job->conv_id,
                 "action", job->action, "site", job->site_id);
        job_destroy(&job);
        return;
    }
    Beseda__ConversationInfo info = *now;         /* a copy: never edit the unpacked one */
    publish_step(self, job, &info, sr);
    if (strcmp(job->action, "assign") == 0)
        beseda_counter_inc(self->metrics.assign_assigned);
    log_info("routing step applied", "conversation", job->conv_id, "action", job->action,
             "operator", info.operator_id, "state", info.state, "site", job->site_id);
    job_destroy(&job);
}

/* ------------------------------------------------------------ accept */

void ring_accept(router_t *self, job_t *job)
{
    const Beseda__RouterRequest *msg = job->msg;
    const Beseda__AcceptRing *a = msg->accept;
    if (!msg->operator_id[0] || !msg->site_id[0]) {
        router_fail(self, &job, msg->visitor_id[0] ? "forbidden" : "not_authenticated",
                    "operators only");
        return;
    }
    if (!a || !a->conversation_id[0]) {
        router_fail(self, &job, "missing_field", "conversation");
        return;
    }
    if (!beseda_is_uuid(a->conversation_id)) {
        router_fail(self, &job, "no_conversation", "no such conversation");
        return;
    }
    Beseda__StoreAccept sa = BESEDA__STORE_ACCEPT__INIT;
    sa.site_id = msg->site_id;
    sa.conversation_id = a->conversation_id;
    sa.operator_id = msg->operator_id;
    sa.epoch = job->epoch;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ACCEPT;
    request.accept = &sa;
    job->step = STEP_ACCEPT;
    router_store_call(self, &job, a->conversation_id, &request);
}

static void reply_conversation(router_t *self, job_t *job, Beseda__ConversationInfo *info)
{
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_CONVERSATION;
    rr.conversation = info;
    router_reply(self, job, &rr);
}

static void refuse_accept(router_t *self, job_t *job, const char *code)
{
    log_info("accept refused", "conversation", job->msg->accept->conversation_id,
             "operator", job->msg->operator_id, "reason", code);
    router_fail(self, &job, code, strcmp(code, "forbidden") == 0
                ? "this conversation does not ring for you"
                : strcmp(code, "already_taken") == 0 ? "another operator took it" : "it has ended");
}

/* Taken by someone else: was this operator among those it rang (its
 * `tried` list)? Then already_taken, else forbidden. */
static void ask_tried(router_t *self, job_t *job)
{
    Beseda__StoreRoute sr = BESEDA__STORE_ROUTE__INIT;
    sr.site_id = job->msg->site_id;
    sr.conversation_id = job->msg->accept->conversation_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ROUTE;
    request.route = &sr;
    job->step = STEP_ACCEPT_LOST;
    router_store_call(self, &job, job->msg->accept->conversation_id, &request);
}

/* Lost: someone else took it, it does not ring for this operator
 * (forbidden), or it ended. A retry of an accept that won is answered with
 * the conversation, without publishing again. */
static void accept_lost(router_t *self, job_t *job, Beseda__ConversationInfo *info)
{
    const char *me = job->msg->operator_id;
    if (info && strcmp(info->state, "assigned") == 0 && strcasecmp(info->operator_id, me) == 0) {
        if (!info->operator_name[0])
            info->operator_name = (char *) operator_name(self, me);
        reply_conversation(self, job, info);
        job_destroy(&job);
        return;
    }
    if (info && strcmp(info->state, "assigned") == 0) {
        ask_tried(self, job);
        return;
    }
    refuse_accept(self, job, info && strcmp(info->state, "closed") == 0 ? "conversation_closed"
                                                                       : "forbidden");
}

void ring_on_lost(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    const Beseda__StoreRouteReply *rr = !router_store_error_code(reply)
        && reply->body_case == BESEDA__STORE_REPLY__BODY_ROUTE ? reply->route : NULL;
    bool rung = false;
    for (size_t i = 0; rr && rr->decision && i < rr->decision->n_tried; i++)
        rung = rung || strcasecmp(rr->decision->tried[i], job->msg->operator_id) == 0;
    /* The store cannot say: "taken" is what happened to the chat. */
    refuse_accept(self, job, rung || !rr ? "already_taken" : "forbidden");
}

void ring_on_accept(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreAcceptReply *ar =
        reply->body_case == BESEDA__STORE_REPLY__BODY_ACCEPT ? reply->accept : NULL;
    if (!ar) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    Beseda__ConversationInfo copy, *info = NULL;
    if (ar->conversation && ar->conversation->id[0]) {
        copy = *ar->conversation;                 /* never edit the unpacked one */
        info = &copy;
        conv_cache_put(self->convs, ar->conversation, beseda_mono_ms());
    }
    if (!ar->won || !info) {
        accept_lost(self, job, info);
        return;
    }
    const char *me = job->msg->operator_id;
    if (!info->operator_name[0])
        info->operator_name = (char *) operator_name(self, me);
    reply_conversation(self, job, info);
    publish_assigned(self->pub, me, info);
    /* The accepting console may have logged in a moment ago, its o:
     * subscription still travelling: a g: copy for it (the gateway
     * announces an assignment once per connection). */
    if (job->msg->gateway_id[0] && job->msg->conn_id[0])
        publish_assigned_to_conn(self->pub, job->msg->gateway_id, job->msg->conn_id, info);
    publish_conversation(self->pub, info);
    ring_end_all(self, info->site_id, info->id, ar->ended_ringing, ar->n_ended_ringing, "taken",
                 me, info->operator_name);
    beseda_counter_inc(self->metrics.assign_assigned);
    log_info("ring accepted", "conversation", info->id, "operator", me, "site", info->site_id);
    job_destroy(&job);
}
