/* besedactl: the operators' command-line tool for a running deployment. It
 * talks only through documented interfaces: bus requests to the broker's own
 * service "$broker" (status, drain) and to service "store" (sites, operators,
 * queue lengths), as described in docs/ARCHITECTURE.md and docs/CTL.md.
 * Exit codes (a script can rely on them): */
#ifndef CTL_CTL_H
#define CTL_CTL_H

#include "args.h"
#include "beseda.pb-c.h"
#include "bus.h"
#include <jansson.h>

#define CTL_EXIT_OK          0   /* done */
#define CTL_EXIT_FAILED      1   /* the system answered with a refusal or an error */
#define CTL_EXIT_USAGE       2   /* bad command line */
#define CTL_EXIT_UNREACHABLE 3   /* no answer from the broker (or service) in time */

#define CTL_TIMEOUT_MIN_MS     100
#define CTL_TIMEOUT_MAX_MS  600000
#define CTL_PASSWORD_MIN_BYTES   8   /* the store's rule, checked early */
#define CTL_PASSWORD_MAX_BYTES 1024
#define CTL_PASSWORD_GEN_CHARS  20   /* ~114 bits from a 54-letter alphabet */

/* A table entry without the fields the parser fills. */
#define CTL_OPT(n, e, t, d, h) { .name = (n), .env = (e), .type = (t), .def = (d), .help = (h) }
#define CTL_OPT_END { .name = NULL }
#define CTL_COMMON_OPTS \
    CTL_OPT("broker", "BESEDA_BROKER", CTL_ARG_STRING, "tcp://127.0.0.1:5570", \
            "broker ROUTER endpoint"), \
    CTL_OPT("timeout-ms", "BESEDA_CTL_TIMEOUT_MS", CTL_ARG_INT, "3000", \
            "give up (exit 3) when no answer came in this time"), \
    CTL_OPT("json", "BESEDA_CTL_JSON", CTL_ARG_FLAG, NULL, "print JSON instead of text")

typedef struct {
    bus_client_t *bus;
    const char *broker;
    int timeout_ms;
    int json;
} ctl_t;

/* One request in flight (ctl_call_all). */
typedef struct {
    const char *service;
    const char *key;
    uint8_t *body;                /* borrowed */
    size_t len;
    zframe_t *reply;              /* owned after the call; NULL: no answer */
} ctl_call_t;

/* Parses argv against opts (which must include CTL_COMMON_OPTS) and connects.
 * Returns CTL_EXIT_OK, or the exit code to return (help: OK with *done set). */
int ctl_begin(ctl_t *ctl, ctl_opt_t *opts, int argc, char **argv, size_t min_pos, size_t max_pos,
              ctl_parsed_t *parsed, const char *usage, const char *summary, int *done);
void ctl_end(ctl_t *ctl);

/* Sends every call at once and waits until all are answered or the timeout
 * passed. Returns how many were answered. */
size_t ctl_call_all(ctl_t *ctl, ctl_call_t *calls, size_t n);
/* One store request. CTL_EXIT_OK with *reply (free with
 * beseda__store_reply__free_unpacked), or an exit code after printing why. */
int ctl_store(ctl_t *ctl, const char *key, const Beseda__StoreRequest *req,
              Beseda__StoreReply **reply);
int ctl_broker(ctl_t *ctl, const Beseda__BrokerAdminRequest *req, Beseda__BrokerAdminReply **reply);
/* The store's or broker's refusal as an error (exit 1). */
int ctl_refused(ctl_t *ctl, const char *who, const char *code, const char *message);

/* Prints "besedactl: <message>" on stderr and, with --json, an
 * {"error":{"code","message"}} object on stdout. Returns exit_code. */
int ctl_error(ctl_t *ctl, int exit_code, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints the object on stdout (one line) and releases it. */
void ctl_print_json(json_t *obj);
/* "1h02m", "3.4s" */
void ctl_format_age(char *out, size_t size, int64_t ms);
/* The password: from stdin (one line) when --password-stdin, else generated
 * (*generated set). Returns CTL_EXIT_OK or an exit code. */
int ctl_password(ctl_t *ctl, int from_stdin, char *out, size_t size, int *generated);
/* The widget embed snippet for a site. */
void ctl_embed(char *out, size_t size, const char *gateway_url, const char *site_id);

int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_site(int argc, char **argv);
int ctl_cmd_operator(int argc, char **argv);
int ctl_cmd_drain(int argc, char **argv);

#endif
