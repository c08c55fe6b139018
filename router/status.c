/* Operator status (docs/ROUTING.md "Operator status"): online (gets chats),
 * away and busy (keep their chats, get no new ones; busy: on a call),
 * offline. The status is the operator's, not one console's: the last one
 * set, by a console (SetStatus) or by the API (PUT /api/v1/status, e.g. a
 * telephony system with the operator's session token), wins, and beats
 * keep it (presence.c). Each change is published on o:<operator> so every
 * console shows it. */
#include "status.h"
#include "router.h"
#include "assign.h"
#include "log.h"
#include "publish.h"
#include "api.h"
#include <string.h>

bool status_valid(const char *status)
{
    return status && (strcmp(status, "online") == 0 || strcmp(status, "away") == 0
                      || strcmp(status, "busy") == 0);
}

void status_publish(router_t *self, const char *site_id, const char *operator_id,
                    const char *status)
{
    publish_status(self->pub, site_id, operator_id, status);
}

static void reply_status(router_t *self, job_t *job, const char *status)
{
    Beseda__StatusInfo si = BESEDA__STATUS_INFO__INIT;
    si.operator_id = job->operator_id;
    si.status = (char *) status;
    Beseda__RouterReply rr = BESEDA__ROUTER_REPLY__INIT;
    rr.body_case = BESEDA__ROUTER_REPLY__BODY_STATUS;
    rr.status = &si;
    router_reply(self, job, &rr);
    job_destroy(&job);
}

/* The status as presence has it; NULL when Redis cannot say. */
static const char *read_status(router_t *self, const job_t *job)
{
    const char *out = NULL;
    char *ids[] = { job->operator_id };
    if (!team_presence_statuses(self, job->site_id, ids, 1, &out))
        return NULL;
    return strcmp(out, "elsewhere") == 0 ? "offline" : out;
}

void status_api(router_t *self, job_t *job)
{
    const char *status = job->msg->api_status->status;
    if (!status[0]) {
        const char *now = read_status(self, job);
        if (!now) {
            router_fail(self, &job, "unavailable", "presence is unknown; try again");
            return;
        }
        reply_status(self, job, now);
        return;
    }
    if (!status_valid(status)) {
        router_fail(self, &job, "bad_value", "status: online, away or busy");
        return;
    }
    int change = presence_set_status(self->presence, job->operator_id, status);
    if (change == -1) {
        router_fail(self, &job, "unavailable", "presence is unknown; try again");
        return;
    }
    if (change == PRESENCE_NO_CONNECTION) {
        log_info("api status: operator has no console open; nothing set",
                 "operator", job->operator_id, "status", status);
        reply_status(self, job, "offline");
        return;
    }
    log_info("operator status (api)", "operator", job->operator_id, "site", job->site_id,
             "status", status);
    status_publish(self, job->site_id, job->operator_id, status);
    operator_publish_online(self, job->site_id);
    if (change == PRESENCE_CAME_ONLINE)
        assign_site_queue(self, job->site_id, self->epoch_seen, NULL);
    reply_status(self, job, status);
}
