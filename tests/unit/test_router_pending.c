/* The pending table: a job put under a correlation id comes back once, and
 * jobs left at the end are freed with everything they own. */
#include "check.h"
#include "pending.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A gateway request as bus_worker_recv would hand it over. */
static bus_request_t *fake_request(uint64_t epoch)
{
    bus_request_t *req = calloc(1, sizeof *req);
    req->route = zframe_new("gw", 2);
    snprintf(req->corr, sizeof req->corr, "17");
    req->shard_key = strdup("site");
    req->epoch = epoch;
    req->body = zframe_new("", 0);
    return req;
}

static Beseda__RouterRequest *fake_msg(void)
{
    Beseda__RouterRequest m = BESEDA__ROUTER_REQUEST__INIT;
    Beseda__Typing t = BESEDA__TYPING__INIT;
    m.site_id = "s1";
    m.body_case = BESEDA__ROUTER_REQUEST__BODY_TYPING;
    t.conversation_id = "c1";
    m.typing = &t;
    uint8_t buf[256];
    size_t len = beseda__router_request__pack(&m, buf);
    return beseda__router_request__unpack(NULL, len, buf);
}

int main(void)
{
    pending_table_t *table = pending_table_new();
    CHECK(table && pending_table_size(table) == 0, "new table is empty");

    bus_request_t *req = fake_request(42);
    Beseda__RouterRequest *msg = fake_msg();
    job_t *job = job_new(STEP_LOOKUP, &req, &msg);
    CHECK(job && !req && !msg, "job takes the request and the message");
    CHECK(job && job->epoch == 42, "job carries the request's epoch");
    CHECK(job_set(&job->conv_id, "c1") == 0 && strcmp(job->conv_id, "c1") == 0, "job_set copies");

    CHECK(pending_table_put(table, 7, &job) == 0 && job == NULL, "put takes the job");
    job_t *dup = job_new(STEP_FETCH, NULL, NULL);
    CHECK(pending_table_put(table, 7, &dup) == -1 && dup != NULL,
          "a second job under the same id is refused and stays with the caller");
    job_destroy(&dup);
    CHECK(dup == NULL, "job_destroy nulls the pointer");

    CHECK(pending_table_take(table, 8) == NULL, "unknown id: nothing");
    job_t *back = pending_table_take(table, 7);
    CHECK(back && back->step == STEP_LOOKUP && back->msg && back->req, "take returns the job");
    CHECK(back && strcmp(back->msg->typing->conversation_id, "c1") == 0, "job keeps its data");
    CHECK(pending_table_take(table, 7) == NULL, "a job is taken only once");
    CHECK(pending_table_size(table) == 0, "table is empty after take");
    job_destroy(&back);

    for (uint64_t i = 1; i <= 1000; i++) {
        bus_request_t *r = fake_request(i);
        job_t *j = job_new(STEP_APPEND, &r, NULL);
        pending_table_put(table, i, &j);
    }
    CHECK(pending_table_size(table) == 1000, "many jobs wait at once");
    job_t *mid = pending_table_take(table, 500);
    CHECK(mid && mid->epoch == 500, "each id finds its own job");
    job_destroy(&mid);
    pending_table_destroy(&table);
    CHECK(table == NULL, "destroy frees the jobs left and nulls the table");

    return CHECK_DONE();
}
