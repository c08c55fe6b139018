/* Conversation requests: send, typing, sync, history, close.
 *
 * send goes straight to the store (StoreAppend checks the author may write
 * and dedupes on the client id); the Ack is answered the moment the append
 * is committed, and publishing and assignment happen after it. typing, sync
 * and close are authorized here first, from the conversation cache or a
 * StoreGetConversation lookup (conv_cache.h), then carried out. */
#include "router.h"
#include "assign.h"
#include "log.h"
#include "publish.h"
#include "transfer.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Who sent the request: exactly one of visitor_id / operator_id is set. */
typedef struct {
    const char *site_id;
    const char *visitor_id;      /* "" for operators */
    const char *operator_id;     /* "" for visitors */
} identity_t;

static bool is_operator(const identity_t *who) { return who->operator_id[0] != '\0'; }

/* Fills *who from the identity the gateway bound to the connection; answers
 * not_authenticated (and destroys the job) when there is none. */
static bool chat_identity(router_t *self, job_t **job_p, identity_t *who)
{
    const Beseda__RouterRequest *msg = (*job_p)->msg;
    who->site_id = msg->site_id;
    who->operator_id = msg->operator_id[0] ? msg->operator_id : "";
    who->visitor_id = who->operator_id[0] ? "" : msg->visitor_id;
    if (who->site_id[0] && (who->operator_id[0] || who->visitor_id[0]))
        return true;
    router_fail(self, job_p, "not_authenticated", "request without a visitor or operator");
    return false;
}

static void fill_author(router_t *self, const identity_t *who, Beseda__Author *author)
{
    beseda__author__init(author);
    if (is_operator(who)) {
        author->kind = "operator";
        author->id = (char *) who->operator_id;
        author->name = (char *) operator_name(self, who->operator_id);
    } else {
        author->kind = "visitor";
        author->id = (char *) who->visitor_id;
        author->name = VISITOR_DISPLAY_NAME;
    }
}

static const char *request_conv_id(const Beseda__RouterRequest *msg)
{
    switch (msg->body_case) {
    case BESEDA__ROUTER_REQUEST__BODY_SEND:   return msg->send->conversation_id;
    case BESEDA__ROUTER_REQUEST__BODY_TYPING: return msg->typing->conversation_id;
    case BESEDA__ROUTER_REQUEST__BODY_SYNC:   return msg->sync->conversation_id;
    case BESEDA__ROUTER_REQUEST__BODY_CLOSE:  return msg->close->conversation_id;
    case BESEDA__ROUTER_REQUEST__BODY_TRANSFER: return msg->transfer->conversation_id;
    default:                                  return "";
    }
}

/* The conversation id of the request, checked; answers and destroys the job
 * when it is missing (missing_field) or cannot exist (no_conversation). */
static const char *chat_conv_id(router_t *self, job_t **job_p)
{
    const char *conv_id = request_conv_id((*job_p)->msg);
    if (!conv_id[0]) {
        router_fail(self, job_p, "missing_field", "conversation");
        return NULL;
    }
    if (!beseda_is_uuid(conv_id)) {
        router_fail(self, job_p, "no_conversation", "no such conversation");
        return NULL;
    }
    return conv_id;
}

/* ------------------------------------------------------------ send */

static void with_conversation(router_t *self, job_t *job, job_next_t next);

static void do_append(router_t *self, job_t *job)
{
    identity_t who;
    if (!chat_identity(self, &job, &who))
        return;
    const Beseda__SendMessage *send = job->msg->send;
    Beseda__Author author;
    fill_author(self, &who, &author);
    Beseda__StoreAppend sa = BESEDA__STORE_APPEND__INIT;
    sa.site_id = (char *) who.site_id;
    sa.conversation_id = send->conversation_id;
    sa.visitor_id = (char *) who.visitor_id;
    sa.author = &author;
    sa.client_msg_id = send->client_msg_id;
    sa.text = send->text;
    sa.epoch = job->epoch;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_APPEND;
    request.append = &sa;
    job->step = STEP_APPEND;
    router_store_call(self, &job, send->conversation_id, &request);
}

void chat_send(router_t *self, job_t *job)
{
    identity_t who;
    if (!chat_identity(self, &job, &who))
        return;
    const Beseda__SendMessage *send = job->msg->send;
    const char *conv_id = chat_conv_id(self, &job);
    if (!conv_id)
        return;
    if (!send->client_msg_id[0] || !send->text[0]) {
        router_fail(self, &job, "missing_field", !send->client_msg_id[0] ? "client_id" : "text");
        return;
    }
    /* The store creates a visitor's conversation with its first message,
     * under the id the welcome issued. Any other id must already exist
     * (a conversation made before ids carried their proof): it is looked
     * up first, and a made-up one is no_conversation. */
    if (!is_operator(&who)
        && !conv_id_issued(self->token_key, who.site_id, who.visitor_id, conv_id)) {
        with_conversation(self, job, NEXT_SEND);
        return;
    }
    do_append(self, job);
}

/* Append statuses other than ok/duplicate, as client error codes. */
static const char *append_error_code(const char *status)
{
    if (strcmp(status, "forbidden") == 0)
        return "forbidden";
    if (strcmp(status, "no_conversation") == 0)
        return "no_conversation";
    if (strcmp(status, "closed") == 0)
        return "conversation_closed";
    return "internal";
}

static void reply_ack(router_t *self, job_t *job, uint64_t seq, int64_t ts_ms, bool duplicate)
{
    Beseda__Ack ack = BESEDA__ACK__INIT;
    ack.conversation_id = job->msg->send->conversation_id;
    ack.client_msg_id = job->msg->send->client_msg_id;
    ack.seq = seq;
    ack.ts_ms = ts_ms;
    ack.duplicate = duplicate;
    Beseda__RouterReply reply = BESEDA__ROUTER_REPLY__INIT;
    reply.body_case = BESEDA__ROUTER_REPLY__BODY_ACK;
    reply.ack = &ack;
    router_reply(self, job, &reply);
}

static void publish_appended(router_t *self, job_t *job, const Beseda__StoreAppendReply *ar)
{
    identity_t who;
    const Beseda__RouterRequest *msg = job->msg;
    who.site_id = msg->site_id;
    who.operator_id = msg->operator_id[0] ? msg->operator_id : "";
    who.visitor_id = who.operator_id[0] ? "" : msg->visitor_id;
    Beseda__Author author;
    fill_author(self, &who, &author);
    Beseda__ChatMessage cm = BESEDA__CHAT_MESSAGE__INIT;
    cm.conversation_id = msg->send->conversation_id;
    cm.seq = ar->seq;
    cm.client_msg_id = msg->send->client_msg_id;
    cm.author = &author;
    cm.text = msg->send->text;
    cm.ts_ms = ar->ts_ms;
    publish_message(self->pub, who.site_id, &cm);
}

/* Does a conversation a visitor just wrote in need an operator? Yes when it
 * has none (new, queued): *from = "". Yes when its operator no longer holds
 * their chats (offline past the grace; presence.h): *from = that operator,
 * whom the store's compare-and-set moves it from. An operator who is there,
 * even away, keeps it. Unknown (no conversation in the reply nor the cache):
 * try as unassigned; the store refuses an assigned conversation. */
static bool needs_operator(router_t *self, const Beseda__ConversationInfo *conv,
                           const char *conv_id, const char *site_id, char *from, size_t from_size)
{
    conv_entry_t known;
    const conv_entry_t *e = NULL;
    from[0] = '\0';
    if (conv && conv_entry_from_info(&known, conv) == 0)
        e = &known;
    else
        e = conv_cache_get(self->convs, conv_id, beseda_mono_ms());
    if (!e)
        return true;
    if (strcmp(e->state, "closed") == 0 || strcmp(e->state, "ringing") == 0)
        return false;                     /* a ringing chat waits for an accept */
    if (!e->operator_id[0])
        return true;
    if (presence_holds_chats(self->presence, site_id, e->operator_id))
        return false;
    snprintf(from, from_size, "%s", e->operator_id);
    return true;
}

void chat_on_append(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreAppendReply *ar =
        reply->body_case == BESEDA__STORE_REPLY__BODY_APPEND ? reply->append : NULL;
    if (!ar) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    const Beseda__RouterRequest *msg = job->msg;
    const char *conv_id = msg->send->conversation_id;
    bool fresh = strcmp(ar->status, "ok") == 0;
    if (strcmp(ar->status, "stale_epoch") == 0) {
        /* The key moved (or the broker restarted) since this request was
         * routed: leave it unanswered; the gateway's resend reaches the
         * owner of the newer epoch. A delay, not an error for the client. */
        log_info("append refused as stale: left to the resend", "conversation", conv_id,
                 "site", msg->site_id);
        router_drop(self, &job);
        return;
    }
    if (!fresh && strcmp(ar->status, "duplicate") != 0) {
        log_info("append refused", "conversation", conv_id, "site", msg->site_id,
                 "status", ar->status);
        router_fail(self, &job, append_error_code(ar->status), ar->status);
        return;
    }
    /* Publish, then ack: a router killed in between leaves an unacked
     * message (the client re-sends it), not an acked one nobody saw. */
    if (fresh)
        publish_appended(self, job, ar);
    if (fresh)
        reply_ack(self, job, ar->seq, ar->ts_ms, false);
    if (ar->conversation)
        conv_cache_put(self->convs, ar->conversation, beseda_mono_ms());
    if (ar->created && ar->conversation && ar->conversation->id[0])
        publish_conversation(self->pub, ar->conversation);
    /* Also after a duplicate: the first attempt's router may have died
     * between the commit and the assignment. */
    char from[CONV_ID_MAX_CHARS + 1];
    if (!msg->operator_id[0]
        && needs_operator(self, ar->conversation, conv_id, msg->site_id, from, sizeof from))
        assign_conversation(self, msg->site_id, conv_id, from, job->epoch);
    if (fresh || ar->seq == 0) {
        if (!fresh)
            reply_ack(self, job, ar->seq, ar->ts_ms, true);
        job_destroy(&job);
        return;
    }
    /* A duplicate: the first attempt may have died (router or store) between
     * the commit and the publish, so nobody may have delivered it. Deliver
     * the message as it was stored (not this retry's copy: the text and the
     * author are the stored ones), then ack; clients drop a seq they have. */
    Beseda__StoreFetch sf = BESEDA__STORE_FETCH__INIT;
    sf.site_id = msg->site_id;
    sf.conversation_id = (char *) conv_id;
    sf.after_seq = ar->seq - 1;
    sf.limit = 1;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_FETCH;
    request.fetch = &sf;
    job->step = STEP_APPEND_REPLAY;
    router_store_call(self, &job, conv_id, &request);
}

void chat_on_append_replay(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    /* An error or a timeout answers the client with it: its message is
     * stored, and its next retry comes back here. */
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__MessageList *ml =
        reply->body_case == BESEDA__STORE_REPLY__BODY_MESSAGES ? reply->messages : NULL;
    const Beseda__ChatMessage *m = ml && ml->n_messages > 0 ? ml->messages[0] : NULL;
    if (!m || strcmp(m->client_msg_id, job->msg->send->client_msg_id) != 0) {
        router_fail(self, &job, "internal", "stored message not found");
        return;
    }
    Beseda__ChatMessage cm = *m;          /* a copy: never edit the unpacked one */
    if (!cm.conversation_id[0])
        cm.conversation_id = job->msg->send->conversation_id;
    publish_message(self->pub, job->msg->site_id, &cm);
    reply_ack(self, job, m->seq, m->ts_ms, true);
    job_destroy(&job);
}

/* ------------------------------------------------------------ authorize, then act */

static conv_access_t access_for(job_next_t next)
{
    return next == NEXT_SYNC ? CONV_READ : CONV_ACT;
}

static bool allowed(const job_t *job, const conv_entry_t *e)
{
    identity_t who = { job->msg->site_id, job->msg->operator_id[0] ? "" : job->msg->visitor_id,
                       job->msg->operator_id };
    return conv_may_access(e, who.site_id, who.visitor_id, who.operator_id, access_for(job->next));
}

static void do_typing(router_t *self, job_t *job)
{
    const Beseda__RouterRequest *msg = job->msg;
    /* Typing into a closed chat is refused like a message is. The cache
     * holds the state this router last saw (its close, or the store's
     * answer); a close made by another router a moment ago may pass once. */
    const conv_entry_t *e = conv_cache_get(self->convs, msg->typing->conversation_id,
                                           beseda_mono_ms());
    if (e && strcmp(e->state, "closed") == 0) {
        router_fail(self, &job, "conversation_closed", "the conversation is closed");
        return;
    }
    identity_t who = { msg->site_id, msg->operator_id[0] ? "" : msg->visitor_id,
                       msg->operator_id };
    Beseda__Author author;
    fill_author(self, &who, &author);
    /* An operator's draft is never shown to the visitor. */
    const char *text = is_operator(&who) ? "" : msg->typing->text;
    publish_typing(self->pub, msg->site_id, msg->typing->conversation_id, &author, text);
    router_reply_ok(self, job);
    job_destroy(&job);
}

static void do_fetch(router_t *self, job_t *job)
{
    const Beseda__Sync *sync = job->msg->sync;
    Beseda__StoreFetch sf = BESEDA__STORE_FETCH__INIT;
    sf.site_id = job->msg->site_id;
    sf.conversation_id = sync->conversation_id;
    sf.after_seq = sync->after_seq;
    sf.limit = sync->limit == 0 || sync->limit > SYNC_LIMIT_MAX ? SYNC_LIMIT_MAX : sync->limit;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_FETCH;
    request.fetch = &sf;
    job->step = STEP_FETCH;
    router_store_call(self, &job, sync->conversation_id, &request);
}

static void do_close(router_t *self, job_t *job)
{
    Beseda__StoreClose sc = BESEDA__STORE_CLOSE__INIT;
    sc.site_id = job->msg->site_id;
    sc.conversation_id = job->msg->close->conversation_id;
    sc.epoch = job->epoch;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_CLOSE;
    request.close = &sc;
    job->step = STEP_CLOSE;
    router_store_call(self, &job, sc.conversation_id, &request);
}

static void run_next(router_t *self, job_t *job)
{
    switch (job->next) {
    case NEXT_SEND:   do_append(self, job); break;
    case NEXT_TRANSFER: transfer_owned(self, job); break;
    case NEXT_TYPING: do_typing(self, job); break;
    case NEXT_SYNC:   do_fetch(self, job); break;
    case NEXT_CLOSE:  do_close(self, job); break;
    default:          router_fail(self, &job, "internal", "no next step");
    }
}

/* Runs job->next if the cache allows it; else asks the store first (a cached
 * refusal may be stale: another router may have assigned the chat). */
static void with_conversation(router_t *self, job_t *job, job_next_t next)
{
    job->next = next;
    const char *conv_id = request_conv_id(job->msg);
    const conv_entry_t *e = conv_cache_get(self->convs, conv_id, beseda_mono_ms());
    /* A cached "new" one is only the welcome's promise: the store says
     * whether its first send made it real. */
    if (e && strcmp(e->state, "new") != 0 && allowed(job, e)) {
        run_next(self, job);
        return;
    }
    Beseda__StoreGetConversation gc = BESEDA__STORE_GET_CONVERSATION__INIT;
    gc.site_id = job->msg->site_id;
    gc.conversation_id = (char *) conv_id;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_GET_CONVERSATION;
    request.get_conversation = &gc;
    job->step = STEP_LOOKUP;
    router_store_call(self, &job, conv_id, &request);
}

/* The conversation does not exist: a made-up id, or a visitor's `new`
 * one before its first send (nobody can see typing in it nor has it
 * messages). */
static void conversation_missing(router_t *self, job_t *job)
{
    router_fail(self, &job, "no_conversation", "no such conversation");
}

void chat_on_lookup(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    const char *code = router_store_error_code(reply);
    const Beseda__ConversationInfo *conv =
        reply->body_case == BESEDA__STORE_REPLY__BODY_CONVERSATION ? reply->conversation : NULL;
    if ((code && strcmp(code, "no_conversation") == 0) || (!code && (!conv || !conv->id[0]))) {
        conversation_missing(self, job);
        return;
    }
    if (code && strcmp(code, "forbidden") == 0) {    /* another site's: a refusal, not a fault */
        router_fail(self, &job, "forbidden", "this conversation is not yours");
        return;
    }
    if (router_store_failed(self, &job, reply))
        return;
    conv_entry_t e;
    if (conv_entry_from_info(&e, conv) != 0) {
        router_fail(self, &job, "internal", "bad conversation from the store");
        return;
    }
    conv_cache_put(self->convs, conv, beseda_mono_ms());
    if (!allowed(job, &e)) {
        log_info("conversation access refused", "conversation", conv->id,
                 "site", job->msg->site_id, "operator", job->msg->operator_id,
                 "visitor", job->msg->visitor_id);
        router_fail(self, &job, "forbidden", "this conversation is not yours");
        return;
    }
    run_next(self, job);
}

/* ------------------------------------------------------------ typing, sync */

void chat_transfer_owned_first(router_t *self, job_t *job)
{
    with_conversation(self, job, NEXT_TRANSFER);
}

void chat_typing(router_t *self, job_t *job)
{
    identity_t who;
    if (!chat_identity(self, &job, &who) || !chat_conv_id(self, &job))
        return;
    with_conversation(self, job, NEXT_TYPING);
}

void chat_sync(router_t *self, job_t *job)
{
    identity_t who;
    if (!chat_identity(self, &job, &who) || !chat_conv_id(self, &job))
        return;
    with_conversation(self, job, NEXT_SYNC);
}

void chat_on_fetch(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_MESSAGES || !reply->messages) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    Beseda__MessageList ml = *reply->messages;    /* a copy: never edit the unpacked one */
    if (!ml.conversation_id[0])
        ml.conversation_id = job->msg->sync->conversation_id;
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_MESSAGES;
    rr.messages = &ml;
    router_reply(self, job, &rr);
    job_destroy(&job);
}

/* ------------------------------------------------------------ history, close */

/* history and close are operator requests; a visitor gets forbidden. */
static bool operator_only(router_t *self, job_t **job_p)
{
    identity_t who;
    if (!chat_identity(self, job_p, &who))
        return false;
    if (is_operator(&who))
        return true;
    router_fail(self, job_p, "forbidden", "operators only");
    return false;
}

void chat_history(router_t *self, job_t *job)
{
    if (!operator_only(self, &job))
        return;
    const Beseda__HistoryQuery *hq = job->msg->history;
    if (!hq->visitor_id[0]) {
        router_fail(self, &job, "missing_field", "visitor");
        return;
    }
    if (!beseda_is_uuid(hq->visitor_id)) {          /* no such visitor: nothing to show */
        Beseda__HistoryList empty = BESEDA__HISTORY_LIST__INIT;
        Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
        rr.body_case = BESEDA__ROUTER_REPLY__BODY_HISTORY;
        rr.history = &empty;
        router_reply(self, job, &rr);
        job_destroy(&job);
        return;
    }
    Beseda__StoreHistory sh = BESEDA__STORE_HISTORY__INIT;
    sh.site_id = job->msg->site_id;
    sh.visitor_id = hq->visitor_id;
    sh.limit = HISTORY_LIMIT;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_HISTORY;
    request.history = &sh;
    job->step = STEP_HISTORY;
    router_store_call(self, &job, job->msg->site_id, &request);
}

void chat_on_history(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    Beseda__HistoryList empty = BESEDA__HISTORY_LIST__INIT;
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_HISTORY;
    rr.history = reply->body_case == BESEDA__STORE_REPLY__BODY_HISTORY && reply->history
               ? reply->history : &empty;
    router_reply(self, job, &rr);
    job_destroy(&job);
}

void chat_close(router_t *self, job_t *job)
{
    if (!operator_only(self, &job) || !chat_conv_id(self, &job))
        return;
    with_conversation(self, job, NEXT_CLOSE);
}

void chat_on_close(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const char *conv_id = job->msg->close->conversation_id;
    Beseda__ConversationInfo info = BESEDA__CONVERSATION_INFO__INIT;
    if (reply->body_case == BESEDA__STORE_REPLY__BODY_CONVERSATION && reply->conversation
        && reply->conversation->id[0])
        info = *reply->conversation;              /* a copy: never edit the unpacked one */
    else {
        const conv_entry_t *e = conv_cache_get(self->convs, conv_id, beseda_mono_ms());
        info.id = (char *) conv_id;
        info.site_id = job->msg->site_id;
        info.operator_id = job->msg->operator_id;
        info.visitor_id = e ? (char *) e->visitor_id : "";
    }
    info.state = "closed";
    conv_cache_put(self->convs, &info, beseda_mono_ms());
    publish_conversation(self->pub, &info);
    log_info("conversation closed", "conversation", conv_id, "site", job->msg->site_id,
             "operator", job->msg->operator_id);
    router_reply_ok(self, job);
    job_destroy(&job);
}
