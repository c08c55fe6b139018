/* besedactl drain WORKER: the broker forwards DRAIN to the worker, which
 * says BYE (its keys move to the others at once), finishes what it has in
 * flight and exits. With --wait-ms, waits until the worker has left. */
#include "ctl.h"
#include "util.h"
#include <stdio.h>
#include <string.h>

#define DRAIN_POLL_MS 200

static int still_listed(ctl_t *ctl, const char *name, int *listed)
{
    Beseda__BrokerStatusQuery q = BESEDA__BROKER_STATUS_QUERY__INIT;
    Beseda__BrokerAdminRequest req = BESEDA__BROKER_ADMIN_REQUEST__INIT;
    req.body_case = BESEDA__BROKER_ADMIN_REQUEST__BODY_STATUS;
    req.status = &q;
    Beseda__BrokerAdminReply *reply;
    int rc = ctl_broker(ctl, &req, &reply);
    if (rc != CTL_EXIT_OK)
        return rc;
    *listed = 0;
    Beseda__ClusterStatus *s = reply->body_case == BESEDA__BROKER_ADMIN_REPLY__BODY_STATUS
                               ? reply->status : NULL;
    for (size_t i = 0; s && i < s->n_workers; i++)
        if (strcmp(s->workers[i]->name, name) == 0)
            *listed = 1;
    beseda__broker_admin_reply__free_unpacked(reply, NULL);
    return CTL_EXIT_OK;
}

/* Polls the broker until the worker is gone or wait_ms passed. */
static int wait_gone(ctl_t *ctl, const char *name, long wait_ms)
{
    int64_t until = beseda_mono_ms() + wait_ms;
    for (;;) {
        int listed = 1;
        int rc = still_listed(ctl, name, &listed);
        if (rc != CTL_EXIT_OK || !listed)
            return rc;
        if (beseda_mono_ms() >= until)
            return ctl_error(ctl, CTL_EXIT_FAILED, "still_running",
                             "%s is still registered after %ld ms", name, wait_ms);
        zclock_sleep(DRAIN_POLL_MS);
    }
}

static void print_drained(ctl_t *ctl, const Beseda__WorkerStatus *w, int waited)
{
    if (ctl->json)
        ctl_print_json(json_pack("{s:s,s:s,s:I,s:b}", "worker", w->name, "service", w->service,
                                 "requests", (json_int_t) w->requests, "gone", waited));
    else
        printf("drain sent to %s (service %s)%s\n", w->name, w->service,
               waited ? "; it has left" : "");
}

int ctl_cmd_drain(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("wait-ms", NULL, CTL_ARG_INT, "0",
                "then wait up to N ms until the worker has left (0: do not wait)"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 1, 1, &parsed, "besedactl drain WORKER_NAME [--wait-ms N]",
                       "Tells a router or store worker to leave gracefully: it stops taking\n"
                       "requests (its keys move to the others), finishes in-flight work, exits.",
                       &done);
    if (rc != CTL_EXIT_OK || done)
        goto out;
    Beseda__BrokerDrain drain = BESEDA__BROKER_DRAIN__INIT;
    drain.worker = (char *) parsed.positional[0];
    Beseda__BrokerAdminRequest req = BESEDA__BROKER_ADMIN_REQUEST__INIT;
    req.body_case = BESEDA__BROKER_ADMIN_REQUEST__BODY_DRAIN;
    req.drain = &drain;
    Beseda__BrokerAdminReply *reply;
    rc = ctl_broker(&ctl, &req, &reply);
    if (rc != CTL_EXIT_OK)
        goto out;
    if (reply->body_case != BESEDA__BROKER_ADMIN_REPLY__BODY_DRAINED)
        rc = ctl_error(&ctl, CTL_EXIT_FAILED, "internal", "unexpected answer from the broker");
    long wait_ms = ctl_arg_int(opts, "wait-ms");
    if (rc == CTL_EXIT_OK && wait_ms > 0)
        rc = wait_gone(&ctl, drain.worker, wait_ms);
    if (rc == CTL_EXIT_OK)
        print_drained(&ctl, reply->drained, wait_ms > 0);
    beseda__broker_admin_reply__free_unpacked(reply, NULL);
out:
    ctl_end(&ctl);
    return rc;
}
