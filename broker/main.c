/* beseda-broker: parse the configuration, run the broker until a signal. */
#include "broker.h"
#include "config.h"
#include "log.h"
#include <czmq.h>

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
    { NULL, NULL, OPT_STRING, NULL, NULL, NULL },
};

int main(int argc, char **argv)
{
    int rc = beseda_config_parse(options, "beseda-broker",
                                 "The ZeroMQ hub: routes requests to workers, relays deliveries.",
                                 argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
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
    log_info("broker started", "endpoint", beseda_config_str(options, "broker"));
    broker_run(broker, &stop_requested);
    broker_destroy(&broker);
    log_info("broker stopped");
    return 0;
}
