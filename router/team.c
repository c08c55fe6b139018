/* Team chat: one room per site that its operators share and visitors never
 * see (docs/ROUTING.md "Transfer and team chat"; shard key: the site).
 *
 * team_send is an idempotent append in the store (client id per author; a
 * retry answers the first seq with duplicate = true), answered with a
 * TeamAck once committed, and published once, when fresh, on t:<site>: the
 * gateways subscribe only operator connections to it, the sender's own
 * included (its other consoles see it too). team_sync reads the room after a
 * seq, as sync does a conversation. */
#include "team.h"
#include "log.h"
#include "publish.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

/* Operators only; answers (and destroys the job) otherwise. */
static bool team_operator(router_t *self, job_t **job_p)
{
    const Beseda__RouterRequest *msg = (*job_p)->msg;
    if (msg->operator_id[0] && msg->site_id[0])
        return true;
    router_fail(self, job_p, msg->visitor_id[0] ? "forbidden" : "not_authenticated",
                "the team chat is for operators");
    return false;
}

static void fill_author(router_t *self, const Beseda__RouterRequest *msg, Beseda__Author *a)
{
    beseda__author__init(a);
    a->kind = "operator";
    a->id = msg->operator_id;
    a->name = (char *) operator_name(self, msg->operator_id);
}

void team_send(router_t *self, job_t *job)
{
    if (!team_operator(self, &job))
        return;
    const Beseda__TeamSend *ts = job->msg->team_send;
    if (!ts->client_msg_id[0] || !ts->text[0]) {
        router_fail(self, &job, "missing_field", !ts->client_msg_id[0] ? "client_id" : "text");
        return;
    }
    Beseda__Author author;
    fill_author(self, job->msg, &author);
    Beseda__StoreTeamAppend ta = BESEDA__STORE_TEAM_APPEND__INIT;
    ta.site_id = job->msg->site_id;
    ta.author = &author;
    ta.client_msg_id = ts->client_msg_id;
    ta.text = ts->text;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_TEAM_APPEND;
    request.team_append = &ta;
    job->step = STEP_TEAM_APPEND;
    router_store_call(self, &job, job->msg->site_id, &request);
}

/* The message on t:<site>, for every operator console of the site. */
static void publish_team(router_t *self, const Beseda__RouterRequest *msg, const Beseda__TeamAck *ack)
{
    Beseda__Author author;
    fill_author(self, msg, &author);
    Beseda__TeamMessage tm = BESEDA__TEAM_MESSAGE__INIT;
    tm.seq = ack->seq;
    tm.client_msg_id = msg->team_send->client_msg_id;
    tm.author = &author;
    tm.text = msg->team_send->text;
    tm.ts_ms = ack->ts_ms;
    publish_team_message(self->pub, msg->site_id, &tm);
}

void team_on_append(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__TeamAck *ack = reply->body_case == BESEDA__STORE_REPLY__BODY_TEAM_ACK
                               ? reply->team_ack : NULL;
    if (!ack) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    Beseda__TeamAck mine = *ack;          /* a copy: never edit the unpacked one */
    mine.client_msg_id = job->msg->team_send->client_msg_id;
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_TEAM_ACK;
    rr.team_ack = &mine;
    router_reply(self, job, &rr);
    /* A duplicate was published when it was fresh (or its router died
     * after the commit: then team_sync repairs it, as sync does chats). */
    if (!ack->duplicate)
        publish_team(self, job->msg, ack);
    job_destroy(&job);
}

void team_sync(router_t *self, job_t *job)
{
    if (!team_operator(self, &job))
        return;
    const Beseda__TeamSync *sync = job->msg->team_sync;
    Beseda__StoreTeamFetch tf = BESEDA__STORE_TEAM_FETCH__INIT;
    tf.site_id = job->msg->site_id;
    tf.after_seq = sync->after_seq;
    tf.limit = sync->limit == 0 || sync->limit > TEAM_SYNC_LIMIT_MAX ? TEAM_SYNC_LIMIT_MAX : sync->limit;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_TEAM_FETCH;
    request.team_fetch = &tf;
    job->step = STEP_TEAM_FETCH;
    router_store_call(self, &job, job->msg->site_id, &request);
}

void team_on_fetch(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_TEAM_MESSAGES || !reply->team_messages) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_TEAM_MESSAGES;
    rr.team_messages = reply->team_messages;
    router_reply(self, job, &rr);
    job_destroy(&job);
}
