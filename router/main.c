/* beseda-router: configuration and signals only; the work is in router.c. */
#include "router.h"
#include "admin_http.h"
#include "config.h"
#include "log.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

static beseda_opt_t options[] = {
    { "broker", "BESEDA_BROKER", OPT_STRING, "tcp://127.0.0.1:5570", "broker ROUTER endpoint (requests)", NULL },
    { "broker-pub", "BESEDA_BROKER_PUB", OPT_STRING, "tcp://127.0.0.1:5571", "broker XSUB endpoint (deliveries are published here)", NULL },
    { "broker-sub", "BESEDA_BROKER_SUB", OPT_STRING, "tcp://127.0.0.1:5572", "broker XPUB endpoint (not used by the router)", NULL },
    { "name", "BESEDA_NAME", OPT_STRING, "", "worker name; empty: router-<hostname>-<pid>", NULL },
    { "log-level", "BESEDA_LOG_LEVEL", OPT_STRING, "info", "debug, info, warn or error", NULL },
    { "secret", "BESEDA_SECRET", OPT_STRING, NULL, "key for visitor tokens, at least 16 characters, the same on every router", NULL },
    { "visitor-token-ttl", "BESEDA_VISITOR_TOKEN_TTL", OPT_INT, "15552000", "visitor token lifetime, seconds", NULL },
    { "redis-host", "BESEDA_REDIS_HOST", OPT_STRING, "127.0.0.1", "Redis host (presence, login counters)", NULL },
    { "redis-port", "BESEDA_REDIS_PORT", OPT_INT, "6379", "Redis port", NULL },
    { "presence-ttl-ms", "BESEDA_PRESENCE_TTL_MS", OPT_INT, "15000", "an operator connection is offline this long after its last beat", NULL },
    { "reassign-grace-ms", "BESEDA_REASSIGN_GRACE_MS", OPT_INT, "5000", "an operator whose last connection closed keeps their chats this long (a reload costs nothing); then they go to others", NULL },
    { "login-max-fails", "BESEDA_LOGIN_MAX_FAILS", OPT_INT, "5", "failed logins per account per window before login_throttled (0: no limit); successful logins do not count", NULL },
    { "login-max-fails-ip", "BESEDA_LOGIN_MAX_FAILS_IP", OPT_INT, "20", "failed logins per client address per window before login_throttled (0: no limit); successful logins do not count", NULL },
    { "login-max-pending-ip", "BESEDA_LOGIN_MAX_PENDING_IP", OPT_INT, "200", "logins from one client address being checked at the same moment; more are login_throttled (0: no limit)", NULL },
    { "login-fail-window", "BESEDA_LOGIN_FAIL_WINDOW", OPT_INT, "900", "seconds from an account's (or address's) first failed login until its failures are forgotten; a fixed window, not moved by later attempts", NULL },
    { "store-timeout-ms", "BESEDA_STORE_TIMEOUT_MS", OPT_INT, "5000", "a store request unanswered this long makes the reply 'unavailable'", NULL },
    { "due-poll-ms", "BESEDA_DUE_POLL_MS", OPT_INT, "500", "how often each router looks for conversations whose ring timeout or response limit passed (escalation, missed)", NULL },
    { "geoip-db", "BESEDA_GEOIP_DB", OPT_STRING, "", "path to a MaxMind DB file (.mmdb: GeoLite2/GeoIP2 City or Country, DB-IP Lite) giving visitors' country and city for routing rules; empty: off", NULL },
    { "admin-addr", "BESEDA_ADMIN_ADDR", OPT_STRING, "", "host:port of the admin HTTP listener (/metrics, /healthz, /readyz); empty: off", NULL },
    { NULL, NULL, OPT_STRING, NULL, NULL, NULL }
};

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* hiredis writes to a socket Redis may have closed: an error, not a kill. */
    signal(SIGPIPE, SIG_IGN);
}

static int config_from_options(router_config_t *cfg, char *name_buf, size_t name_size)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->broker = beseda_config_str(options, "broker");
    cfg->broker_pub = beseda_config_str(options, "broker-pub");
    cfg->secret = beseda_config_str(options, "secret");
    cfg->token_ttl_s = beseda_config_int(options, "visitor-token-ttl");
    cfg->redis_host = beseda_config_str(options, "redis-host");
    cfg->redis_port = (int) beseda_config_int(options, "redis-port");
    cfg->presence_ttl_ms = beseda_config_int(options, "presence-ttl-ms");
    cfg->reassign_grace_ms = beseda_config_int(options, "reassign-grace-ms");
    cfg->login_max_fails = beseda_config_int(options, "login-max-fails");
    cfg->login_max_fails_ip = beseda_config_int(options, "login-max-fails-ip");
    cfg->login_max_pending_ip = beseda_config_int(options, "login-max-pending-ip");
    cfg->login_window_s = beseda_config_int(options, "login-fail-window");
    cfg->store_timeout_ms = (int) beseda_config_int(options, "store-timeout-ms");
    cfg->due_poll_ms = (int) beseda_config_int(options, "due-poll-ms");
    const char *name = beseda_config_str(options, "name");
    if (!name || !*name) {
        char host[128] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(name_buf, name_size, "router-%s-%d", host, (int) getpid());
        name = name_buf;
    }
    cfg->name = name;
    if (strlen(cfg->secret) < SECRET_MIN_CHARS) {
        fprintf(stderr, "beseda-router: BESEDA_SECRET must be at least %d characters\n",
                SECRET_MIN_CHARS);
        return -1;
    }
    if (cfg->presence_ttl_ms <= 0 || cfg->store_timeout_ms <= 0 || cfg->token_ttl_s <= 0) {
        fprintf(stderr, "beseda-router: TTLs and timeouts must be positive\n");
        return -1;
    }
    const char *admin = beseda_config_str(options, "admin-addr");
    if (*admin && !beseda_admin_addr_valid(admin)) {
        fprintf(stderr, "beseda-router: --admin-addr (BESEDA_ADMIN_ADDR) must be host:port, got '%s'\n",
                admin);
        return -1;
    }
    if (cfg->due_poll_ms < 10 || cfg->due_poll_ms > 60000) {
        fprintf(stderr, "beseda-router: BESEDA_DUE_POLL_MS must be 10..60000\n");
        return -1;
    }
    if (cfg->login_window_s <= 0 || cfg->login_max_fails < 0 || cfg->login_max_fails_ip < 0
        || cfg->login_max_pending_ip < 0) {
        fprintf(stderr, "beseda-router: BESEDA_LOGIN_FAIL_WINDOW must be positive and the "
                        "BESEDA_LOGIN_MAX_* limits not negative\n");
        return -1;
    }
    if (cfg->reassign_grace_ms < 0) {
        fprintf(stderr, "beseda-router: BESEDA_REASSIGN_GRACE_MS must not be negative\n");
        return -1;
    }
    return 0;
}

/* Opens --geoip-db when given; -1 (reported) if it cannot be read. */
static int open_geoip(router_config_t *cfg, geoip_t **geoip)
{
    *geoip = NULL;
    const char *path = beseda_config_str(options, "geoip-db");
    if (!path || !*path) {
        log_info("geoip off: rules on country and city match no visitor");
        return 0;
    }
    const char *why = "";
    if (!(*geoip = geoip_new(path, &why))) {
        fprintf(stderr, "beseda-router: --geoip-db (BESEDA_GEOIP_DB): cannot open '%s': %s\n",
                path, why);
        return -1;
    }
    char build[32];
    snprintf(build, sizeof build, "%llu", geoip_build_epoch(*geoip));
    log_info("geoip database open", "path", path, "type", geoip_database_type(*geoip),
             "build_epoch", build);
    cfg->geoip = *geoip;
    return 0;
}

/* Runs the router with its metrics and, when configured, the admin listener. */
static int serve(router_config_t *cfg)
{
    beseda_metrics_t *metrics = beseda_metrics_new();
    if (!metrics)
        return 1;
    cfg->metrics = metrics;
    int rc = 1;
    router_t *router = router_new(cfg);
    const char *addr = beseda_config_str(options, "admin-addr");
    beseda_admin_t *admin = NULL;
    if (router && (!*addr || (admin = beseda_admin_new(addr, metrics, router_metrics_ready,
                                                        &router->metrics))))
        rc = router_run(router, &stop_requested) == 0 ? 0 : 1;
    beseda_admin_destroy(&admin);
    router_destroy(&router);
    beseda_metrics_destroy(&metrics);
    return rc;
}

int main(int argc, char **argv)
{
    int healthcheck = beseda_admin_take_healthcheck_flag(&argc, argv);
    int rc = beseda_config_parse(options, "beseda-router",
                                 "Routes chats: visitor and operator requests, presence, assignment.",
                                 argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (healthcheck)
        return beseda_admin_probe(beseda_config_str(options, "admin-addr"), "/readyz");
    setenv("BESEDA_LOG_LEVEL", beseda_config_str(options, "log-level"), 1);
    beseda_log_init("router");
    router_config_t cfg;
    char name_buf[200];
    geoip_t *geoip = NULL;
    if (config_from_options(&cfg, name_buf, sizeof name_buf) != 0 || open_geoip(&cfg, &geoip) != 0)
        return 2;
    if (sodium_init() < 0) {
        log_error("libsodium cannot start");
        geoip_destroy(&geoip);
        return 1;
    }
    zsys_handler_set(NULL);
    install_signals();
    rc = serve(&cfg);
    geoip_destroy(&geoip);
    return rc;
}
