/* Deadlines (routing.h): every router polls StoreDue, which claims the
 * conversations whose ring timeout or response limit passed (with a lease,
 * SKIP LOCKED: each goes to one router), reads each one's decision again
 * (StoreRoute) and moves it on from the stage the claim read: the next
 * untried candidates, then the fallback groups' operators, then "miss" (or
 * "hold" when an operator has the chat: it is never missed under them). A
 * router killed meanwhile leaves its claims to the others once the lease
 * ends; a step refused as stale publishes nothing. */
#include "routing.h"
#include "router.h"
#include "log.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

int64_t due_wait_ms(const router_t *self)
{
    return self->next_due_ms - beseda_mono_ms();
}

void due_abandon(router_t *self)
{
    self->due_inflight_until = 0;
}

void due_when_due(router_t *self)
{
    int64_t now = beseda_mono_ms();
    /* One poll at a time; one whose answer got lost is given up after the
     * store timeout (and a second). */
    if (now < self->next_due_ms || now < self->due_inflight_until)
        return;
    self->next_due_ms = now + self->cfg.due_poll_ms;
    job_t *job = job_new(STEP_DUE, NULL, NULL);
    if (!job)
        return;
    Beseda__StoreDue sd = BESEDA__STORE_DUE__INIT;
    sd.limit = DUE_BATCH;
    sd.lease_ms = DUE_LEASE_MS;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_DUE;
    request.due = &sd;
    self->due_inflight_until = now + self->cfg.store_timeout_ms + 1000;
    /* Any store may serve it: spread the polls by this router's name. */
    router_store_call(self, &job, self->cfg.name, &request);
}

/* One due conversation: read its decision again (StoreRoute). */
static void route_due(router_t *self, const Beseda__DueConversation *d)
{
    if (!beseda_is_uuid(d->site_id) || !beseda_is_uuid(d->conversation_id))
        return;
    job_t *job = job_new(STEP_DUE_ROUTE, NULL, NULL);
    if (!job || job_set(&job->site_id, d->site_id) != 0
        || job_set(&job->conv_id, d->conversation_id) != 0
        || job_set(&job->from_operator_id, d->operator_id) != 0
        || job_set(&job->operator_id, d->held_by) != 0) {
        log_error("due conversation skipped: out of memory", "conversation", d->conversation_id);
        job_destroy(&job);
        return;
    }
    job->stage = d->stage;
    job->epoch = self->epoch_seen;
    Beseda__StoreRoute sr = BESEDA__STORE_ROUTE__INIT;
    sr.site_id = job->site_id;
    sr.conversation_id = job->conv_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ROUTE;
    request.route = &sr;
    char *key = job->conv_id;
    router_store_call(self, &job, key, &request);
}

void due_on_due(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    self->due_inflight_until = 0;
    const Beseda__StoreDueReply *dr =
        reply->body_case == BESEDA__STORE_REPLY__BODY_DUE ? reply->due : NULL;
    if (router_store_error_code(reply) || !dr) {
        log_warn("due poll failed", "error", reply->error_code, "detail", reply->error_message);
        job_destroy(&job);
        return;
    }
    for (size_t i = 0; i < dr->n_due; i++)
        if (dr->due[i])
            route_due(self, dr->due[i]);
    job_destroy(&job);
}

/* Who may take it next: untried online candidates with a free place (not
 * the operator who has it), else the fallback groups' likewise. */
static size_t next_pool(router_t *self, const job_t *job, const Beseda__RouteDecision *d,
                        const Beseda__ConversationInfo *conv, assign_load_t *out)
{
    char **online = NULL;
    size_t n_online = presence_online(self->presence, job->site_id, &online);
    route_filter_t f = { online, n_online, d->tried, d->n_tried, conv->operator_id };
    size_t n = route_eligible(d->candidates, d->n_candidates, NULL, 0, &f, out);
    if (n == 0)
        n = route_eligible(d->fallback, d->n_fallback, NULL, 0, &f, out);
    presence_ids_free(&online, n_online);
    return n;
}

void due_on_route(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    const Beseda__StoreRouteReply *rr =
        reply->body_case == BESEDA__STORE_REPLY__BODY_ROUTE ? reply->route : NULL;
    if (router_store_error_code(reply) || !rr || !rr->decision || !rr->conversation) {
        log_warn("due conversation not routed; its lease ends and it is due again",
                 "conversation", job->conv_id, "error", reply->error_code);
        job_destroy(&job);
        return;
    }
    const Beseda__RouteDecision *d = rr->decision;
    const Beseda__ConversationInfo *conv = rr->conversation;
    if (d->stage != job->stage || strcmp(conv->state, "closed") == 0) {
        log_debug("due conversation moved on meanwhile", "conversation", job->conv_id);
        job_destroy(&job);
        return;
    }
    size_t cap = d->n_candidates > d->n_fallback ? d->n_candidates : d->n_fallback;
    assign_load_t *pool = calloc(cap ? cap : 1, sizeof *pool);
    if (!pool || job_set(&job->from_operator_id, conv->operator_id) != 0) {
        log_error("due conversation skipped: out of memory", "conversation", job->conv_id);
        free(pool);
        job_destroy(&job);
        return;
    }
    size_t n = next_pool(self, job, d, conv, pool);
    uint64_t rr_turn = 0;
    if (n > 1 && d->mode && strcmp(d->mode, "auto") == 0) {
        route_rank(pool, n);
        if (route_ties(pool, n) > 1)
            rr_turn = route_rr_next(self, job->site_id, d->rule_index);
    }
    route_plan_t plan;
    route_plan_next(d, pool, n, rr_turn, &plan);
    /* A chat an operator holds is never missed: with nobody left to
     * escalate to it stays theirs, or goes back to whoever an escalation
     * took it from while their console is still there, and they are warned
     * (ring.c "hold"). */
    if (strcmp(plan.action, "miss") == 0
        && (conv->operator_id[0]
            || (job->operator_id && beseda_is_uuid(job->operator_id)
                && presence_holds_chats(self->presence, job->site_id, job->operator_id))))
        plan.action = "hold";
    log_info("deadline passed", "conversation", job->conv_id, "state", conv->state,
             "next", plan.action, "site", job->site_id);
    route_step_send(self, job, &plan, d);
    free(pool);
}
