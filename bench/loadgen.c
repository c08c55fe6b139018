/* beseda-loadgen: thousands of chat clients in one process and one event
 * loop, driven by commands on stdin (see steps.c), reporting JSON lines on
 * stdout. Speaks beseda's protocol or, for the baselines, MQTT over
 * WebSocket. Used by bench/run.mjs; see docs/PERFORMANCE.md. */
#include "config.h"
#include "gen.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FD_HEADROOM 64

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void) sig;
    interrupted = 1;
}

int64_t gen_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: fast, and a seed flag makes runs repeatable. */
uint64_t gen_random(gen_t *gen)
{
    uint64_t x = gen->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    gen->rng = x;
    return x * 2685821657736338717ULL;
}

void gen_error(gen_t *gen, const char *kind)
{
    for (int i = 0; i < gen->n_errors; i++)
        if (!strcmp(gen->errors[i].name, kind)) {
            gen->errors[i].count++;
            return;
        }
    int i = gen->n_errors < GEN_MAX_ERROR_KINDS ? gen->n_errors++ : GEN_MAX_ERROR_KINDS - 1;
    snprintf(gen->errors[i].name, sizeof gen->errors[i].name, "%s", i == GEN_MAX_ERROR_KINDS - 1 ? "other" : kind);
    gen->errors[i].count++;
}

static beseda_opt_t options[] = {
    { "mode", "BESEDA_LOADGEN_MODE", OPT_STRING, "beseda", "beseda or mqtt", NULL },
    { "url", "BESEDA_LOADGEN_URL", OPT_STRING, "ws://127.0.0.1:8080", "server base address (ws://host:port)", NULL },
    { "visitor-path", "BESEDA_LOADGEN_VISITOR_PATH", OPT_STRING, "/ws/visitor", "visitor WebSocket path (mqtt: e.g. /mqtt)", NULL },
    { "operator-path", "BESEDA_LOADGEN_OPERATOR_PATH", OPT_STRING, "/ws/operator", "operator WebSocket path", NULL },
    { "origin", "BESEDA_LOADGEN_ORIGIN", OPT_STRING, "", "Origin header to send, as a browser does (empty: none)", NULL },
    { "site", "BESEDA_LOADGEN_SITE", OPT_STRING, "", "beseda: site id the visitors say hello to", NULL },
    { "operators-file", "BESEDA_LOADGEN_OPERATORS_FILE", OPT_STRING, "", "beseda: operator logins, one \"email password\" a line", NULL },
    { "operators", "BESEDA_LOADGEN_OPERATORS", OPT_INT, "0", "mqtt: operator count (0: one per 20 visitors)", NULL },
    { "visitors", "BESEDA_LOADGEN_VISITORS", OPT_INT, "1000", "the most visitors a connect command may ask for", NULL },
    { "text-bytes", "BESEDA_LOADGEN_TEXT_BYTES", OPT_INT, "64", "padding text in each message", NULL },
    { "clean-session", "BESEDA_LOADGEN_CLEAN_SESSION", OPT_INT, "0", "mqtt: 1 for clean sessions, 0 persistent", NULL },
    { "replies", "BESEDA_LOADGEN_REPLIES", OPT_INT, "1", "1: operators answer every visitor message", NULL },
    { "connect-concurrency", "BESEDA_LOADGEN_CONNECT_CONCURRENCY", OPT_INT, "100", "connections being opened at once", NULL },
    { "login-concurrency", "BESEDA_LOADGEN_LOGIN_CONCURRENCY", OPT_INT, "4", "operator logins in flight at once", NULL },
    { "seed", "BESEDA_LOADGEN_SEED", OPT_INT, "1", "random seed (arrival times, visitor choice)", NULL },
    { "run-id", "BESEDA_LOADGEN_RUN_ID", OPT_STRING, "", "mqtt: names topics and client ids (default: pid)", NULL },
    { NULL, NULL, OPT_STRING, NULL, NULL, NULL },
};

/* "ws://host:port" -> host, port. host points into a static-lifetime copy. */
static int parse_url(gen_t *gen, const char *url)
{
    static char host[256];
    const char *p = strncmp(url, "ws://", 5) == 0 ? url + 5 : NULL;
    const char *colon = p ? strrchr(p, ':') : NULL;
    if (!colon || (size_t) (colon - p) >= sizeof host)
        return -1;
    memcpy(host, p, (size_t) (colon - p));
    host[colon - p] = 0;
    gen->host = host;
    gen->port = atoi(colon + 1);
    return gen->port > 0 && gen->port < 65536 ? 0 : -1;
}

static int read_logins(gen_t *gen, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "loadgen: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512];
    uint32_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *sep = strpbrk(line, " \t");
        if (!sep || strpbrk(line, "\"\\"))
            continue;            /* not "email password", or would need JSON escaping */
        *sep = '\t';
        if (gen->n_operators == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(gen->op_logins, cap * sizeof *grown);
            if (!grown)
                break;
            gen->op_logins = grown;
        }
        if (!(gen->op_logins[gen->n_operators] = strdup(line)))
            break;
        gen->n_operators++;
    }
    fclose(f);
    return gen->n_operators > 0 ? 0 : -1;
}

static int configure(gen_t *gen)
{
    const char *mode = beseda_config_str(options, "mode");
    gen->mode = !strcmp(mode, "mqtt") ? GEN_MQTT : GEN_BESEDA;
    gen->proto = gen->mode == GEN_MQTT ? &gen_proto_mqtt : &gen_proto_beseda;
    if (strcmp(mode, "mqtt") && strcmp(mode, "beseda"))
        return fprintf(stderr, "loadgen: --mode is beseda or mqtt\n"), -1;
    if (parse_url(gen, beseda_config_str(options, "url")) < 0)
        return fprintf(stderr, "loadgen: --url must be ws://host:port\n"), -1;
    gen->visitor_path = beseda_config_str(options, "visitor-path");
    gen->operator_path = beseda_config_str(options, "operator-path");
    if (gen->mode == GEN_MQTT && !strcmp(gen->operator_path, "/ws/operator"))
        gen->operator_path = gen->visitor_path;
    const char *origin = beseda_config_str(options, "origin");
    gen->origin = *origin ? origin : NULL;
    gen->site = beseda_config_str(options, "site");
    long v = beseda_config_int(options, "visitors"), t = beseda_config_int(options, "text-bytes");
    if (v < 1 || v > 1000000 || t < 1 || t > GEN_TEXT_MAX_BYTES)
        return fprintf(stderr, "loadgen: --visitors 1..1000000, --text-bytes 1..%d\n", GEN_TEXT_MAX_BYTES), -1;
    gen->n_visitors = (uint32_t) v;
    gen->text_bytes = (int) t;
    memset(gen->padding, 'x', (size_t) t);
    gen->clean_session = beseda_config_int(options, "clean-session") != 0;
    gen->replies = beseda_config_int(options, "replies") != 0;
    gen->connect_concurrency = (int) beseda_config_int(options, "connect-concurrency");
    if (gen->connect_concurrency < 1)
        gen->connect_concurrency = 1;
    gen->login_concurrency = (int) beseda_config_int(options, "login-concurrency");
    if (gen->login_concurrency < 1)
        gen->login_concurrency = 1;
    gen->rng = (uint64_t) beseda_config_int(options, "seed") * 0x9E3779B97F4A7C15ULL + 1;
    const char *run_id = beseda_config_str(options, "run-id");
    snprintf(gen->run_id, sizeof gen->run_id, "%s", *run_id ? run_id : "");
    if (!*run_id)
        snprintf(gen->run_id, sizeof gen->run_id, "%d", (int) getpid());
    if (gen->mode == GEN_BESEDA) {
        if (!*gen->site || read_logins(gen, beseda_config_str(options, "operators-file")) < 0)
            return fprintf(stderr, "loadgen: beseda mode needs --site and --operators-file with logins\n"), -1;
    } else {
        long ops = beseda_config_int(options, "operators");
        gen->n_operators = ops > 0 ? (uint32_t) ops : (gen->n_visitors + 19) / 20;
    }
    return 0;
}

/* Thousands of sockets: raise the descriptor limit to the hard limit. */
static void raise_fd_limit(uint32_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want + FD_HEADROOM)
        fprintf(stderr, "loadgen: only %lu file descriptors for %u connections\n", (unsigned long) rl.rlim_cur, want);
}

static int create(gen_t *gen)
{
    gen->visitors = calloc(gen->n_visitors, sizeof *gen->visitors);
    gen->operators = calloc(gen->n_operators ? gen->n_operators : 1, sizeof *gen->operators);
    gen->ledger = ledger_new(gen->n_visitors);
    gen->connect_hist = hist_new();
    gen->lag = hist_new();
    gen->batch_hist = hist_new();
    if (!gen->visitors || !gen->operators || !gen->ledger || !gen->connect_hist || !gen->lag || !gen->batch_hist)
        return -1;
    for (uint32_t i = 0; i < gen->n_visitors; i++)
        gen->visitors[i] = (conn_t) { .gen = gen, .index = i };
    for (uint32_t i = 0; i < gen->n_operators; i++)
        gen->operators[i] = (conn_t) { .gen = gen, .index = i, .is_operator = 1 };
    raise_fd_limit(gen->n_visitors + gen->n_operators);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = gen_lws_protocols;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN;
    info.timeout_secs = 30;
    /* libev's epoll backend: with lws's default poll() every wakeup walks all
     * thousands of descriptors, which made the generator the bottleneck. */
    gen->loop = ev_loop_new(EVFLAG_AUTO);
    if (!gen->loop)
        return -1;
    void *foreign_loops[] = { gen->loop };
    info.options |= LWS_SERVER_OPTION_LIBEV;
    info.foreign_loops = foreign_loops;
    gen->ctx = lws_create_context(&info);
    return gen->ctx ? 0 : -1;
}

static void destroy(gen_t *gen)
{
    if (gen->ctx)
        lws_context_destroy(gen->ctx);
    if (gen->loop)
        ev_loop_destroy(gen->loop);
    for (uint32_t i = 0; gen->visitors && i < gen->n_visitors; i++)
        conn_free_queues(&gen->visitors[i]);
    for (uint32_t i = 0; gen->operators && i < gen->n_operators; i++)
        conn_free_queues(&gen->operators[i]);
    free(gen->visitors);
    free(gen->operators);
    for (uint32_t i = 0; gen->op_logins && i < gen->n_operators; i++)
        free(gen->op_logins[i]);
    free(gen->op_logins);
    ledger_destroy(&gen->ledger);
    hist_destroy(&gen->connect_hist);
    hist_destroy(&gen->lag);
    hist_destroy(&gen->batch_hist);
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    gen_t *gen = lws_container_of(sul, gen_t, tick);
    steps_tick(gen);
    if (interrupted || gen->quit) {
        ev_break(gen->loop, EVBREAK_ALL);
        return;
    }
    lws_sul_schedule(gen->ctx, 0, &gen->tick, on_tick, steps_tick_interval_us(gen));
}

int main(int argc, char **argv)
{
    int rc = beseda_config_parse(options, "loadgen", "chat load generator for the benchmark (docs/PERFORMANCE.md)", argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    gen_t *gen = calloc(1, sizeof *gen);
    if (!gen || configure(gen) < 0) {
        free(gen);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    if (create(gen) < 0) {
        fprintf(stderr, "loadgen: cannot create the event loop\n");
        destroy(gen);
        free(gen);
        return 1;
    }
    lws_sul_schedule(gen->ctx, 0, &gen->tick, on_tick, 1000);
    ev_run(gen->loop, 0);     /* until on_tick breaks it */
    gen->quit = 1;
    destroy(gen);
    free(gen);
    return 0;
}
