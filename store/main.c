/* beseda-store: the bus worker of service "store", owner of PostgreSQL.
 * main only reads the configuration, connects and migrates, and runs the
 * worker loop until SIGINT/SIGTERM. Admin subcommands: see admin.h. */
#include "admin.h"
#include "admin_http.h"
#include "auth_pool.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mail.h"
#include "setup.h"
#include "store.h"
#include "worker.h"
#include <curl/curl.h>
#include <czmq.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The pipeline is sent in blocking mode before any result is read; the
 * server's results (~0.7 KiB per append) must fit in the socket buffers
 * meanwhile, or both sides would wait on each other. 256 keeps that under
 * ~200 KiB. */
#define STORE_BATCH_MAX_LIMIT 256

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void) sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    zsys_handler_set(NULL);          /* czmq's own handler would swallow the signals */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The mailer thread (mailer.c); NULL when --mail-poll-ms is 0. */
static store_mailer_t *start_mailer(const beseda_opt_t *opts, store_metrics_t *metrics)
{
    mailer_opts_t mo = { .conninfo = beseda_config_str(opts, "pg"), .metrics = metrics,
                         .poll_ms = (int) beseda_config_int(opts, "mail-poll-ms"),
                         .max_attempts = (int) beseda_config_int(opts, "mail-attempts") };
    if (mo.poll_ms == 0 || mailer_parse_backoff(beseda_config_str(opts, "mail-backoff"), &mo) < 0)
        return NULL;                      /* off (check_limits() refused a bad list) */
    return store_mailer_start(&mo);
}

static int serve(const beseda_opt_t *opts, beseda_metrics_t *registry, store_metrics_t *metrics)
{
    store_ctx_t ctx = { .db = store_db_new(beseda_config_str(opts, "pg")),
                        .session_ttl_s = beseda_config_int(opts, "session-ttl"),
                        .metrics = metrics };
    if (!ctx.db)
        return 1;
    store_db_set_metrics(ctx.db, metrics->pg_up, metrics->pg_reconnects);
    int rc = 1;
    if (store_setup(ctx.db, beseda_config_str(opts, "migrations"), &stop_requested, -1) == 0) {
        beseda_gauge_set(metrics->migrated, 1);
        char name[256];
        const char *configured = beseda_config_str(opts, "name");
        if (*configured)
            snprintf(name, sizeof name, "%s", configured);
        else {
            char host[128] = "host";
            gethostname(host, sizeof host - 1);
            snprintf(name, sizeof name, "store-%s-%d", host, (int) getpid());
        }
        store_worker_t *worker = store_worker_new(&ctx, beseda_config_str(opts, "broker"), name,
                                                  (size_t) beseda_config_int(opts, "batch-max"),
                                                  (int) beseda_config_int(opts, "batch-wait-ms"),
                                                  (int) beseda_config_int(opts, "auth-threads"));
        store_mailer_t *mailer = worker ? start_mailer(opts, metrics) : NULL;
        if (worker) {
            store_worker_set_registry(worker, registry);
            log_info("store started", "name", name, "broker", beseda_config_str(opts, "broker"));
            rc = store_worker_run(worker, &stop_requested);
            store_mailer_stop(&mailer);
            store_worker_destroy(&worker);
        } else
            log_error("cannot start the bus worker", "broker", beseda_config_str(opts, "broker"));
    } else if (stop_requested)
        rc = 0;
    store_db_destroy(&ctx.db);
    return rc;
}

/* The admin listener runs from before the database is reached, so /readyz
 * can say what the store is waiting for. */
static int serve_with_admin(const beseda_opt_t *opts)
{
    beseda_metrics_t *registry = beseda_metrics_new();
    if (!registry)
        return 1;
    store_metrics_t metrics;
    store_metrics_init(&metrics, registry);
    const char *addr = beseda_config_str(opts, "admin-addr");
    beseda_admin_t *admin = NULL;
    int rc = 1;
    if (!*addr || (admin = beseda_admin_new(addr, registry, store_metrics_ready, &metrics)))
        rc = serve(opts, registry, &metrics);
    beseda_admin_destroy(&admin);
    beseda_metrics_destroy(&registry);
    return rc;
}

static int check_limits(const beseda_opt_t *opts)
{
    long batch = beseda_config_int(opts, "batch-max");
    long auth = beseda_config_int(opts, "auth-threads");
    if (batch < 1 || batch > STORE_BATCH_MAX_LIMIT || beseda_config_int(opts, "batch-wait-ms") > 1000
        || beseda_config_int(opts, "batch-wait-ms") < 0 || beseda_config_int(opts, "session-ttl") < 60
        || auth < 0 || auth > AUTH_POOL_MAX_THREADS) {
        fprintf(stderr, "beseda-store: batch-max must be 1..%d, batch-wait-ms 0..1000, "
                        "session-ttl at least 60, auth-threads 0..%d\n", STORE_BATCH_MAX_LIMIT,
                AUTH_POOL_MAX_THREADS);
        return -1;
    }
    mailer_opts_t mo;
    long poll = beseda_config_int(opts, "mail-poll-ms"), attempts = beseda_config_int(opts, "mail-attempts");
    if (poll < 0 || poll > 3600000 || attempts < 1 || attempts > 100
        || mailer_parse_backoff(beseda_config_str(opts, "mail-backoff"), &mo) < 0) {
        fprintf(stderr, "beseda-store: mail-poll-ms must be 0..3600000, mail-attempts 1..100, "
                        "mail-backoff 1..%d comma-separated seconds (each 0..86400)\n", MAIL_BACKOFF_MAX);
        return -1;
    }
    const char *admin = beseda_config_str(opts, "admin-addr");
    if (*admin && !beseda_admin_addr_valid(admin)) {
        fprintf(stderr, "beseda-store: --admin-addr (BESEDA_ADMIN_ADDR) must be host:port, got '%s'\n",
                admin);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int healthcheck = beseda_admin_take_healthcheck_flag(&argc, argv);
    if (!healthcheck && store_admin_is_command(argc, argv)) {
        /* Subcommands print their result on stdout; keep stderr to problems. */
        setenv("BESEDA_LOG_LEVEL", getenv("BESEDA_LOG_LEVEL") ? getenv("BESEDA_LOG_LEVEL") : "warn", 1);
        beseda_log_init("store");
        return store_admin_run(argc, argv);
    }

    beseda_opt_t opts[] = {
        { "pg", "BESEDA_PG", OPT_STRING, "host=127.0.0.1 port=5432 dbname=beseda user=beseda",
          "libpq connection string", NULL },
        { "batch-max", "BESEDA_BATCH_MAX", OPT_INT, "64", "appends per group commit", NULL },
        { "batch-wait-ms", "BESEDA_BATCH_WAIT_MS", OPT_INT, "0",
          "under load (the previous batch held several appends), wait this long for more before a "
          "group commit; a lone append is committed at once (0: never wait)", NULL },
        { "auth-threads", "BESEDA_AUTH_THREADS", OPT_INT, "2",
          "threads verifying operator passwords (argon2id) off the request loop; 0: on the loop", NULL },
        { "session-ttl", "BESEDA_SESSION_TTL", OPT_INT, "2592000",
          "operator session lifetime, seconds", NULL },
        { "mail-poll-ms", "BESEDA_MAIL_POLL_MS", OPT_INT, "5000",
          "how often the mailer thread looks for due mail in the outbox, ms (0: this store sends no mail)",
          NULL },
        { "mail-backoff", "BESEDA_MAIL_BACKOFF", OPT_STRING, "60,300,900,3600",
          "seconds before the next attempt after the 1st, 2nd, ... failed send (the last repeats)", NULL },
        { "mail-attempts", "BESEDA_MAIL_ATTEMPTS", OPT_INT, "5",
          "a mail that failed this many times is given up (state failed)", NULL },
        { "migrations", "BESEDA_MIGRATIONS", OPT_STRING, "",
          "migrations directory (empty: <binary>/../store/migrations, "
          "<binary>/../share/beseda/migrations, ./store/migrations)", NULL },
        { "broker", "BESEDA_BROKER", OPT_STRING, "tcp://127.0.0.1:5570", "broker ROUTER endpoint", NULL },
        { "broker-pub", "BESEDA_BROKER_PUB", OPT_STRING, "tcp://127.0.0.1:5571",
          "broker XSUB endpoint (unused by the store)", NULL },
        { "broker-sub", "BESEDA_BROKER_SUB", OPT_STRING, "tcp://127.0.0.1:5572",
          "broker XPUB endpoint (unused by the store)", NULL },
        { "name", "BESEDA_NAME", OPT_STRING, "", "worker name (empty: store-<host>-<pid>)", NULL },
        { "log-level", "BESEDA_LOG_LEVEL", OPT_STRING, "info", "debug, info, warn or error", NULL },
        { "admin-addr", "BESEDA_ADMIN_ADDR", OPT_STRING, "",
          "host:port of the admin HTTP listener (/metrics, /healthz, /readyz); empty: off", NULL },
        { NULL, NULL, OPT_STRING, NULL, NULL, NULL }
    };
    int rc = beseda_config_parse(opts, "beseda-store",
        "The store worker: owns PostgreSQL, answers service \"store\" on the bus.\n"
        "Subcommands: migrate | create-site | create-operator (each with --help).", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (healthcheck)
        return beseda_admin_probe(beseda_config_str(opts, "admin-addr"), "/readyz");
    if (check_limits(opts) < 0)
        return 2;
    setenv("BESEDA_LOG_LEVEL", beseda_config_str(opts, "log-level"), 1);
    beseda_log_init("store");
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("libcurl failed to initialise");
        return 1;
    }
    install_signals();
    rc = serve_with_admin(opts);
    curl_global_cleanup();
    return rc;
}
