/* Assignment: see assign.h for when it runs and how the operator is chosen. */
#include "assign.h"
#include "router.h"
#include "claim.h"
#include "log.h"
#include "publish.h"
#include "routing.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool in_set(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && strcmp(ids[i], id) == 0)
            return true;
    return false;
}

/* a is less loaded than b: lower open/max ratio (compared without division),
 * then fewer open chats, then the lower id, so the choice is deterministic. */
static bool less_loaded(const assign_load_t *a, const assign_load_t *b)
{
    uint64_t lhs = (uint64_t) a->open_chats * b->max_chats;
    uint64_t rhs = (uint64_t) b->open_chats * a->max_chats;
    if (lhs != rhs)
        return lhs < rhs;
    if (a->open_chats != b->open_chats)
        return a->open_chats < b->open_chats;
    return strcmp(a->operator_id, b->operator_id) < 0;
}

int assign_choose(const assign_load_t *loads, size_t n_loads, char *const *online,
                  size_t n_online)
{
    int best = -1;
    for (size_t i = 0; i < n_loads; i++) {
        const assign_load_t *l = &loads[i];
        if (!l->operator_id || !*l->operator_id || l->open_chats >= l->max_chats
            || !in_set(online, n_online, l->operator_id))
            continue;
        if (best < 0 || less_loaded(l, &loads[best]))
            best = (int) i;
    }
    return best;
}

/* ------------------------------------------------------------ flow */

/* Hold a claim for the two store round trips an assignment takes, and a
 * little more; it is released as soon as the assignment ends. */
static int64_t claim_hold_ms(const router_t *self)
{
    return 2 * (int64_t) self->cfg.store_timeout_ms + 1000;
}

static bool claim(router_t *self, const char *conv_id)
{
    return claim_take(self->assigning, conv_id, beseda_mono_ms(), claim_hold_ms(self));
}

/* Remembers the connection that came online on a job (see assign.h); an
 * origin without all three ids is no origin. -1 when out of memory. */
static int set_origin(job_t *job, const char *gateway_id, const char *conn_id,
                      const char *operator_id)
{
    if (!gateway_id || !*gateway_id || !conn_id || !*conn_id || !operator_id || !*operator_id)
        return 0;
    if (job_set(&job->notify_gateway, gateway_id) != 0 || job_set(&job->notify_conn, conn_id) != 0
        || job_set(&job->notify_operator, operator_id) != 0)
        return -1;
    return 0;
}

/* STEP_QUEUE job: conv_id set = one conversation; from_operator_id set
 * without conv_id = that operator's chats; neither = the site's queue. */
static void ask_site_queue(router_t *self, const char *site_id, const char *conv_id,
                           const char *from_operator_id, uint64_t epoch,
                           const assign_origin_t *origin)
{
    job_t *job = job_new(STEP_QUEUE, NULL, NULL);
    if (!job || job_set(&job->site_id, site_id) != 0
        || (conv_id && job_set(&job->conv_id, conv_id) != 0)
        || job_set(&job->from_operator_id, from_operator_id ? from_operator_id : "") != 0
        || (origin && set_origin(job, origin->gateway_id, origin->conn_id,
                                 origin->operator_id) != 0)) {
        log_error("assignment skipped: out of memory", "site", site_id);
        if (conv_id)
            claim_release(self->assigning, conv_id);
        job_destroy(&job);
        return;
    }
    job->epoch = epoch;
    Beseda__StoreSiteQueue sq = BESEDA__STORE_SITE_QUEUE__INIT;
    sq.site_id = (char *) site_id;
    if (!conv_id && from_operator_id)
        sq.operator_id = (char *) from_operator_id;
    /* A visitor's chat (not an offline operator's hand-off): its own row
     * only, wherever it stands in the queue (route_one reads nothing else). */
    if (conv_id && (!from_operator_id || !*from_operator_id))
        sq.conversation_id = (char *) conv_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_SITE_QUEUE;
    request.site_queue = &sq;
    router_store_call(self, &job, site_id, &request);
}

void assign_conversation(router_t *self, const char *site_id, const char *conv_id,
                         const char *from_operator_id, uint64_t epoch)
{
    if (!claim(self, conv_id)) {
        log_debug("assignment already in flight", "conversation", conv_id);
        return;
    }
    ask_site_queue(self, site_id, conv_id, from_operator_id ? from_operator_id : "", epoch, NULL);
}

void assign_site_queue(router_t *self, const char *site_id, uint64_t epoch,
                       const assign_origin_t *origin)
{
    ask_site_queue(self, site_id, NULL, NULL, epoch, origin);
}

void assign_redistribute(router_t *self, const char *site_id, const char *operator_id,
                         uint64_t epoch)
{
    ask_site_queue(self, site_id, NULL, operator_id, epoch, NULL);
}

/* Is the assignment to operator_id one for the connection that started the
 * queue job (assign.h)? */
static bool for_origin(const job_t *queue_job, const char *operator_id)
{
    return queue_job->notify_operator && *operator_id
        && strcasecmp(queue_job->notify_operator, operator_id) == 0;
}

/* StoreAssign of conv_id to operator_id ("" = back to the queue) from
 * from_operator_id ("" = it has none). The caller holds the claim on
 * conv_id; the STEP_ASSIGN job releases it. */
void assign_ask(router_t *self, const job_t *queue_job, const char *conv_id,
                const char *operator_id, const char *operator_name,
                const char *from_operator_id)
{
    job_t *job = job_new(STEP_ASSIGN, NULL, NULL);
    if (!job || job_set(&job->site_id, queue_job->site_id) != 0
        || job_set(&job->conv_id, conv_id) != 0 || job_set(&job->operator_id, operator_id) != 0
        || job_set(&job->operator_name, operator_name) != 0
        || job_set(&job->from_operator_id, from_operator_id) != 0
        || (for_origin(queue_job, operator_id)
            && set_origin(job, queue_job->notify_gateway, queue_job->notify_conn,
                          queue_job->notify_operator) != 0)) {
        log_error("assignment skipped: out of memory", "conversation", conv_id);
        claim_release(self->assigning, conv_id);
        job_destroy(&job);
        return;
    }
    job->epoch = queue_job->epoch;
    /* Names this change; the bus resends the same body, so a retry carries it too. */
    char assign_id[UUID_STR_LEN];
    beseda_uuid(assign_id);
    Beseda__StoreAssign sa = BESEDA__STORE_ASSIGN__INIT;
    sa.site_id = job->site_id;
    sa.conversation_id = job->conv_id;
    sa.operator_id = job->operator_id;
    sa.epoch = job->epoch;
    sa.from_operator_id = job->from_operator_id;
    sa.assign_id = assign_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ASSIGN;
    request.assign = &sa;
    router_store_call(self, &job, conv_id, &request);
}

/* Gives conv_id to the least loaded free operator (counting the pick as one
 * more open chat), or, when nobody is free and it has an operator
 * (from_operator_id), puts it back in the queue. The claim is held. */
static void place(router_t *self, const job_t *job, const Beseda__StoreSiteQueueReply *q,
                  assign_load_t *loads, char **online, size_t n_online, const char *conv_id)
{
    const char *from = job->from_operator_id ? job->from_operator_id : "";
    int i = assign_choose(loads, q->n_loads, online, n_online);
    if (i >= 0) {
        loads[i].open_chats++;
        assign_ask(self, job, conv_id, loads[i].operator_id, q->loads[i]->name, from);
    } else if (from[0]) {
        log_info("no operator free; conversation goes back to the queue",
                 "conversation", conv_id, "from", from, "site", job->site_id);
        assign_ask(self, job, conv_id, "", "", from);
    } else {
        beseda_counter_inc(self->metrics.queued);
        log_info("no operator free; conversation queued", "conversation", conv_id,
                 "site", job->site_id);
        claim_release(self->assigning, conv_id);
    }
}

/* The decision the store made for an unassigned conversation (same order
 * as q->unassigned), or NULL when the reply has none for it. */
static const Beseda__RouteDecision *decision_at(const Beseda__StoreSiteQueueReply *q, size_t i)
{
    return i < q->n_decisions ? q->decisions[i] : NULL;
}

/* The decision with its candidates: the store leaves them out of an
 * unmatched decision (the site default: every operator), which are the
 * reply's loads (store/site_queue.c). copy holds the filled-in one; the
 * unpacked reply is never changed (it frees its own arrays). */
static const Beseda__RouteDecision *with_candidates(const Beseda__StoreSiteQueueReply *q,
                                                    const Beseda__RouteDecision *d,
                                                    Beseda__RouteDecision *copy)
{
    if (!d || d->matched || d->n_candidates > 0)
        return d;
    *copy = *d;
    copy->candidates = q->loads;
    copy->n_candidates = q->n_loads;
    return copy;
}

/* Index of conv_id among the unassigned, or -1 (ringing, assigned, closed,
 * or beyond the queue's bound). */
static long unassigned_index(const Beseda__StoreSiteQueueReply *q, const char *conv_id)
{
    for (size_t i = 0; i < q->n_unassigned; i++)
        if (q->unassigned[i] && strcasecmp(q->unassigned[i]->id, conv_id) == 0)
            return (long) i;
    return -1;
}

/* One conversation a visitor wrote in: its rule decides (routing.h). One
 * that is not waiting (ringing, taken meanwhile) is left alone. */
static void route_one(router_t *self, const job_t *job, const Beseda__StoreSiteQueueReply *q,
                      assign_load_t *loads, char **online, size_t n_online)
{
    long i = unassigned_index(q, job->conv_id);
    const Beseda__RouteDecision *d = i >= 0 ? decision_at(q, (size_t) i) : NULL;
    if (!d) {
        log_debug("conversation not waiting for an operator", "conversation", job->conv_id);
        claim_release(self->assigning, job->conv_id);
        return;
    }
    Beseda__RouteDecision copy;
    route_conversation(self, job, q->unassigned[i], with_candidates(q, d, &copy), loads, q->n_loads,
                       online, n_online);
}

/* Picks operators for the job's conversation, for the offline operator's
 * chats, or for the site's unassigned conversations oldest first (so one
 * login does not pour the whole queue on one operator beyond their limit).
 * Conversations another assignment on this router is busy with are left to
 * it. Unassigned conversations follow their rule (routing.h); an offline
 * operator's chats go to anyone free. */
static void distribute(router_t *self, const job_t *job, const Beseda__StoreSiteQueueReply *q,
                       assign_load_t *loads, char **online, size_t n_online)
{
    bool moving = job->from_operator_id && job->from_operator_id[0];
    if (job->conv_id && !moving) {            /* claimed in assign_conversation */
        route_one(self, job, q, loads, online, n_online);
        return;
    }
    if (job->conv_id) {
        place(self, job, q, loads, online, n_online, job->conv_id);
        return;
    }
    Beseda__ConversationInfo **convs = moving ? q->operator_conversations : q->unassigned;
    size_t n = moving ? q->n_operator_conversations : q->n_unassigned;
    for (size_t c = 0; c < n; c++) {
        const Beseda__ConversationInfo *conv = convs[c];
        if (!conv || !conv->id[0] || strcmp(conv->state, "closed") == 0)
            continue;
        if (!moving && n_online == 0)
            break;                            /* nobody online: the rest stays queued */
        const Beseda__RouteDecision *d = moving ? NULL : decision_at(q, c);
        if (!moving && !d)
            continue;
        if (!claim(self, conv->id))
            continue;
        if (moving)
            place(self, job, q, loads, online, n_online, conv->id);
        else {
            Beseda__RouteDecision copy;
            route_conversation(self, job, conv, with_candidates(q, d, &copy), loads, q->n_loads,
                               online, n_online);
        }
    }
}

static assign_load_t *loads_from(router_t *self, const Beseda__StoreSiteQueueReply *q)
{
    assign_load_t *loads = calloc(q->n_loads ? q->n_loads : 1, sizeof *loads);
    if (!loads)
        return NULL;
    for (size_t i = 0; i < q->n_loads; i++) {
        loads[i].operator_id = q->loads[i]->operator_id;
        loads[i].open_chats = q->loads[i]->open_chats;
        loads[i].max_chats = q->loads[i]->max_chats;
        operator_name_remember(self, q->loads[i]->operator_id, q->loads[i]->name);
    }
    return loads;
}

/* A redistribution whose operator came back meanwhile (a quick reconnect
 * after the sweep) leaves their chats alone. */
static bool operator_came_back(router_t *self, const job_t *job)
{
    if (job->conv_id || !job->from_operator_id || !job->from_operator_id[0])
        return false;
    if (!presence_holds_chats(self->presence, job->site_id, job->from_operator_id))
        return false;
    log_info("operator is back; their chats stay", "operator", job->from_operator_id,
             "site", job->site_id);
    return true;
}

void assign_on_queue(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_error_code(reply)) {
        assign_abandon(self, job);
        router_store_failed(self, &job, reply);
        return;
    }
    const Beseda__StoreSiteQueueReply *q =
        reply->body_case == BESEDA__STORE_REPLY__BODY_SITE_QUEUE ? reply->site_queue : NULL;
    assign_load_t *loads = q ? loads_from(self, q) : NULL;
    if (!q || !loads || operator_came_back(self, job)) {
        if (!q || !loads)
            log_warn("assignment skipped: unexpected store reply or no memory", "site", job->site_id);
        assign_abandon(self, job);
        free(loads);
        job_destroy(&job);
        return;
    }
    char **online = NULL;
    size_t n_online = presence_online(self->presence, job->site_id, &online);
    distribute(self, job, q, loads, online, n_online);
    free(loads);
    presence_ids_free(&online, n_online);
    job_destroy(&job);
}

/* A hand-off from an offline operator that did not go through is tried
 * again by a later sweep (on whichever router takes it), so the chats are
 * not left with someone who is gone: the likely cause is an epoch this
 * router learned before the last change of the router set, and the next
 * sweep runs with a newer one. */
static void retry_handoff(router_t *self, const job_t *job)
{
    if (!job->from_operator_id || !job->from_operator_id[0] || !job->site_id)
        return;
    log_info("hand-off of an offline operator's chat did not go through; a sweep retries",
             "operator", job->from_operator_id, "conversation", job->conv_id, "site", job->site_id);
    presence_retry_handoff(self->presence, job->site_id, job->from_operator_id, SWEEP_INTERVAL_MS);
}

void assign_abandon(router_t *self, const job_t *job)
{
    if (job->conv_id)
        claim_release(self->assigning, job->conv_id);
    retry_handoff(self, job);
}

/* Refused, yet the conversation is still open with the operator it was to
 * be taken from: nothing else moved it, the store refused us (epoch). */
static bool still_with_from(const job_t *job, const Beseda__ConversationInfo *now)
{
    return now && job->from_operator_id && job->from_operator_id[0]
        && strcmp(now->state, "assigned") == 0
        && strcasecmp(now->operator_id, job->from_operator_id) == 0;
}

/* Logs and counts an assignment change the store applied. */
static void note_change(router_t *self, const job_t *job, const Beseda__ConversationInfo *info)
{
    const char *from = job->from_operator_id ? job->from_operator_id : "";
    if (!info->operator_id[0])
        beseda_counter_inc(self->metrics.assign_requeued);
    else if (from[0])
        beseda_counter_inc(self->metrics.assign_reassigned);
    else
        beseda_counter_inc(self->metrics.assign_assigned);
    if (!info->operator_id[0])
        log_info("conversation back in the queue", "conversation", info->id, "from", from,
                 "site", job->site_id);
    else if (from[0])
        log_info("conversation reassigned", "conversation", info->id, "from", from,
                 "operator", info->operator_id, "site", job->site_id);
    else
        log_info("conversation assigned", "conversation", info->id, "operator",
                 info->operator_id, "site", job->site_id);
}

void assign_on_assign(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    claim_release(self->assigning, job->conv_id);
    if (router_store_error_code(reply)) {
        retry_handoff(self, job);
        router_store_failed(self, &job, reply);
        return;
    }
    const Beseda__StoreAssignReply *ar =
        reply->body_case == BESEDA__STORE_REPLY__BODY_ASSIGN ? reply->assign : NULL;
    const Beseda__ConversationInfo *now = ar && ar->conversation && ar->conversation->id[0]
                                        ? ar->conversation : NULL;
    if (now)
        conv_cache_put(self->convs, now, beseda_mono_ms());
    if (ar && !ar->ok && still_with_from(job, now))
        retry_handoff(self, job);
    if (!ar || !ar->ok || !ar->applied || !now) {
        /* Not ours to announce: refused (taken, moved on, closed, stale
         * epoch), or made by another request that announced it. */
        log_info(ar && ar->ok ? "assignment already made elsewhere; not published"
                              : "assignment not taken (changed meanwhile, closed, or stale)",
                 "conversation", job->conv_id, "operator", job->operator_id,
                 "from", job->from_operator_id, "site", job->site_id);
        job_destroy(&job);
        return;
    }
    Beseda__ConversationInfo info = *now;         /* a copy: never edit the unpacked one */
    if (info.operator_id[0] && !info.operator_name[0])
        info.operator_name = job->operator_name[0] ? job->operator_name
                                                   : (char *) operator_name(self, info.operator_id);
    if (info.operator_id[0])
        publish_assigned(self->pub, info.operator_id, &info);
    if (info.operator_id[0] && job->notify_conn
        && strcasecmp(job->notify_operator, info.operator_id) == 0)
        publish_assigned_to_conn(self->pub, job->notify_gateway, job->notify_conn, &info);
    publish_conversation(self->pub, &info);
    note_change(self, job, &info);
    job_destroy(&job);
}
