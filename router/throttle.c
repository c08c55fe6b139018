/* Login throttling: see throttle.h. */
#include "throttle.h"
#include "log.h"
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_KEY_MAX 600

/* One script per step, so that several routers see one consistent count.
 * KEYS: account failures, account pending[, address failures, address
 * pending]. Times are Redis's own (TIME), the same for every router. */
static const char BEGIN_SCRIPT[] =
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local until_ms = now + tonumber(ARGV[2]) "
    "local function load(fails, pending) "
    "  redis.call('ZREMRANGEBYSCORE', pending, '-inf', now) "
    "  return tonumber(redis.call('GET', fails) or '0'), redis.call('ZCARD', pending) "
    "end "
    "local max_acct, max_ip, max_pending_ip = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]) "
    "local fa, pa = load(KEYS[1], KEYS[2]) "
    "if max_acct > 0 and fa + pa >= max_acct then return 1 end "
    "if #KEYS > 2 then "
    "  local fi, pi = load(KEYS[3], KEYS[4]) "
    "  if max_ip > 0 and fi >= max_ip then return 2 end "
    "  if max_pending_ip > 0 and pi >= max_pending_ip then return 3 end "
    "  redis.call('ZADD', KEYS[4], until_ms, ARGV[1]) "
    "  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[2])) "
    "end "
    "redis.call('ZADD', KEYS[2], until_ms, ARGV[1]) "
    "redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2])) "
    "return 0";

/* ARGV: attempt, outcome (ok, failed, undecided), window ms. The window of
 * a failure counter is set by its first failure only: it is never moved. */
static const char END_SCRIPT[] =
    "redis.call('ZREM', KEYS[2], ARGV[1]) "
    "if #KEYS > 2 then redis.call('ZREM', KEYS[4], ARGV[1]) end "
    "if ARGV[2] == 'ok' then redis.call('DEL', KEYS[1]) "
    "elseif ARGV[2] == 'failed' then "
    "  for _, k in ipairs({KEYS[1], KEYS[3]}) do "   /* KEYS[3] nil: the account only */
    "    redis.call('INCR', k) "
    "    if redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, tonumber(ARGV[3])) end "
    "  end "
    "end "
    "return 0";

/* E-mail addresses are compared case-insensitively, so one account cannot be
 * attacked under several spellings (they are ASCII: throttle_email_ok). */
static void account_key(char out[THROTTLE_KEY_MAX], const char *kind, const char *email)
{
    int n = snprintf(out, THROTTLE_KEY_MAX, "login:%s:acct:%s", kind, email);
    size_t end = n < 0 ? 0 : (size_t) n < THROTTLE_KEY_MAX ? (size_t) n : THROTTLE_KEY_MAX - 1;
    for (size_t i = strlen("login::acct:") + strlen(kind); i < end; i++)
        out[i] = (char) tolower((unsigned char) out[i]);
}

typedef struct {
    char keys[4][THROTTLE_KEY_MAX];
    int n_keys;
} throttle_keys_t;

static void keys_for(throttle_keys_t *k, const char *email, const char *ip)
{
    account_key(k->keys[0], "fail", email);
    account_key(k->keys[1], "pending", email);
    k->n_keys = 2;
    if (ip && *ip) {
        snprintf(k->keys[2], THROTTLE_KEY_MAX, "login:fail:ip:%s", ip);
        snprintf(k->keys[3], THROTTLE_KEY_MAX, "login:pending:ip:%s", ip);
        k->n_keys = 4;
    }
}

/* EVAL script with the keys and args; the integer it returns, -1 if none. */
static long eval(redis_t *redis, const char *script, const throttle_keys_t *k,
                 int argc, const char **args)
{
    const char *argv[3 + 4 + 8];
    char numkeys[8];
    snprintf(numkeys, sizeof numkeys, "%d", k->n_keys);
    int n = 0;
    argv[n++] = "EVAL";
    argv[n++] = script;
    argv[n++] = numkeys;
    for (int i = 0; i < k->n_keys; i++)
        argv[n++] = k->keys[i];
    for (int i = 0; i < argc && i < 8; i++)
        argv[n++] = args[i];
    redisReply *reply = redis_cmd_argv(redis, n, argv);
    if (!reply)
        return -1;
    long v = reply->type == REDIS_REPLY_INTEGER ? (long) reply->integer : -1;
    freeReplyObject(reply);
    return v;
}

bool throttle_login_begin(redis_t *redis, const throttle_limits_t *limits, const char *email,
                          const char *ip, const char *attempt)
{
    throttle_keys_t k;
    keys_for(&k, email, ip);
    char pending_ms[24], max_acct[24], max_ip[24], max_pending_ip[24];
    snprintf(pending_ms, sizeof pending_ms, "%" PRId64,
             limits->pending_ms > 0 ? limits->pending_ms : 1);
    snprintf(max_acct, sizeof max_acct, "%ld", limits->max_account);
    snprintf(max_ip, sizeof max_ip, "%ld", limits->max_ip);
    snprintf(max_pending_ip, sizeof max_pending_ip, "%ld", limits->max_pending_ip);
    const char *args[] = { attempt, pending_ms, max_acct, max_ip, max_pending_ip };
    long v = eval(redis, BEGIN_SCRIPT, &k, 5, args);
    if (v == 3)
        log_warn("login throttled: too many logins being checked from one address", "ip", ip);
    return v > 0;      /* -1: Redis is away, let it through */
}

void throttle_login_end(redis_t *redis, const throttle_limits_t *limits, const char *email,
                        const char *ip, const char *attempt, throttle_outcome_t outcome)
{
    throttle_keys_t k;
    keys_for(&k, email, ip);
    char window_ms[24];
    snprintf(window_ms, sizeof window_ms, "%" PRId64,
             limits->window_ms > 0 ? limits->window_ms : 1);
    const char *args[] = { attempt,
                           outcome == THROTTLE_OK ? "ok"
                           : outcome == THROTTLE_FAILED ? "failed" : "undecided",
                           window_ms };
    eval(redis, END_SCRIPT, &k, 3, args);
}

bool throttle_email_ok(const char *email)
{
    for (const unsigned char *p = (const unsigned char *) email; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}
