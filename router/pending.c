/* Pending table: correlation id -> job. See pending.h. */
#include "pending.h"
#include "util.h"
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending_table_t {
    zhashx_t *jobs;          /* decimal corr id -> job_t */
};

const char *job_step_name(job_step_t step)
{
    static const char *const names[] = { "hello", "login", "resume", "append", "lookup",
                                         "fetch", "history", "close", "queue", "assign",
                                         "logout",
                                         [STEP_ROUTE_STEP] = "route_step",
                                         [STEP_ACCEPT] = "accept",
                                         [STEP_ACCEPT_LOST] = "accept_lost",
                                         [STEP_DUE] = "due",
                                         [STEP_DUE_ROUTE] = "due_route",
                                         [STEP_HELLO_ROUTE] = "hello_route",
                                         [STEP_TRANSFER_GROUPS] = "transfer_groups",
                                         [STEP_TRANSFER] = "transfer",
                                         [STEP_TEAM_APPEND] = "team_append",
                                         [STEP_TEAM_FETCH] = "team_fetch",
                                         [STEP_API_SESSION] = "api_session",
                                         [STEP_API_CALL] = "api_call",
                                         [STEP_VISITOR_FORM] = "visitor_form",
                                         [STEP_APPEND_REPLAY] = "append_replay" };
    return (size_t) step < sizeof names / sizeof names[0] ? names[step] : "?";
}

job_t *job_new(job_step_t step, bus_request_t **req_p, Beseda__RouterRequest **msg_p)
{
    job_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->step = step;
    self->started_ms = beseda_mono_ms();
    if (req_p) {
        self->req = *req_p;
        *req_p = NULL;
        self->epoch = self->req ? self->req->epoch : 0;
    }
    if (msg_p) {
        self->msg = *msg_p;
        *msg_p = NULL;
    }
    return self;
}

void job_destroy(job_t **self_p)
{
    job_t *self = *self_p;
    if (!self)
        return;
    bus_request_destroy(&self->req);
    if (self->msg)
        beseda__router_request__free_unpacked(self->msg, NULL);
    free(self->site_id);
    free(self->conv_id);
    free(self->operator_id);
    free(self->operator_name);
    free(self->from_operator_id);
    free(self->visitor_id);
    free(self->notify_gateway);
    free(self->notify_conn);
    free(self->notify_operator);
    free(self->blob);
    free(self);
    *self_p = NULL;
}

int job_set(char **field, const char *value)
{
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

pending_table_t *pending_table_new(void)
{
    pending_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->jobs = zhashx_new();
    if (!self->jobs) {
        free(self);
        return NULL;
    }
    return self;
}

void pending_table_destroy(pending_table_t **self_p)
{
    pending_table_t *self = *self_p;
    if (!self)
        return;
    /* The hash has no destructor, so that take() can hand a job out; free
     * the jobs that are still waiting here. */
    for (job_t *job = zhashx_first(self->jobs); job; job = zhashx_next(self->jobs))
        job_destroy(&job);
    zhashx_destroy(&self->jobs);
    free(self);
    *self_p = NULL;
}

int pending_table_put(pending_table_t *self, uint64_t corr_id, job_t **job_p)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, corr_id);
    if (!*job_p || zhashx_insert(self->jobs, key, *job_p) != 0)
        return -1;
    *job_p = NULL;
    return 0;
}

job_t *pending_table_take(pending_table_t *self, uint64_t corr_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, corr_id);
    job_t *job = zhashx_lookup(self->jobs, key);
    if (job)
        zhashx_delete(self->jobs, key);
    return job;
}

size_t pending_table_size(pending_table_t *self)
{
    return zhashx_size(self->jobs);
}
