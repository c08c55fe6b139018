/* See admin_http.h. libmicrohttpd runs its own polling thread, so a scrape
 * never waits for the process loop and a stuck loop still answers /healthz
 * (with 503). The answers are small and built per request. */
#include "admin_http.h"
#include "bind_probe.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ADDR_MAX 256
#define PROBE_REPLY_MAX 65536

struct beseda_admin_t {
    struct MHD_Daemon *daemon;
    beseda_metrics_t *metrics;
    beseda_ready_fn *ready;
    void *ready_arg;
};

/* Splits "host:port" / "[v6]:port" / ":port" into its parts. 0 or -1. */
static int split_addr(const char *addr, char *host, size_t host_size, char *port, size_t port_size)
{
    if (!addr || strlen(addr) >= ADDR_MAX)
        return -1;
    const char *colon = NULL;
    const char *h = addr;
    size_t hlen;
    if (*addr == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return -1;
        h = addr + 1;
        hlen = (size_t) (close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return -1;
        hlen = (size_t) (colon - addr);
    }
    const char *p = colon + 1;
    if (!*p || strspn(p, "0123456789") != strlen(p) || atol(p) > 65535 || hlen >= host_size
        || strlen(p) >= port_size)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, port_size, "%s", p);
    return 0;
}

/* Resolves addr; passive (any interface) when the host is empty. */
static struct addrinfo *resolve(const char *addr, int passive)
{
    char host[ADDR_MAX], port[8];
    if (split_addr(addr, host, sizeof host, port, sizeof port) != 0)
        return NULL;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
    if (!*host) {
        hints.ai_family = AF_INET;
        if (passive)
            hints.ai_flags |= AI_PASSIVE;
    }
    struct addrinfo *res = NULL;
    if (getaddrinfo(*host ? host : (passive ? NULL : "127.0.0.1"), port, &hints, &res) != 0)
        return NULL;
    return res;
}

int beseda_admin_addr_valid(const char *addr)
{
    char host[ADDR_MAX], port[8];
    return split_addr(addr, host, sizeof host, port, sizeof port) == 0;
}

int beseda_admin_health(beseda_metrics_t *metrics, char *body, size_t size)
{
    int64_t last = beseda_metrics_last_beat_ms(metrics);
    int64_t age = beseda_mono_ms() - last;
    if (last == 0) {
        /* Still starting (e.g. waiting for its database): alive; /readyz
         * says whether it can work. */
        snprintf(body, size, "ok: starting\n");
        return 200;
    }
    if (age > ADMIN_STALL_MS) {
        snprintf(body, size, "stalled: the process loop has not run for %lld ms\n", (long long) age);
        return 503;
    }
    snprintf(body, size, "ok\n");
    return 200;
}

int beseda_admin_readiness(beseda_ready_fn *ready, void *arg, char *body, size_t size)
{
    char reason[256] = "not ready";
    if (ready && !ready(arg, reason, sizeof reason)) {
        snprintf(body, size, "%s\n", reason);
        return 503;
    }
    snprintf(body, size, "ready\n");
    return 200;
}

static enum MHD_Result respond(struct MHD_Connection *conn, int status, char *text, int owned,
                               const char *content_type)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(text), text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        if (owned)
            free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned) status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    (void) upload_data;
    (void) con_cls;
    beseda_admin_t *self = cls;
    static const char TEXT[] = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, 405, "method not allowed\n", 0, TEXT);
    if (*upload_data_size)
        return respond(conn, 400, "no body expected\n", 0, TEXT);
    char body[320];
    if (strcmp(url, "/metrics") == 0) {
        char *text = beseda_metrics_render(self->metrics);
        if (!text)
            return respond(conn, 500, "out of memory\n", 0, TEXT);
        return respond(conn, 200, text, 1, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (strcmp(url, "/healthz") == 0) {
        int status = beseda_admin_health(self->metrics, body, sizeof body);
        return respond(conn, status, body, 0, TEXT);
    }
    if (strcmp(url, "/readyz") == 0) {
        int status = beseda_admin_readiness(self->ready, self->ready_arg, body, sizeof body);
        return respond(conn, status, body, 0, TEXT);
    }
    return respond(conn, 404, "not found: try /metrics, /healthz or /readyz\n", 0, TEXT);
}

beseda_admin_t *beseda_admin_new(const char *addr, beseda_metrics_t *metrics,
                                 beseda_ready_fn *ready, void *ready_arg)
{
    struct addrinfo *ai = resolve(addr, 1);
    if (!ai) {
        log_error("bad admin address: expected host:port", "admin_addr", addr ? addr : "");
        return NULL;
    }
    beseda_admin_t *self = calloc(1, sizeof *self);
    if (!self) {
        freeaddrinfo(ai);
        return NULL;
    }
    self->metrics = metrics;
    self->ready = ready;
    self->ready_arg = ready_arg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, self,
                                    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned) ADMIN_MAX_CONNECTIONS,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) ADMIN_TIMEOUT_S,
                                    MHD_OPTION_END);
    int err = self->daemon ? 0 : errno;
    if (!self->daemon) {
        /* libmicrohttpd's errno is not always the bind's: try the bind itself. */
        int probe = beseda_bind_probe(ai->ai_addr, ai->ai_addrlen);
        if (probe)
            err = probe;
    }
    freeaddrinfo(ai);
    if (!self->daemon) {
        log_error("cannot start the admin listener", "admin_addr", addr,
                  "error", err ? strerror(err) : "libmicrohttpd could not start");
        free(self);
        return NULL;
    }
    log_info("admin listener started", "admin_addr", addr);
    return self;
}

void beseda_admin_destroy(beseda_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    beseda_admin_t *self = *self_p;
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}

/* ---- the --healthcheck client -------------------------------------------- */

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    int rc;
    do
        rc = poll(&p, 1, timeout_ms);
    while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : -1;
}

static int connect_to(const char *addr)
{
    struct addrinfo *ai = resolve(addr, 0);
    if (!ai)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, ADMIN_PROBE_TIMEOUT_MS) != 0
            || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* Reads the whole reply (HTTP/1.0: the server closes). Returns its length or -1. */
static ssize_t read_reply(int fd, char *buf, size_t size)
{
    size_t got = 0;
    int64_t deadline = beseda_mono_ms() + ADMIN_PROBE_TIMEOUT_MS;
    while (got + 1 < size) {
        int64_t left = deadline - beseda_mono_ms();
        if (left <= 0 || wait_fd(fd, POLLIN, (int) left) != 0)
            return -1;
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t) n;
    }
    buf[got] = '\0';
    return (ssize_t) got;
}

int beseda_admin_probe(const char *addr, const char *path)
{
    int fd = connect_to(addr);
    if (fd < 0) {
        fprintf(stderr, "healthcheck: cannot connect to %s\n", addr ? addr : "(none)");
        return 1;
    }
    char req[512];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
    char *reply = malloc(PROBE_REPLY_MAX);
    int status = 0;
    if (reply && len > 0 && (size_t) len < sizeof req && write(fd, req, (size_t) len) == len
        && read_reply(fd, reply, PROBE_REPLY_MAX) > 0) {
        if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
            status = 0;
        const char *body = strstr(reply, "\r\n\r\n");
        fputs(body ? body + 4 : "", stdout);
    }
    close(fd);
    free(reply);
    if (status == 0)
        fprintf(stderr, "healthcheck: no valid HTTP reply from %s%s\n", addr, path);
    return status == 200 ? 0 : 1;
}

int beseda_admin_take_healthcheck_flag(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++)
        if (strcmp(argv[i], "--healthcheck") == 0) {
            for (int j = i; j + 1 < *argc; j++)
                argv[j] = argv[j + 1];
            argv[--*argc] = NULL;
            return 1;
        }
    return 0;
}
