/* Visitor hello: who is this visitor, which conversation do they see.
 *
 * The token proves the visitor id without a lookup (token.h). The store
 * then confirms the site exists, creates or finds the visitor, records the
 * page, and returns the visitor's open conversation. A visitor with none
 * gets a fresh conversation id in state "new": it becomes real with the
 * first send (StoreAppend creates it), so idle page views create nothing.
 *
 * The visitor's country and city are the router's GeoIP lookup of the
 * address the gateway saw (RouterRequest.ip), never what the client sent:
 * the page goes to the store with them, so the visit records them, the
 * conversation takes them from it, and rules on country/city match them. */
#include "router.h"
#include "log.h"
#include "routing.h"
#include "visitor.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The hello's page with the place GeoIP gives for the request's address
 * (both "" without a database or for an address it does not hold). `out`
 * borrows the hello's strings and the two buffers. */
static void page_with_place(const router_t *self, const job_t *job, Beseda__PageInfo *out,
                            char country[GEOIP_COUNTRY_LEN], char city[GEOIP_CITY_LEN])
{
    const Beseda__PageInfo *given = job->msg->visitor_hello->page;
    Beseda__PageInfo blank = BESEDA__PAGE_INFO__INIT;
    *out = given ? *given : blank;
    geoip_lookup(self->cfg.geoip, job->msg->ip, country, city);
    out->country = country;
    out->city = city;
}

void visitor_hello(router_t *self, job_t *job)
{
    const Beseda__VisitorHello *hello = job->msg->visitor_hello;
    if (!hello || !hello->site_id[0]) {
        router_fail(self, &job, "missing_field", "site");
        return;
    }
    if (!beseda_is_uuid(hello->site_id)) {
        router_fail(self, &job, "no_such_site", "site id is not a known site");
        return;
    }
    char visitor_id[UUID_STR_LEN] = "";
    if (hello->token[0]) {
        token_status_t ts = token_verify(self->token_key, hello->token, hello->site_id,
                                         beseda_now_ms() / 1000, self->cfg.token_ttl_s,
                                         visitor_id);
        if (ts != TOKEN_OK) {
            log_info("visitor token refused", "site", hello->site_id,
                     "reason", ts == TOKEN_EXPIRED ? "expired" : "bad");
            router_fail(self, &job, ts == TOKEN_EXPIRED ? "token_expired" : "bad_token",
                        ts == TOKEN_EXPIRED ? "visitor token expired; hello again without it"
                                            : "visitor token is not valid for this site");
            return;
        }
    }
    Beseda__StoreVisitorHello sh = BESEDA__STORE_VISITOR_HELLO__INIT;
    sh.site_id = hello->site_id;
    sh.visitor_id = visitor_id;
    Beseda__PageInfo page;
    char country[GEOIP_COUNTRY_LEN], city[GEOIP_CITY_LEN];
    page_with_place(self, job, &page, country, city);
    sh.page = &page;
    sh.ip = job->msg->ip;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_VISITOR_HELLO;
    request.visitor_hello = &sh;
    job->step = STEP_HELLO;
    if (job_set(&job->visitor_id, visitor_id) != 0) {
        router_fail(self, &job, "internal", "out of memory");
        return;
    }
    router_store_call(self, &job, hello->site_id, &request);
}

/* Sends the welcome kept packed on the job, with `available` set. */
static void send_welcome(router_t *self, job_t **job_p, bool available)
{
    job_t *job = *job_p;
    Beseda__VisitorWelcome *vw = beseda__visitor_welcome__unpack(NULL, job->blob_len, job->blob);
    if (!vw) {
        router_fail(self, job_p, "internal", "out of memory");
        return;
    }
    vw->available = available;
    Beseda__RouterReply reply = BESEDA__ROUTER_REPLY__INIT;
    reply.body_case = BESEDA__ROUTER_REPLY__BODY_VISITOR_WELCOME;
    reply.visitor_welcome = vw;
    router_reply(self, job, &reply);
    beseda__visitor_welcome__free_unpacked(vw, NULL);
    job_destroy(job_p);
}

/* Asks the store which rule this visitor's chat would follow, to tell the
 * widget whether a chat can be answered now (VisitorWelcome.available). */
static void ask_route(router_t *self, job_t *job, const Beseda__ConversationInfo *conv)
{
    const Beseda__VisitorHello *hello = job->msg->visitor_hello;
    bool exists = strcmp(conv->state, "new") != 0;
    Beseda__StoreRoute sr = BESEDA__STORE_ROUTE__INIT;
    sr.site_id = hello->site_id;
    sr.conversation_id = exists ? conv->id : "";
    sr.visitor_id = conv->visitor_id;
    Beseda__PageInfo page;
    char country[GEOIP_COUNTRY_LEN], city[GEOIP_CITY_LEN];
    page_with_place(self, job, &page, country, city);
    sr.page = &page;
    Beseda__StoreRequest request = BESEDA__STORE_REQUEST__INIT;
    request.body_case = BESEDA__STORE_REQUEST__BODY_ROUTE;
    request.route = &sr;
    job->step = STEP_HELLO_ROUTE;
    router_store_call(self, &job, hello->site_id, &request);
}

/* Open now and one of the rule's operators online (any status but away,
 * busy and offline; a full one still answers, later). */
static bool route_available(router_t *self, const char *site_id, const Beseda__RouteDecision *d)
{
    if (!d->in_hours)
        return false;
    char **online = NULL;
    size_t n_online = presence_online(self->presence, site_id, &online);
    bool any = false;
    for (size_t i = 0; !any && i < d->n_candidates; i++)
        for (size_t k = 0; !any && k < n_online; k++)
            any = d->candidates[i] && strcasecmp(d->candidates[i]->operator_id, online[k]) == 0;
    presence_ids_free(&online, n_online);
    return any;
}

void visitor_on_route(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    const char *site_id = job->msg->visitor_hello->site_id;
    const Beseda__StoreRouteReply *rr = reply && !router_store_error_code(reply)
        && reply->body_case == BESEDA__STORE_REPLY__BODY_ROUTE ? reply->route : NULL;
    /* The store cannot say: anyone online is the best guess. */
    bool available = rr && rr->decision ? route_available(self, site_id, rr->decision)
                                        : presence_count_online(self->presence, site_id) > 0;
    send_welcome(self, &job, available);
}

/* Builds the VisitorWelcome with `conv` as the conversation, keeps it on
 * the job and asks for the routing decision (visitor_on_route answers). */
static void welcome(router_t *self, job_t **job_p, const Beseda__StoreVisitorHelloReply *sr,
                    const char *visitor_id, Beseda__ConversationInfo *conv)
{
    job_t *job = *job_p;
    const char *site_id = job->msg->visitor_hello->site_id;
    char *token = token_sign(self->token_key, site_id, visitor_id, beseda_now_ms() / 1000);
    if (!token) {
        router_fail(self, job_p, "internal", "cannot sign the visitor token");
        return;
    }
    Beseda__VisitorWelcome vw = BESEDA__VISITOR_WELCOME__INIT;
    vw.site_id = (char *) site_id;
    vw.visitor_id = (char *) visitor_id;
    vw.token = token;
    vw.conversation = conv;
    vw.operators_online = presence_count_online(self->presence, site_id);
    vw.site_name = sr->site_name;
    vw.survey = sr->survey;
    job->blob = router_pack(&vw.base, &job->blob_len);
    free(token);
    if (!job->blob) {
        router_fail(self, job_p, "internal", "out of memory");
        return;
    }
    conv_cache_put(self->convs, conv, beseda_mono_ms());
    log_info("visitor welcome", "site", site_id, "visitor", visitor_id,
             "conversation", conv->id, "state", conv->state);
    *job_p = NULL;
    ask_route(self, job, conv);
}

void visitor_on_hello(router_t *self, job_t *job, Beseda__StoreReply *reply)
{
    if (router_store_failed(self, &job, reply))
        return;
    const Beseda__StoreVisitorHelloReply *sr = reply->body_case ==
        BESEDA__STORE_REPLY__BODY_VISITOR_HELLO ? reply->visitor_hello : NULL;
    if (!sr) {
        router_fail(self, &job, "internal", "unexpected store reply");
        return;
    }
    const Beseda__VisitorHello *hello = job->msg->visitor_hello;
    if (!sr->site_exists) {
        router_fail(self, &job, "no_such_site", "no such site");
        return;
    }
    /* A store that found the visitor may leave the id out: it is the token's. */
    const char *visitor_id = sr->visitor_id[0] ? sr->visitor_id
                           : sr->visitor_exists && job->visitor_id[0] ? job->visitor_id : NULL;
    if (!visitor_id || !beseda_is_uuid(visitor_id)) {
        log_error("store gave no visitor id", "site", hello->site_id);
        router_fail(self, &job, "internal", "no visitor id");
        return;
    }
    if (sr->open_conversation && sr->open_conversation->id[0]) {
        Beseda__ConversationInfo open = *sr->open_conversation;   /* never edit the unpacked one */
        if (open.operator_id[0] && !open.operator_name[0])
            open.operator_name = (char *) operator_name(self, open.operator_id);
        welcome(self, &job, sr, visitor_id, &open);
        return;
    }
    char conv_id[UUID_STR_LEN];
    conv_id_issue(self->token_key, hello->site_id, visitor_id, conv_id);
    Beseda__ConversationInfo fresh = BESEDA__CONVERSATION_INFO__INIT;
    fresh.id = conv_id;
    fresh.site_id = hello->site_id;
    fresh.visitor_id = (char *) visitor_id;
    fresh.state = "new";
    welcome(self, &job, sr, visitor_id, &fresh);
}
