/* Assignment: see assign.h for when it runs and how the operator is chosen. */
#include "assign.h"
#include "router.h"
#include "log.h"
#include "publish.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

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

static void ask_site_queue(router_t *self, const char *site_id, const char *conv_id,
                           uint64_t epoch)
{
    job_t *job = job_new(STEP_QUEUE, NULL, NULL);
    if (!job || job_set(&job->site_id, site_id) != 0
        || (conv_id && job_set(&job->conv_id, conv_id) != 0)) {
        log_error("assignment skipped: out of memory", "site", site_id);
        job_destroy(&job);
        return;
    }
    job->epoch = epoch;
    Beseda__StoreSiteQueue sq = BESEDA__STORE_SITE_QUEUE__INIT;
    sq.site_id = (char *) site_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_SITE_QUEUE;
    request.site_queue = &sq;
    router_store_call(self, &job, site_id, &request);
}

void assign_conversation(router_t *self, const char *site_id, const char *conv_id,
                         uint64_t epoch)
{
    ask_site_queue(self, site_id, conv_id, epoch);
}

void assign_site_queue(router_t *self, const char *site_id, uint64_t epoch)
{
    ask_site_queue(self, site_id, NULL, epoch);
}

static void ask_assign(router_t *self, const job_t *queue_job, const char *conv_id,
                       const char *operator_id, const char *operator_name)
{
    job_t *job = job_new(STEP_ASSIGN, NULL, NULL);
    if (!job || job_set(&job->site_id, queue_job->site_id) != 0
        || job_set(&job->conv_id, conv_id) != 0 || job_set(&job->operator_id, operator_id) != 0
        || job_set(&job->operator_name, operator_name) != 0) {
        log_error("assignment skipped: out of memory", "conversation", conv_id);
        job_destroy(&job);
        return;
    }
    job->epoch = queue_job->epoch;
    Beseda__StoreAssign sa = BESEDA__STORE_ASSIGN__INIT;
    sa.site_id = job->site_id;
    sa.conversation_id = job->conv_id;
    sa.operator_id = job->operator_id;
    sa.epoch = job->epoch;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ASSIGN;
    request.assign = &sa;
    router_store_call(self, &job, conv_id, &request);
}

/* Picks operators for the queue job's conversation, or for the site's
 * unassigned conversations oldest first (counting each pick as one more
 * open chat, so one login does not pour the whole queue on one operator
 * beyond their limit). */
static void distribute(router_t *self, const job_t *job, const Beseda__StoreSiteQueueReply *q,
                       assign_load_t *loads, char **online, size_t n_online)
{
    if (job->conv_id) {
        int i = assign_choose(loads, q->n_loads, online, n_online);
        if (i < 0)
            log_info("no operator free; conversation queued", "conversation", job->conv_id,
                     "site", job->site_id);
        else
            ask_assign(self, job, job->conv_id, loads[i].operator_id, q->loads[i]->name);
        return;
    }
    for (size_t c = 0; c < q->n_unassigned; c++) {
        const Beseda__ConversationInfo *conv = q->unassigned[c];
        if (!conv || !conv->id[0] || strcmp(conv->state, "closed") == 0)
            continue;
        int i = assign_choose(loads, q->n_loads, online, n_online);
        if (i < 0)
            break;
        loads[i].open_chats++;
        ask_assign(self, job, conv->id, loads[i].operator_id, q->loads[i]->name);
    }
}

void assign_on_queue(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreSiteQueueReply *q =
        reply->body_case == BESEDA__STORE_REPLY__BODY_SITE_QUEUE ? reply->site_queue : NULL;
    if (!q) {
        log_warn("assignment skipped: unexpected store reply", "site", job->site_id);
        job_destroy(&job);
        return;
    }
    char **online = NULL;
    size_t n_online = presence_online(self->presence, job->site_id, &online);
    assign_load_t *loads = calloc(q->n_loads ? q->n_loads : 1, sizeof *loads);
    if (!loads) {
        log_error("assignment skipped: out of memory", "site", job->site_id);
    } else {
        for (size_t i = 0; i < q->n_loads; i++) {
            loads[i].operator_id = q->loads[i]->operator_id;
            loads[i].open_chats = q->loads[i]->open_chats;
            loads[i].max_chats = q->loads[i]->max_chats;
            operator_name_remember(self, q->loads[i]->operator_id, q->loads[i]->name);
        }
        distribute(self, job, q, loads, online, n_online);
    }
    free(loads);
    presence_ids_free(&online, n_online);
    job_destroy(&job);
}

void assign_on_assign(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreAssignReply *ar =
        reply->body_case == BESEDA__STORE_REPLY__BODY_ASSIGN ? reply->assign : NULL;
    if (!ar || !ar->ok) {
        log_info("assignment not taken (assigned meanwhile, closed, or stale)",
                 "conversation", job->conv_id, "operator", job->operator_id, "site", job->site_id);
        job_destroy(&job);
        return;
    }
    Beseda__ConversationInfo info = BESEDA__CONVERSATION_INFO__INIT;
    if (ar->conversation && ar->conversation->id[0])
        info = *ar->conversation;                 /* a copy: never edit the unpacked one */
    else {
        info.id = job->conv_id;
        info.site_id = job->site_id;
        info.operator_id = job->operator_id;
        info.state = "assigned";
    }
    if (!info.operator_name[0])
        info.operator_name = job->operator_name[0] ? job->operator_name
                                                   : (char *) operator_name(self, job->operator_id);
    conv_cache_put(self->convs, &info, beseda_mono_ms());
    publish_assigned(self->pub, info.operator_id[0] ? info.operator_id : job->operator_id, &info);
    publish_conversation(self->pub, &info);
    log_info("conversation assigned", "conversation", info.id, "operator", job->operator_id,
             "site", job->site_id);
    job_destroy(&job);
}
