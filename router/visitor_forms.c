/* The visitor's forms (docs/ROUTING.md "Pre-chat survey and offline
 * form", "E-mail"): survey, offline, transcript. Each is a pass-through to
 * the store (StoreSurvey, StoreOffline, StoreTranscript), which checks the
 * fields against the site's settings and, for the last two, queues the mail
 * in the same transaction; the answer is RouterReply.ok. None needs an
 * operator online: the offline form is what a visitor fills in when nobody
 * is. Visitors only: an operator's connection gets forbidden. */
#include "visitor_forms.h"
#include "log.h"
#include "publish.h"
#include <string.h>

/* A visitor with a welcome; answers (and destroys the job) otherwise. */
static bool form_visitor(router_t *self, job_t **job_p)
{
    const Beseda__RouterRequest *msg = (*job_p)->msg;
    if (msg->visitor_id[0] && msg->site_id[0] && !msg->operator_id[0])
        return true;
    router_fail(self, job_p, msg->operator_id[0] ? "forbidden" : "not_authenticated",
                "this form is for visitors");
    return false;
}

void visitor_form(router_t *self, job_t *job)
{
    if (!form_visitor(self, &job))
        return;
    const Beseda__RouterRequest *msg = job->msg;
    Beseda__StoreSurvey sv = BESEDA__STORE_SURVEY__INIT;
    Beseda__StoreOffline of = BESEDA__STORE_OFFLINE__INIT;
    Beseda__StoreTranscript tr = BESEDA__STORE_TRANSCRIPT__INIT;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    const char *shard = msg->site_id;
    switch (msg->body_case) {
    case BESEDA__ROUTER_REQUEST__BODY_SURVEY:
        sv.site_id = msg->site_id;
        sv.visitor_id = msg->visitor_id;
        sv.survey = msg->survey;
        request.body_case = BESEDA__STORE_REQUEST__BODY_SURVEY;
        request.survey = &sv;
        break;
    case BESEDA__ROUTER_REQUEST__BODY_OFFLINE:
        of.site_id = msg->site_id;
        of.visitor_id = msg->visitor_id;
        of.message = msg->offline;
        of.ip = msg->ip;
        request.body_case = BESEDA__STORE_REQUEST__BODY_OFFLINE;
        request.offline = &of;
        break;
    case BESEDA__ROUTER_REQUEST__BODY_TRANSCRIPT:
        if (!msg->transcript->conversation_id[0]) {
            router_fail(self, &job, "missing_field", "conversation");
            return;
        }
        tr.site_id = msg->site_id;
        tr.visitor_id = msg->visitor_id;
        tr.conversation_id = msg->transcript->conversation_id;
        tr.email = msg->transcript->email;
        request.body_case = BESEDA__STORE_REQUEST__BODY_TRANSCRIPT;
        request.transcript = &tr;
        shard = tr.conversation_id;
        break;
    default:
        router_fail(self, &job, "bad_request", "unknown request kind");
        return;
    }
    job->step = STEP_VISITOR_FORM;
    router_store_call(self, &job, shard, &request);
}

/* The store's refusals of a form name the field: the client's answer as
 * they are; the rest as everywhere. */
static bool form_store_failed(router_t *self, job_t **job_p, const Beseda__StoreReply *reply)
{
    const char *code = reply->error_code;
    if (!code || !*code)
        return false;
    static const char *const passthrough[] = { "bad_value", "missing_field", "rate_limited", NULL };
    for (int i = 0; passthrough[i]; i++)
        if (strcmp(code, passthrough[i]) == 0) {
            router_fail(self, job_p, passthrough[i],
                        reply->error_message[0] ? reply->error_message : code);
            return true;
        }
    if (strcmp(code, "bad_request") == 0) {
        router_fail(self, job_p, "bad_value", "a field is malformed");
        return true;
    }
    return router_store_failed(self, job_p, reply);
}

void visitor_form_on_reply(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (form_store_failed(self, &job, reply))
        return;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_OK) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    if (job->msg->body_case == BESEDA__ROUTER_REQUEST__BODY_OFFLINE && job->msg->site_id[0])
        publish_inbox_changed(self->pub, job->msg->site_id, "offline");
    router_reply_ok(self, job);
    job_destroy(&job);
}
