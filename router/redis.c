/* Redis connection with lazy reconnect; see redis.h. */
#include "redis.h"
#include "log.h"
#include "util.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct redis_t {
    char *host;
    int port;
    redisContext *ctx;       /* NULL while disconnected */
    int64_t next_try_ms;     /* monotonic: earliest reconnect attempt */
    int down_logged;         /* "Redis down" said once per outage */
    beseda_counter_t *calls;
    beseda_counter_t *errors;
    beseda_histogram_t *latency;
    beseda_gauge_t *up;
};

void redis_set_metrics(redis_t *self, beseda_counter_t *calls, beseda_counter_t *errors,
                       beseda_histogram_t *latency, beseda_gauge_t *up)
{
    self->calls = calls;
    self->errors = errors;
    self->latency = latency;
    self->up = up;
}

redis_t *redis_new(const char *host, int port)
{
    redis_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->host = strdup(host);
    if (!self->host) {
        free(self);
        return NULL;
    }
    self->port = port;
    return self;
}

void redis_destroy(redis_t **self_p)
{
    redis_t *self = *self_p;
    if (!self)
        return;
    if (self->ctx)
        redisFree(self->ctx);
    free(self->host);
    free(self);
    *self_p = NULL;
}

static struct timeval ms_to_tv(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return tv;
}

/* `why` may point into the context: log before freeing it. */
static void redis_went_down(redis_t *self, const char *why)
{
    beseda_gauge_set(self->up, 0);
    if (!self->down_logged) {
        char port[16];
        snprintf(port, sizeof port, "%d", self->port);
        log_warn("redis unavailable; presence reads as nobody online, writes skipped",
                 "host", self->host, "port", port, "reason", why);
        self->down_logged = 1;
    }
    if (self->ctx) {
        redisFree(self->ctx);
        self->ctx = NULL;
    }
    self->next_try_ms = beseda_mono_ms() + REDIS_RETRY_MS;
}

/* Returns 0 with a live context, -1 while Redis is unreachable. */
static int redis_ensure(redis_t *self)
{
    if (self->ctx)
        return 0;
    if (beseda_mono_ms() < self->next_try_ms)
        return -1;
    redisContext *ctx = redisConnectWithTimeout(self->host, self->port,
                                                ms_to_tv(REDIS_CONNECT_TIMEOUT_MS));
    if (!ctx || ctx->err) {
        if (ctx) {
            self->ctx = ctx;    /* freed by redis_went_down */
            redis_went_down(self, ctx->errstr);
        } else
            redis_went_down(self, "out of memory");
        return -1;
    }
    if (redisSetTimeout(ctx, ms_to_tv(REDIS_COMMAND_TIMEOUT_MS)) != REDIS_OK) {
        self->ctx = ctx;
        redis_went_down(self, "cannot set timeout");
        return -1;
    }
    self->ctx = ctx;
    if (self->down_logged)
        log_info("redis connected", "host", self->host);
    self->down_logged = 0;
    return 0;
}

/* Connection errors drop the context; error replies are only logged. */
static redisReply *redis_check(redis_t *self, redisReply *reply, int64_t started_ms)
{
    beseda_counter_inc(self->calls);
    beseda_histogram_observe(self->latency, (double) (beseda_mono_ms() - started_ms));
    if (!reply || reply->type == REDIS_REPLY_ERROR)
        beseda_counter_inc(self->errors);
    else
        beseda_gauge_set(self->up, 1);
    if (!reply) {
        redis_went_down(self, self->ctx && self->ctx->errstr[0] ? self->ctx->errstr : "no reply");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("redis command failed", "error", reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

redisReply *redis_cmd(redis_t *self, const char *format, ...)
{
    if (redis_ensure(self) != 0) {
        beseda_counter_inc(self->errors);
        return NULL;
    }
    int64_t started = beseda_mono_ms();
    va_list ap;
    va_start(ap, format);
    redisReply *reply = redisvCommand(self->ctx, format, ap);
    va_end(ap);
    return redis_check(self, reply, started);
}

redisReply *redis_cmd_argv(redis_t *self, int argc, const char **argv)
{
    if (redis_ensure(self) != 0) {
        beseda_counter_inc(self->errors);
        return NULL;
    }
    int64_t started = beseda_mono_ms();
    return redis_check(self, redisCommandArgv(self->ctx, argc, argv, NULL), started);
}
