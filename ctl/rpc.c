/* besedactl's bus calls: one bus client, requests sent at once, a poll loop
 * until every answer came or the deadline passed. A broker that is not
 * running is not an error ZeroMQ reports (connect succeeds, messages wait),
 * so "unreachable" is exactly "no answer within --timeout-ms". */
#include "ctl.h"
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ctl_error(ctl_t *ctl, int exit_code, const char *code, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stderr, "besedactl: %s\n", message);
    if (ctl && ctl->json)
        ctl_print_json(json_pack("{s:{s:s,s:s,s:i}}", "error", "code", code, "message", message,
                                 "exit", exit_code));
    return exit_code;
}

void ctl_print_json(json_t *obj)
{
    if (!obj) {
        fprintf(stderr, "besedactl: out of memory building JSON\n");
        return;
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text)
        printf("%s\n", text);
    free(text);
    json_decref(obj);
}

int ctl_begin(ctl_t *ctl, ctl_opt_t *opts, int argc, char **argv, size_t min_pos, size_t max_pos,
              ctl_parsed_t *parsed, const char *usage, const char *summary, int *done)
{
    memset(ctl, 0, sizeof *ctl);
    *done = 0;
    int rc = ctl_args_parse(opts, argc, argv, min_pos, max_pos, parsed);
    if (rc == 1) {
        ctl_args_help(opts, usage, summary);
        *done = 1;
        return CTL_EXIT_OK;
    }
    ctl->json = rc == 0 && ctl_arg_flag(opts, "json");
    if (rc < 0)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "%s (usage: %s; see --help)",
                         parsed->error, usage);
    long timeout = ctl_arg_int(opts, "timeout-ms");
    if (timeout < CTL_TIMEOUT_MIN_MS || timeout > CTL_TIMEOUT_MAX_MS)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--timeout-ms must be %d to %d",
                         CTL_TIMEOUT_MIN_MS, CTL_TIMEOUT_MAX_MS);
    ctl->timeout_ms = (int) timeout;
    ctl->broker = ctl_arg_str(opts, "broker");
    ctl->bus = bus_client_new(ctl->broker);
    if (!ctl->bus)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "cannot use broker endpoint '%s'", ctl->broker);
    return CTL_EXIT_OK;
}

void ctl_end(ctl_t *ctl)
{
    bus_client_destroy(&ctl->bus);
}

static ctl_call_t *find_call(ctl_call_t *calls, size_t n, uint64_t *corrs, uint64_t corr)
{
    for (size_t i = 0; i < n; i++)
        if (corrs[i] == corr)
            return &calls[i];
    return NULL;
}

size_t ctl_call_all(ctl_t *ctl, ctl_call_t *calls, size_t n)
{
    uint64_t corrs[8] = { 0 };
    if (n > 8)
        n = 8;
    size_t waiting = 0, answered = 0;
    for (size_t i = 0; i < n; i++) {
        calls[i].reply = NULL;
        corrs[i] = bus_client_request(ctl->bus, calls[i].service, calls[i].key, calls[i].body,
                                      calls[i].len, ctl->timeout_ms, NULL);
        waiting += corrs[i] != 0;
    }
    zsock_t *sock = bus_client_sock(ctl->bus);
    while (waiting > 0) {
        int wait = bus_client_next_timeout_ms(ctl->bus);
        zmq_pollitem_t item = { zsock_resolve(sock), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll(&item, 1, wait < 0 ? 0 : wait) < 0 && zmq_errno() != EINTR)
            break;
        bus_reply_t reply;
        while (zsock_events(sock) & ZMQ_POLLIN) {
            int rc = bus_client_recv(ctl->bus, &reply);
            if (rc < 0)
                break;
            ctl_call_t *call = rc == 1 ? find_call(calls, n, corrs, reply.corr_id) : NULL;
            if (call) {
                call->reply = reply.body;
                answered++;
                waiting--;
            } else if (rc == 1)
                zframe_destroy(&reply.body);
        }
        while (bus_client_expire(ctl->bus, &reply) == 1)
            waiting--;
    }
    return answered;
}

static int no_answer(ctl_t *ctl, const char *service)
{
    return ctl_error(ctl, CTL_EXIT_UNREACHABLE, "unreachable",
                     "no answer from %s within %d ms (is the broker running at %s%s?)",
                     strcmp(service, BUS_BROKER_SERVICE) == 0 ? "the broker" : "the store",
                     ctl->timeout_ms, ctl->broker,
                     strcmp(service, BUS_BROKER_SERVICE) == 0 ? "" : ", and a store worker");
}

int ctl_refused(ctl_t *ctl, const char *who, const char *code, const char *message)
{
    return ctl_error(ctl, CTL_EXIT_FAILED, code, "%s refused: %s%s%s", who, code,
                     message && *message ? ": " : "", message ? message : "");
}

int ctl_store(ctl_t *ctl, const char *key, const Beseda__StoreRequest *req,
              Beseda__StoreReply **reply)
{
    *reply = NULL;
    size_t len = beseda__store_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ctl_error(ctl, CTL_EXIT_FAILED, "internal", "out of memory");
    beseda__store_request__pack(req, buf);
    ctl_call_t call = { "store", key, buf, len, NULL };
    ctl_call_all(ctl, &call, 1);
    free(buf);
    if (!call.reply)
        return no_answer(ctl, "store");
    *reply = beseda__store_reply__unpack(NULL, zframe_size(call.reply), zframe_data(call.reply));
    zframe_destroy(&call.reply);
    if (!*reply)
        return ctl_error(ctl, CTL_EXIT_FAILED, "internal", "the store's answer cannot be decoded");
    if ((*reply)->error_code && *(*reply)->error_code) {
        int rc = ctl_refused(ctl, "the store", (*reply)->error_code, (*reply)->error_message);
        beseda__store_reply__free_unpacked(*reply, NULL);
        *reply = NULL;
        return rc;
    }
    return CTL_EXIT_OK;
}

int ctl_broker(ctl_t *ctl, const Beseda__BrokerAdminRequest *req, Beseda__BrokerAdminReply **reply)
{
    *reply = NULL;
    size_t len = beseda__broker_admin_request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ctl_error(ctl, CTL_EXIT_FAILED, "internal", "out of memory");
    beseda__broker_admin_request__pack(req, buf);
    ctl_call_t call = { BUS_BROKER_SERVICE, "admin", buf, len, NULL };
    ctl_call_all(ctl, &call, 1);
    free(buf);
    if (!call.reply)
        return no_answer(ctl, BUS_BROKER_SERVICE);
    *reply = beseda__broker_admin_reply__unpack(NULL, zframe_size(call.reply),
                                                zframe_data(call.reply));
    zframe_destroy(&call.reply);
    if (!*reply)
        return ctl_error(ctl, CTL_EXIT_FAILED, "internal", "the broker's answer cannot be decoded");
    if ((*reply)->error_code && *(*reply)->error_code) {
        int rc = ctl_refused(ctl, "the broker", (*reply)->error_code, (*reply)->error_message);
        beseda__broker_admin_reply__free_unpacked(*reply, NULL);
        *reply = NULL;
        return rc;
    }
    return CTL_EXIT_OK;
}
