/* beseda-gateway: parse the configuration, serve WebSocket and HTTP until
 * SIGINT/SIGTERM, then send every client "reconnect" and exit 0. */
#include "admin_http.h"
#include "config.h"
#include "gw_metrics.h"
#include "gw_proxy.h"
#include "gw_server.h"
#include "log.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

static beseda_opt_t options[] = {
    { "http-host", "BESEDA_HTTP_HOST", OPT_STRING, "127.0.0.1", "address to listen on", NULL },
    { "http-port", "BESEDA_HTTP_PORT", OPT_INT, "8080", "port for HTTP and WebSocket", NULL },
    { "web-root", "BESEDA_WEB_ROOT", OPT_STRING, "./build/web",
      "the built web tree (make all: build/web/): widget.js, widget/, console/, demo.html", NULL },
    { "allowed-origins", "BESEDA_ALLOWED_ORIGINS", OPT_STRING, "",
      "comma list of Origins allowed to open a WebSocket (empty: http://<host>:<port>, "
      "http://localhost:<port>, http://127.0.0.1:<port>)", NULL },
    { "trusted-proxies", "BESEDA_TRUSTED_PROXIES", OPT_STRING, "",
      "comma list of addresses/CIDRs of balancers whose X-Forwarded-For names the client "
      "(the rightmost address not in the list); empty: the TCP peer is the client", NULL },
    { "gateway-id", "BESEDA_GATEWAY_ID", OPT_STRING, "",
      "this gateway's id in presence records (empty: the name)", NULL },
    { "presence-beat-ms", "BESEDA_PRESENCE_BEAT_MS", OPT_INT, "5000",
      "how often each operator connection's presence is renewed", NULL },
    { "request-timeout-ms", "BESEDA_REQUEST_TIMEOUT_MS", OPT_INT, "10000",
      "a request unanswered this long gets error 'unavailable'", NULL },
    { "max-in-flight", "BESEDA_MAX_IN_FLIGHT", OPT_INT, "2000",
      "client requests this gateway keeps waiting for the routers at most; past it a new "
      "send, typing or sync gets error 'overloaded' with retry_after_ms (0: no bound)", NULL },
    { "max-conn-in-flight", "BESEDA_MAX_CONN_IN_FLIGHT", OPT_INT, "256",
      "the same per connection (0: no bound)", NULL },
    { "overload-retry-after-ms", "BESEDA_OVERLOAD_RETRY_AFTER_MS", OPT_INT, "1000",
      "retry_after_ms of an 'overloaded' error: this plus a random jitter of up to as much again",
      NULL },
    { "max-frame-bytes", "BESEDA_MAX_FRAME_BYTES", OPT_INT, "65536",
      "largest WebSocket message after reassembly", NULL },
    { "max-text-bytes", "BESEDA_MAX_TEXT_BYTES", OPT_INT, "8192",
      "largest message text or typing draft", NULL },
    { "rate-per-sec", "BESEDA_RATE_PER_SEC", OPT_INT, "5",
      "frames per second per visitor connection (and per operator connection before its login)", NULL },
    { "rate-burst", "BESEDA_RATE_BURST", OPT_INT, "20",
      "frames a visitor connection (or an operator's before login) may send at once", NULL },
    { "operator-rate-per-sec", "BESEDA_OPERATOR_RATE_PER_SEC", OPT_INT, "50",
      "frames per second per logged-in operator connection (never below rate-per-sec)", NULL },
    { "operator-rate-burst", "BESEDA_OPERATOR_RATE_BURST", OPT_INT, "200",
      "frames a logged-in operator connection may send at once (never below rate-burst)", NULL },
    { "broker", "BESEDA_BROKER", OPT_STRING, "tcp://127.0.0.1:5570",
      "broker ROUTER endpoint: requests to the routers", NULL },
    { "broker-sub", "BESEDA_BROKER_SUB", OPT_STRING, "tcp://127.0.0.1:5572",
      "broker XPUB endpoint: deliveries", NULL },
    { "name", "BESEDA_NAME", OPT_STRING, "", "process name (empty: gateway-<host>-<pid>)", NULL },
    { "log-level", "BESEDA_LOG_LEVEL", OPT_STRING, "info", "debug, info, warn or error", NULL },
    { "admin-addr", "BESEDA_ADMIN_ADDR", OPT_STRING, "",
      "host:port of a separate admin HTTP listener (/metrics, /healthz, /readyz; the main port "
      "then serves only /healthz of them); empty: off (the main port serves all three)", NULL },
    { NULL, NULL, OPT_STRING, NULL, NULL, NULL },
};

static int check_ranges(void)
{
    long port = beseda_config_int(options, "http-port");
    if (port < 1 || port > 65535 || beseda_config_int(options, "presence-beat-ms") < 100
        || beseda_config_int(options, "request-timeout-ms") < 100
        || beseda_config_int(options, "max-frame-bytes") < 1024
        || beseda_config_int(options, "max-text-bytes") < 1
        || beseda_config_int(options, "rate-per-sec") < 1
        || beseda_config_int(options, "rate-burst") < 1
        || beseda_config_int(options, "operator-rate-per-sec") < 1
        || beseda_config_int(options, "operator-rate-burst") < 1
        || beseda_config_int(options, "max-in-flight") < 0
        || beseda_config_int(options, "max-conn-in-flight") < 0
        || beseda_config_int(options, "overload-retry-after-ms") < 1
        || beseda_config_int(options, "overload-retry-after-ms") > 600000) {
        fprintf(stderr, "beseda-gateway: a port must be 1-65535, times >= 100 ms, "
                        "max-frame-bytes >= 1024, rates and max-text-bytes >= 1, "
                        "in-flight bounds >= 0, overload-retry-after-ms 1-600000\n");
        return -1;
    }
    gw_proxies_t proxies;
    if (gw_proxies_parse(beseda_config_str(options, "trusted-proxies"), &proxies) < 0) {
        fprintf(stderr, "beseda-gateway: --trusted-proxies (BESEDA_TRUSTED_PROXIES) must be a comma "
                        "list of at most %d addresses or CIDRs, got '%s'\n", GW_PROXIES_MAX,
                beseda_config_str(options, "trusted-proxies"));
        return -1;
    }
    const char *admin = beseda_config_str(options, "admin-addr");
    if (*admin && !beseda_admin_addr_valid(admin)) {
        fprintf(stderr, "beseda-gateway: --admin-addr (BESEDA_ADMIN_ADDR) must be host:port, got '%s'\n",
                admin);
        return -1;
    }
    return 0;
}

static void fill_config(gw_config_t *cfg, const char *gateway_id)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = beseda_config_str(options, "http-host");
    cfg->port = (int) beseda_config_int(options, "http-port");
    cfg->web_root = beseda_config_str(options, "web-root");
    cfg->allowed_origins = beseda_config_str(options, "allowed-origins");
    cfg->trusted_proxies = beseda_config_str(options, "trusted-proxies");
    cfg->gateway_id = gateway_id;
    cfg->broker = beseda_config_str(options, "broker");
    cfg->broker_sub = beseda_config_str(options, "broker-sub");
    cfg->beat_ms = (int) beseda_config_int(options, "presence-beat-ms");
    cfg->request_timeout_ms = (int) beseda_config_int(options, "request-timeout-ms");
    cfg->rates.visitor_rate = (double) beseda_config_int(options, "rate-per-sec");
    cfg->rates.visitor_burst = (double) beseda_config_int(options, "rate-burst");
    cfg->rates.operator_rate = (double) beseda_config_int(options, "operator-rate-per-sec");
    cfg->rates.operator_burst = (double) beseda_config_int(options, "operator-rate-burst");
    gw_limits_default(&cfg->limits);
    cfg->limits.max_frame_bytes = (size_t) beseda_config_int(options, "max-frame-bytes");
    cfg->limits.max_text_bytes = (size_t) beseda_config_int(options, "max-text-bytes");
    gw_admission_default(&cfg->admission);
    cfg->admission.max_in_flight = (size_t) beseda_config_int(options, "max-in-flight");
    cfg->admission.max_conn_in_flight = (size_t) beseda_config_int(options, "max-conn-in-flight");
    cfg->admission.retry_after_ms = (int) beseda_config_int(options, "overload-retry-after-ms");
}

/* Signals go to the main (lws) thread only: the bus thread and ZeroMQ's I/O
 * threads are started with them blocked, and the lws poll is interrupted. */
static void block_signals(int block)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;      /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* --healthcheck: /readyz of the admin listener, else of the main port. */
static int healthcheck(void)
{
    const char *admin = beseda_config_str(options, "admin-addr");
    if (*admin)
        return beseda_admin_probe(admin, "/readyz");
    char addr[300];
    const char *host = beseda_config_str(options, "http-host");
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%ld" : "%s:%ld",
             strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1" : host, beseda_config_int(options, "http-port"));
    return beseda_admin_probe(addr, "/readyz");
}

static int serve(gw_config_t *cfg, beseda_metrics_t *metrics)
{
    const char *admin_addr = beseda_config_str(options, "admin-addr");
    cfg->metrics = metrics;
    cfg->ops_on_main_port = !*admin_addr;
    block_signals(1);
    gw_server_t *server = gw_server_new(cfg);
    beseda_admin_t *admin = NULL;
    if (server && *admin_addr)
        admin = beseda_admin_new(admin_addr, metrics, gw_metrics_ready, gw_server_metrics(server));
    block_signals(0);
    if (!server || (*admin_addr && !admin)) {
        gw_server_destroy(&server);
        return 1;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    log_info("gateway started", "gateway", cfg->gateway_id, "host", cfg->host, "port", port,
             "web_root", cfg->web_root);
    int rc = gw_server_run(server, &stop_requested);
    beseda_admin_destroy(&admin);
    gw_server_destroy(&server);
    return rc;
}

int main(int argc, char **argv)
{
    int probe = beseda_admin_take_healthcheck_flag(&argc, argv);
    int rc = beseda_config_parse(options, "beseda-gateway",
                                 "WebSocket and HTTP edge: visitors, operators, static files.",
                                 argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (probe)
        return healthcheck();
    if (check_ranges() < 0)
        return 2;
    setenv("BESEDA_LOG_LEVEL", beseda_config_str(options, "log-level"), 1);
    beseda_log_init("gateway");
    zsys_handler_set(NULL);
    install_handlers();

    char name[256];
    const char *given = beseda_config_str(options, "name");
    if (given && *given)
        snprintf(name, sizeof name, "%s", given);
    else {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(name, sizeof name, "gateway-%s-%d", host, (int) getpid());
    }
    const char *id = beseda_config_str(options, "gateway-id");
    gw_config_t cfg;
    fill_config(&cfg, id && *id ? id : name);

    beseda_metrics_t *metrics = beseda_metrics_new();
    if (!metrics)
        return 1;
    rc = serve(&cfg, metrics);
    beseda_metrics_destroy(&metrics);
    log_info("gateway stopped");
    return rc == 0 ? 0 : 1;
}
