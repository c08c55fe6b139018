/* besedactl status: the broker's view (workers per service with epoch,
 * heartbeat age and requests routed; owners of the keys asked about;
 * gateways and their connections) and the store's queue lengths, asked in
 * parallel. No broker answer: exit 3. No store answer: the broker part is
 * still printed, queues are reported unavailable, exit 1. */
#include "ctl.h"
#include "table.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void ctl_format_age(char *out, size_t size, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (ms < 60000)
        snprintf(out, size, "%.1fs", (double) ms / 1000.0);
    else if (ms < 3600000)
        snprintf(out, size, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
    else
        snprintf(out, size, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
}

static json_t *status_json(const Beseda__ClusterStatus *s, const Beseda__QueueLengths *q)
{
    json_t *workers = json_array(), *owners = json_array(), *gateways = json_array();
    for (size_t i = 0; i < s->n_workers; i++) {
        const Beseda__WorkerStatus *w = s->workers[i];
        json_array_append_new(workers, json_pack("{s:s,s:s,s:I,s:f,s:I}", "service", w->service,
            "name", w->name, "epoch", (json_int_t) w->epoch,
            "heartbeat_age_s", w->heartbeat_age_ms / 1000.0, "requests", (json_int_t) w->requests));
    }
    for (size_t i = 0; i < s->n_owners; i++)
        json_array_append_new(owners, json_pack("{s:s,s:s,s:s}", "key", s->owners[i]->key,
            "service", s->owners[i]->service, "worker", s->owners[i]->worker));
    for (size_t i = 0; i < s->n_gateways; i++) {
        const Beseda__GatewayStatus *g = s->gateways[i];
        json_array_append_new(gateways, json_pack("{s:s,s:i,s:i,s:i,s:f}", "name", g->name,
            "connections", (int) g->connections, "visitors", (int) g->visitors,
            "operators", (int) g->operators, "report_age_s", g->report_age_ms / 1000.0));
    }
    json_t *queues = json_null();
    if (q) {
        queues = json_array();
        for (size_t i = 0; i < q->n_sites; i++)
            json_array_append_new(queues, json_pack("{s:s,s:s,s:i,s:i}", "site", q->sites[i]->site_id,
                "name", q->sites[i]->site_name, "queued", (int) q->sites[i]->queued,
                "assigned", (int) q->sites[i]->assigned));
    }
    return json_pack("{s:{s:f,s:I},s:o,s:o,s:o,s:o}", "broker", "uptime_s", s->uptime_ms / 1000.0,
                     "requests_routed", (json_int_t) s->requests_routed, "workers", workers,
                     "owners", owners, "gateways", gateways, "queues", queues);
}

static void print_workers(const Beseda__ClusterStatus *s)
{
    printf("\n%-8s %-28s %-15s %-9s %s\n", "SERVICE", "WORKER", "EPOCH", "LAST HB", "REQUESTS");
    for (size_t i = 0; i < s->n_workers; i++) {
        const Beseda__WorkerStatus *w = s->workers[i];
        char age[32];
        ctl_format_age(age, sizeof age, w->heartbeat_age_ms);
        printf("%-8s %-28s %-15" PRIu64 " %-9s %" PRIu64 "\n", w->service, w->name, w->epoch, age,
               w->requests);
    }
    if (s->n_workers == 0)
        printf("(no workers)\n");
}

static void print_text(const Beseda__ClusterStatus *s, const Beseda__QueueLengths *q)
{
    char up[32];
    ctl_format_age(up, sizeof up, s->uptime_ms);
    printf("broker: up %s, %" PRIu64 " requests routed\n", up, s->requests_routed);
    print_workers(s);
    if (s->n_owners > 0) {
        printf("\n%-38s %-8s %s\n", "KEY", "SERVICE", "OWNER");
        for (size_t i = 0; i < s->n_owners; i++)
            printf("%-38s %-8s %s\n", s->owners[i]->key, s->owners[i]->service, s->owners[i]->worker);
    }
    printf("\n%-28s %-12s %-9s %-10s %s\n", "GATEWAY", "CONNECTIONS", "VISITORS", "OPERATORS",
           "LAST REPORT");
    for (size_t i = 0; i < s->n_gateways; i++) {
        const Beseda__GatewayStatus *g = s->gateways[i];
        char age[32];
        ctl_format_age(age, sizeof age, g->report_age_ms);
        printf("%-28s %-12u %-9u %-10u %s\n", g->name, g->connections, g->visitors, g->operators, age);
    }
    if (s->n_gateways == 0)
        printf("(no gateways reporting)\n");
    if (!q) {
        printf("\nqueues: unavailable (no store answered)\n");
        return;
    }
    printf("\n%-36s %-24s %-7s %s\n", "SITE", "NAME", "QUEUED", "ASSIGNED");
    for (size_t i = 0; i < q->n_sites; i++) {
        char name[256];
        ctl_cell(name, sizeof name, q->sites[i]->site_name, 24, 1);
        printf("%-36s %s %-7u %u\n", q->sites[i]->site_id, name, q->sites[i]->queued, q->sites[i]->assigned);
    }
}

/* Packs the two requests; 0, or -1 when out of memory. */
static int pack_requests(const ctl_opt_t *opts, ctl_call_t calls[2])
{
    const ctl_opt_t *keys = ctl_arg(opts, "key");
    Beseda__BrokerStatusQuery q = BESEDA__BROKER_STATUS_QUERY__INIT;
    q.keys = (char **) keys->values;
    q.n_keys = keys->n_values;
    Beseda__BrokerAdminRequest breq = BESEDA__BROKER_ADMIN_REQUEST__INIT;
    breq.body_case = BESEDA__BROKER_ADMIN_REQUEST__BODY_STATUS;
    breq.status = &q;
    Beseda__StoreQueueLengths ql = BESEDA__STORE_QUEUE_LENGTHS__INIT;
    Beseda__StoreRequest sreq = BESEDA__STORE_REQUEST__INIT;
    sreq.body_case = BESEDA__STORE_REQUEST__BODY_QUEUE_LENGTHS;
    sreq.queue_lengths = &ql;
    calls[0] = (ctl_call_t) { BUS_BROKER_SERVICE, "admin", NULL, 0, NULL };
    calls[1] = (ctl_call_t) { "store", "admin", NULL, 0, NULL };
    calls[0].len = beseda__broker_admin_request__get_packed_size(&breq);
    calls[1].len = beseda__store_request__get_packed_size(&sreq);
    calls[0].body = malloc(calls[0].len + 1);
    calls[1].body = malloc(calls[1].len + 1);
    if (!calls[0].body || !calls[1].body)
        return -1;
    beseda__broker_admin_request__pack(&breq, calls[0].body);
    beseda__store_request__pack(&sreq, calls[1].body);
    return 0;
}

/* Decodes both answers and prints; returns the exit code. */
static int report(ctl_t *ctl, ctl_call_t calls[2])
{
    if (!calls[0].reply)
        return ctl_error(ctl, CTL_EXIT_UNREACHABLE, "unreachable",
                         "no answer from the broker at %s within %d ms", ctl->broker, ctl->timeout_ms);
    Beseda__BrokerAdminReply *b = beseda__broker_admin_reply__unpack(NULL,
        zframe_size(calls[0].reply), zframe_data(calls[0].reply));
    Beseda__StoreReply *s = calls[1].reply ? beseda__store_reply__unpack(NULL,
        zframe_size(calls[1].reply), zframe_data(calls[1].reply)) : NULL;
    int rc = CTL_EXIT_OK;
    if (!b || b->body_case != BESEDA__BROKER_ADMIN_REPLY__BODY_STATUS)
        rc = b && b->error_code && *b->error_code
             ? ctl_refused(ctl, "the broker", b->error_code, b->error_message)
             : ctl_error(ctl, CTL_EXIT_FAILED, "internal", "the broker's answer cannot be decoded");
    else {
        const Beseda__QueueLengths *q = s && s->body_case == BESEDA__STORE_REPLY__BODY_QUEUE_LENGTHS
                                        ? s->queue_lengths : NULL;
        if (ctl->json)
            ctl_print_json(status_json(b->status, q));
        else
            print_text(b->status, q);
        if (!q) {
            fprintf(stderr, "besedactl: queue lengths unavailable: %s\n",
                    s ? s->error_code : "no store answered in time");
            rc = CTL_EXIT_FAILED;
        }
    }
    if (b)
        beseda__broker_admin_reply__free_unpacked(b, NULL);
    if (s)
        beseda__store_reply__free_unpacked(s, NULL);
    return rc;
}

int ctl_cmd_status(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("key", NULL, CTL_ARG_LIST, NULL,
                "a shard key (conversation or site id): show which worker of each service owns it"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed, "besedactl status [--key K]... [--json]",
                       "Cluster status: workers per service, key owners, gateway connections,\n"
                       "queued conversations per site.", &done);
    if (rc != CTL_EXIT_OK || done) {
        ctl_end(&ctl);
        return rc;
    }
    ctl_call_t calls[2];
    memset(calls, 0, sizeof calls);
    if (pack_requests(opts, calls) < 0)
        rc = ctl_error(&ctl, CTL_EXIT_FAILED, "internal", "out of memory");
    else {
        ctl_call_all(&ctl, calls, 2);
        rc = report(&ctl, calls);
    }
    for (int i = 0; i < 2; i++) {
        free(calls[i].body);
        zframe_destroy(&calls[i].reply);
    }
    ctl_end(&ctl);
    return rc;
}
