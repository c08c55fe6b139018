/* beseda-broker: parse the configuration, run the broker until a signal. */
#include "admin_http.h"
#include "broker.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include <czmq.h>
#include <stdio.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

static beseda_opt_t options[] = {
    { "broker", "BESEDA_BROKER", OPT_STRING, "tcp://127.0.0.1:5570",
      "ROUTER endpoint to bind: clients and workers connect here", NULL },
    { "broker-pub", "BESEDA_BROKER_PUB", OPT_STRING, "tcp://127.0.0.1:5571",
      "XSUB endpoint to bind: routers publish deliveries here", NULL },
    { "broker-sub", "BESEDA_BROKER_SUB", OPT_STRING, "tcp://127.0.0.1:5572",
      "XPUB endpoint to bind: gateways subscribe to deliveries here", NULL },
    { "log-level", "BESEDA_LOG_LEVEL", OPT_STRING, "info", "debug, info, warn or error", NULL },
    { "admin-addr", "BESEDA_ADMIN_ADDR", OPT_STRING, "",
      "host:port of the admin HTTP listener (/metrics, /healthz, /readyz); empty: off", NULL },
    { NULL, NULL, OPT_STRING, NULL, NULL, NULL },
};

/* Ready once the sockets are bound (the broker exists) and its loop runs. */
static int broker_ready(void *arg, char *reason, size_t size)
{
    int64_t last = beseda_metrics_last_beat_ms(arg);
    if (last == 0 || beseda_mono_ms() - last > ADMIN_STALL_MS) {
        snprintf(reason, size, "the broker loop is not running");
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    int healthcheck = beseda_admin_take_healthcheck_flag(&argc, argv);
    int rc = beseda_config_parse(options, "beseda-broker",
                                 "The ZeroMQ hub: routes requests to workers, relays deliveries.",
                                 argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const char *admin_addr = beseda_config_str(options, "admin-addr");
    if (healthcheck)
        return beseda_admin_probe(admin_addr, "/readyz");
    if (*admin_addr && !beseda_admin_addr_valid(admin_addr)) {
        fprintf(stderr, "beseda-broker: --admin-addr (BESEDA_ADMIN_ADDR) must be host:port, got '%s'\n",
                admin_addr);
        return 2;
    }
    setenv("BESEDA_LOG_LEVEL", beseda_config_str(options, "log-level"), 1);
    beseda_log_init("broker");
    zsys_handler_set(NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    broker_t *broker = broker_new(beseda_config_str(options, "broker"),
                                  beseda_config_str(options, "broker-pub"),
                                  beseda_config_str(options, "broker-sub"));
    if (!broker)
        return 1;
    beseda_metrics_t *metrics = beseda_metrics_new();
    beseda_admin_t *admin = NULL;
    if (!metrics || (*admin_addr && !(admin = beseda_admin_new(admin_addr, metrics, broker_ready, metrics)))) {
        broker_destroy(&broker);
        beseda_metrics_destroy(&metrics);
        return 1;
    }
    broker_attach_metrics(broker, metrics);
    log_info("broker started", "endpoint", beseda_config_str(options, "broker"));
    broker_run(broker, &stop_requested);
    beseda_admin_destroy(&admin);
    broker_destroy(&broker);
    beseda_metrics_destroy(&metrics);
    log_info("broker stopped");
    return 0;
}
