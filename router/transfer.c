/* Transfer: the operator a chat is assigned to hands it to a colleague
 * (to_operator) or to a group (to_group: its least loaded online member with
 * a free place), with an internal note (docs/ROUTING.md "Transfer and team
 * chat"; shard key: the conversation).
 *
 * Who is online is Redis's to say, so the router narrows the targets to
 * online operators; everything else is one StoreTransfer, a compare-and-set
 * in PostgreSQL from the sender (so only the assigned operator can hand it
 * on, and two transfers of one chat cannot both win), which also picks the
 * group member with a free place in the same transaction, keeps the note and
 * appends the system message "<name> joined the chat". Published only when
 * applied: the message and the conversation (new operator, never the note)
 * on c:<conv>, and `assigned` with the note and who transferred on
 * o:<new operator>. The old operator learns it from the conversation naming
 * someone else. */
#include "transfer.h"
#include "api.h"
#include "log.h"
#include "publish.h"
#include "utf8.h"
#include "util.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool group_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > GROUP_ID_MAX_CHARS)
        return false;
    for (const char *p = id; *p; p++)
        if (!(islower((unsigned char) *p) || isdigit((unsigned char) *p) || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* The request's own form; answers (and destroys the job) when it fails.
 * Nothing here depends on the conversation or the target: whose chat it is
 * is checked next (transfer_owned), before anything about the target. */
static bool transfer_valid(router_t *self, job_t **job_p)
{
    const Beseda__RouterRequest *msg = (*job_p)->msg;
    const Beseda__Transfer *t = msg->transfer;
    const char *code = NULL, *why = NULL;
    if (!msg->operator_id[0] || !msg->site_id[0])
        code = msg->visitor_id[0] ? "forbidden" : "not_authenticated", why = "operators only";
    else if (!t->conversation_id[0])
        code = "missing_field", why = "conversation";
    else if (!beseda_is_uuid(t->conversation_id))
        code = "no_conversation", why = "no such conversation";
    else if (!t->to_operator_id[0] && !t->to_group[0])
        code = "missing_field", why = "to_operator";
    else if (t->to_operator_id[0] && t->to_group[0])
        code = "bad_value", why = "give exactly one of to_operator and to_group";
    else if (strlen(t->note) > TRANSFER_NOTE_MAX_BYTES || beseda_utf8_chars(t->note) > TRANSFER_NOTE_MAX_CHARS)
        code = "bad_value", why = "note: at most 2000 characters";
    else if (t->to_operator_id[0] && !beseda_is_uuid(t->to_operator_id))
        code = "bad_value", why = "to_operator: not an operator of this site";
    else if (t->to_group[0] && !group_id_ok(t->to_group))
        code = "bad_value", why = "to_group: no such group";
    if (!code)
        return true;
    router_fail(self, job_p, code, why);
    return false;
}

/* The StoreTransfer; to_operator or, with it NULL, any of the n ids. */
static void call_transfer(router_t *self, job_t *job, const char *to_operator, char **any, size_t n)
{
    const Beseda__RouterRequest *msg = job->msg;
    char transfer_id[UUID_STR_LEN];
    beseda_uuid(transfer_id);
    Beseda__StoreTransfer st = BESEDA__STORE_TRANSFER__INIT;
    st.site_id = msg->site_id;
    st.conversation_id = msg->transfer->conversation_id;
    st.from_operator_id = msg->operator_id;
    st.to_operator_id = (char *) (to_operator ? to_operator : "");
    st.to_any_of = any;
    st.n_to_any_of = n;
    st.note = msg->transfer->note;
    st.epoch = job->epoch;
    st.transfer_id = transfer_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_TRANSFER;
    request.transfer = &st;
    job->step = STEP_TRANSFER;
    router_store_call(self, &job, msg->transfer->conversation_id, &request);
}

static void to_operator(router_t *self, job_t *job)
{
    const Beseda__RouterRequest *msg = job->msg;
    char *target = msg->transfer->to_operator_id;
    const char *status = NULL;
    if (!team_presence_statuses(self, msg->site_id, &target, 1, &status)) {
        router_fail(self, &job, "unavailable", "presence is unknown; try again");
        return;
    }
    if (strcmp(status, "elsewhere") == 0) {
        router_fail(self, &job, "bad_value", "to_operator: not an operator of this site");
        return;
    }
    if (strcmp(status, "online") != 0) {
        /* away, busy and offline take no new chats, transferred ones neither */
        router_fail(self, &job, "no_operator_available", "that operator is not online");
        return;
    }
    call_transfer(self, job, target, NULL, 0);
}

void transfer_request(router_t *self, job_t *job)
{
    if (!transfer_valid(self, &job))
        return;
    chat_transfer_owned_first(self, job);
}

void transfer_owned(router_t *self, job_t *job)
{
    const Beseda__Transfer *t = job->msg->transfer;
    if (t->to_operator_id[0] && strcasecmp(t->to_operator_id, job->msg->operator_id) == 0) {
        router_fail(self, &job, "bad_value", "to_operator: you cannot transfer a chat to yourself");
        return;
    }
    if (job->msg->transfer->to_operator_id[0]) {
        to_operator(self, job);
        return;
    }
    Beseda__StoreGroups sg = BESEDA__STORE_GROUPS__INIT;
    sg.site_id = job->msg->site_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_GROUPS;
    request.groups = &sg;
    job->step = STEP_TRANSFER_GROUPS;
    router_store_call(self, &job, job->msg->transfer->conversation_id, &request);
}

static const Beseda__GroupInfo *find_group(const Beseda__GroupList *list, const char *id)
{
    for (size_t i = 0; list && i < list->n_groups; i++)
        if (strcmp(list->groups[i]->id, id) == 0)
            return list->groups[i];
    return NULL;
}

/* The group's members who are online now, but the sender: an allocated
 * array of borrowed ids in *out; -1 when Redis cannot say. */
static int online_members(router_t *self, const Beseda__GroupInfo *g, const char *site_id,
                          const char *sender, char ***out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (g->n_operator_ids == 0)
        return 0;
    const char **statuses = calloc(g->n_operator_ids, sizeof *statuses);
    char **ids = calloc(g->n_operator_ids, sizeof *ids);
    if (!statuses || !ids
        || !team_presence_statuses(self, site_id, g->operator_ids, g->n_operator_ids, statuses)) {
        free(statuses);
        free(ids);
        return -1;
    }
    for (size_t i = 0; i < g->n_operator_ids; i++)
        if (strcmp(statuses[i], "online") == 0 && strcasecmp(g->operator_ids[i], sender) != 0)
            ids[(*count)++] = g->operator_ids[i];
    free(statuses);
    *out = ids;
    return 0;
}

void transfer_on_groups(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__GroupList *list = reply->body_case == BESEDA__STORE_REPLY__BODY_GROUPS
                                  ? reply->groups : NULL;
    const Beseda__RouterRequest *msg = job->msg;
    const Beseda__GroupInfo *g = find_group(list, msg->transfer->to_group);
    if (!g) {
        router_fail(self, &job, "bad_value", "to_group: no such group");
        return;
    }
    char **ids;
    size_t n;
    if (online_members(self, g, msg->site_id, msg->operator_id, &ids, &n) != 0) {
        router_fail(self, &job, "unavailable", "presence is unknown; try again");
        return;
    }
    if (n == 0) {
        free(ids);
        router_fail(self, &job, "no_operator_available", "nobody of that group is online");
        return;
    }
    if (n > TRANSFER_TARGETS_MAX)
        n = TRANSFER_TARGETS_MAX;       /* the store's bound; a group is never near it */
    call_transfer(self, job, NULL, ids, n);   /* packs ids before returning */
    free(ids);
}

/* Why the store did not apply it, as the client's error. */
static void fail_refused(router_t *self, job_t **job_p, const char *refused)
{
    if (strcmp(refused, "forbidden") == 0)
        router_fail(self, job_p, "forbidden", "this conversation is not assigned to you");
    else if (strcmp(refused, "bad_value") == 0)
        router_fail(self, job_p, "bad_value", "to_operator: not an operator of this site");
    else if (strcmp(refused, "no_operator_available") == 0)
        router_fail(self, job_p, "no_operator_available",
                    (*job_p)->msg->transfer->to_operator_id[0] ? "that operator has no free place"
                                                               : "nobody of that group has a free place");
    else if (strcmp(refused, "closed") == 0)
        router_fail(self, job_p, "conversation_closed", "the conversation is closed");
    else if (strcmp(refused, "stale_epoch") == 0)
        router_fail(self, job_p, "unavailable", "try again");
    else
        router_fail(self, job_p, "internal", "transfer refused");
}

static void publish_transfer(router_t *self, const job_t *job, const Beseda__StoreTransferReply *tr)
{
    const Beseda__RouterRequest *msg = job->msg;
    Beseda__ConversationInfo conv = *tr->conversation;   /* a copy: never edit the unpacked one */
    conv.note = "";                                      /* c:<conv> reaches the visitor */
    conv.transferred_by = NULL;
    if (tr->system_message)
        publish_message(self->pub, msg->site_id, tr->system_message);
    publish_conversation(self->pub, &conv);
    Beseda__Author by = BESEDA__AUTHOR__INIT;
    by.kind = "operator";
    by.id = msg->operator_id;
    by.name = (char *) operator_name(self, msg->operator_id);
    Beseda__ConversationInfo mine = conv;
    mine.note = msg->transfer->note;
    mine.transferred_by = &by;
    publish_assigned(self->pub, conv.operator_id, &mine);
}

void transfer_on_transfer(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreTransferReply *tr = reply->body_case == BESEDA__STORE_REPLY__BODY_TRANSFER
                                         ? reply->transfer : NULL;
    if (!tr || !tr->conversation || !tr->conversation->id[0]) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    conv_cache_put(self->convs, tr->conversation, beseda_mono_ms());
    if (!tr->applied) {
        log_info("transfer refused", "conversation", tr->conversation->id, "site", job->msg->site_id,
                 "operator", job->msg->operator_id, "why", tr->refused);
        fail_refused(self, &job, tr->refused);
        return;
    }
    operator_name_remember(self, tr->conversation->operator_id, tr->conversation->operator_name);
    publish_transfer(self, job, tr);
    log_info("conversation transferred", "conversation", tr->conversation->id,
             "site", job->msg->site_id, "from", job->msg->operator_id,
             "to", tr->conversation->operator_id);
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_CONVERSATION;
    rr.conversation = tr->conversation;
    router_reply(self, job, &rr);
    job_destroy(&job);
}
