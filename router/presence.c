/* Operator presence: see presence.h for the keys and the rules. */
#include "presence.h"
#include "log.h"
#include "util.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct presence_t {
    redis_t *redis;
    int64_t ttl_ms;
    int64_t grace_ms;
};

#define SWEEP_BATCH 100   /* operators handed out per sweep call */

/* The one definition of "online", shared by every script below. */
#define LUA_ONLINE \
    "local function online(op, now)\n" \
    "  if redis.call('HGET', 'op:'..op, 'status') ~= 'online' then return false end\n" \
    "  return redis.call('ZCOUNT', 'op:'..op..':conns', now, '+inf') > 0\n" \
    "end\n"

/* Redis losing its data (a restart without persistence) must not read as
 * every operator gone. PRESENCE_SINCE_KEY is written when a router starts
 * (0: nothing to rebuild); a script that finds it missing knows Redis lost
 * its data, and writes the time it noticed. For rebuild_ms from then, while
 * the gateways' beats re-announce the live consoles, nobody counts as gone. */
#define LUA_REBUILD \
    "local function rebuilding(now, rebuild_ms)\n" \
    "  local since = redis.call('GET', '" PRESENCE_SINCE_KEY "')\n" \
    "  if not since then\n" \
    "    redis.call('SET', '" PRESENCE_SINCE_KEY "', now)\n" \
    "    since = now\n" \
    "  end\n" \
    "  return now - tonumber(since) < rebuild_ms\n" \
    "end\n"

/* presence:expiry holds "<site>/<op>" scored with the moment the operator
 * stops holding their chats: the expiry of their newest connection, or the
 * end of the grace after their last connection closed. */
#define LUA_HOLD_UNTIL \
    "local function hold_until(op, site, score)\n" \
    "  redis.call('ZADD', '" PRESENCE_EXPIRY_KEY "', score, site..'/'..op)\n" \
    "end\n" \
    "local function newest_conn(op)\n" \
    "  local top = redis.call('ZRANGE', 'op:'..op..':conns', -1, -1, 'WITHSCORES')\n" \
    "  return top[2]\n" \
    "end\n"

/* ARGV: op, site, member, status, gateway, now, expiry, ttl, name.
 * Returns PRESENCE_CAME_ONLINE / PRESENCE_WENT_AWAY / PRESENCE_SAME. */
static const char LUA_TOUCH[] = LUA_ONLINE LUA_HOLD_UNTIL
    "local op, site, member, status, gw = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
    "local now, expiry, ttl, name = ARGV[6], ARGV[7], ARGV[8], ARGV[9]\n"
    "local was = online(op, now)\n"
    "local key = 'op:'..op\n"
    "if status == '' then status = redis.call('HGET', key, 'status') or 'online' end\n"
    /* "?s": a beat's status, used only when Redis lost the operator's own;
     * the status belongs to the operator, not to one of their consoles, so
     * two consoles beating different statuses must not flip it. */
    "if string.sub(status, 1, 1) == '?' then\n"
    "  status = redis.call('HGET', key, 'status') or string.sub(status, 2)\n"
    "end\n"
    "redis.call('ZADD', key..':conns', expiry, member)\n"
    "redis.call('ZREMRANGEBYSCORE', key..':conns', '-inf', '('..now)\n"
    "redis.call('PEXPIRE', key..':conns', ttl)\n"
    "redis.call('HSET', key, 'status', status, 'site', site, 'gateway', gw)\n"
    "if name ~= '' then redis.call('HSET', key, 'name', name) end\n"
    "redis.call('PEXPIRE', key, ttl)\n"
    "local sk = 'site:'..site..':ops'\n"
    "redis.call('ZADD', sk, expiry, op)\n"
    "redis.call('ZREMRANGEBYSCORE', sk, '-inf', '('..now)\n"
    "redis.call('PEXPIRE', sk, ttl)\n"
    "hold_until(op, site, newest_conn(op))\n"
    "local is = online(op, now)\n"
    "if is and not was then return 1 end\n"
    "if was and not is then return 2 end\n"
    "return 0\n";

/* ARGV: op, site, member, now, now + grace. Returns the live connections
 * left. The last one gone: offline now, chats held until the grace ends. */
static const char LUA_GONE[] = LUA_HOLD_UNTIL
    "local op, site, member, now, grace_end = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
    "local key = 'op:'..op\n"
    "redis.call('ZREM', key..':conns', member)\n"
    "local left = redis.call('ZCOUNT', key..':conns', now, '+inf')\n"
    "if left == 0 then\n"
    "  redis.call('DEL', key, key..':conns')\n"
    "  redis.call('ZREM', 'site:'..site..':ops', op)\n"
    "  hold_until(op, site, grace_end)\n"
    "else\n"
    "  hold_until(op, site, newest_conn(op))\n"
    "end\n"
    "return left\n";

/* ARGV: now, batch. Takes (ZREM) up to batch "<site>/<op>" whose hold ended
 * and who have no live connection, and returns them: the script runs
 * atomically, so each expiry goes to exactly one router. One that still has
 * a live connection (a clock step, a missed update) is rescored instead. */
static const char LUA_SWEEP[] = LUA_REBUILD
    "local now, batch = ARGV[1], tonumber(ARGV[2])\n"
    "rebuilding(tonumber(now), 0)\n"
    "local out = {}\n"
    "local due = redis.call('ZRANGEBYSCORE', '" PRESENCE_EXPIRY_KEY "', '-inf', now, 'LIMIT', 0, batch)\n"
    "for _, m in ipairs(due) do\n"
    "  local site, op = string.match(m, '^([^/]+)/(.+)$')\n"
    "  local conns = op and ('op:'..op..':conns') or ''\n"
    "  if op and redis.call('ZCOUNT', conns, now, '+inf') > 0 then\n"
    "    local top = redis.call('ZRANGE', conns, -1, -1, 'WITHSCORES')\n"
    "    redis.call('ZADD', '" PRESENCE_EXPIRY_KEY "', top[2], m)\n"
    "  else\n"
    "    redis.call('ZREM', '" PRESENCE_EXPIRY_KEY "', m)\n"
    "    if op then\n"
    "      redis.call('ZREM', 'site:'..site..':ops', op)\n"
    "      out[#out + 1] = m\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* ARGV: op, site, now, rebuild_ms. 1 while the operator holds their chats.
 * While presence is being rebuilt (rebuild_ms after Redis lost it), an
 * operator Redis knows nothing of holds them: unknown is not offline. */
static const char LUA_HOLDS[] = LUA_REBUILD
    "local op, site, now = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "if rebuilding(now, tonumber(ARGV[4])) then return 1 end\n"
    "if redis.call('ZCOUNT', 'op:'..op..':conns', now, '+inf') > 0 then return 1 end\n"
    "local until_ms = redis.call('ZSCORE', '" PRESENCE_EXPIRY_KEY "', site..'/'..op)\n"
    "if until_ms and tonumber(until_ms) > now then return 1 end\n"
    "return 0\n";

/* ARGV: site, now. Returns the ids of the site's online operators. */
static const char LUA_SITE_ONLINE[] = LUA_ONLINE
    "local out = {}\n"
    "for _, op in ipairs(redis.call('ZRANGEBYSCORE', 'site:'..ARGV[1]..':ops', ARGV[2], '+inf')) do\n"
    "  if online(op, ARGV[2]) then out[#out + 1] = op end\n"
    "end\n"
    "return out\n";

/* ARGV: op, status, now. Sets the status of an operator with a live
 * connection (the API: no connection of its own). Returns -2 when the
 * operator has none, else PRESENCE_CAME_ONLINE / _WENT_AWAY / _SAME. */
static const char LUA_SET_STATUS[] = LUA_ONLINE
    "local op, status, now = ARGV[1], ARGV[2], ARGV[3]\n"
    "if redis.call('ZCOUNT', 'op:'..op..':conns', now, '+inf') == 0\n"
    "   or redis.call('EXISTS', 'op:'..op) == 0 then return -2 end\n"
    "local was = online(op, now)\n"
    "redis.call('HSET', 'op:'..op, 'status', status)\n"
    "local is = online(op, now)\n"
    "if is and not was then return 1 end\n"
    "if was and not is then return 2 end\n"
    "return 0\n";

/* ARGV: op, now. Returns 1 if online. */
static const char LUA_IS_ONLINE[] = LUA_ONLINE
    "if online(ARGV[1], ARGV[2]) then return 1 end\n"
    "return 0\n";

presence_t *presence_new(redis_t *redis, int64_t ttl_ms, int64_t grace_ms)
{
    presence_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->redis = redis;
    self->ttl_ms = ttl_ms;
    self->grace_ms = grace_ms;
    /* NX: a router joining a running cluster changes nothing; on a fresh
     * Redis, 0 says presence is not being rebuilt. */
    redisReply *reply = redis_cmd(redis, "SET " PRESENCE_SINCE_KEY " 0 NX");
    if (reply)
        freeReplyObject(reply);
    return self;
}

void presence_destroy(presence_t **self_p)
{
    free(*self_p);
    *self_p = NULL;
}

/* Runs a script with no KEYS and the given ARGV; NULL when unavailable. */
static redisReply *presence_eval(presence_t *self, const char *script, int argc, const char **args)
{
    const char *argv[16];
    if (argc > 13)
        return NULL;
    argv[0] = "EVAL";
    argv[1] = script;
    argv[2] = "0";
    for (int i = 0; i < argc; i++)
        argv[3 + i] = args[i] ? args[i] : "";
    return redis_cmd_argv(self->redis, argc + 3, argv);
}

static long long reply_integer(redisReply *reply, long long fallback)
{
    long long v = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : fallback;
    if (reply)
        freeReplyObject(reply);
    return v;
}

static void conn_member(char *out, size_t size, const char *gateway_id, const char *conn_id)
{
    snprintf(out, size, "%s/%s", gateway_id ? gateway_id : "", conn_id ? conn_id : "");
}

int presence_touch(presence_t *self, const char *operator_id, const char *site_id,
                   const char *gateway_id, const char *conn_id, const char *status,
                   const char *name)
{
    char member[512], now[24], expiry[24], ttl[24];
    conn_member(member, sizeof member, gateway_id, conn_id);
    int64_t t = beseda_now_ms();
    snprintf(now, sizeof now, "%" PRId64, t);
    snprintf(expiry, sizeof expiry, "%" PRId64, t + self->ttl_ms);
    snprintf(ttl, sizeof ttl, "%" PRId64, self->ttl_ms);
    const char *args[] = { operator_id, site_id, member, status, gateway_id, now, expiry, ttl, name };
    return (int) reply_integer(presence_eval(self, LUA_TOUCH, 9, args), -1);
}

int presence_gone(presence_t *self, const char *operator_id, const char *site_id,
                  const char *gateway_id, const char *conn_id)
{
    char member[512], now[24], grace_end[24];
    conn_member(member, sizeof member, gateway_id, conn_id);
    int64_t t = beseda_now_ms();
    snprintf(now, sizeof now, "%" PRId64, t);
    snprintf(grace_end, sizeof grace_end, "%" PRId64, t + self->grace_ms);
    const char *args[] = { operator_id, site_id, member, now, grace_end };
    return (int) reply_integer(presence_eval(self, LUA_GONE, 5, args), -1);
}

void presence_ids_free(char ***ids_p, size_t count)
{
    char **ids = *ids_p;
    if (!ids)
        return;
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
    *ids_p = NULL;
}

/* Copies the string elements of an array reply; returns how many. */
static size_t copy_ids(redisReply *reply, char ***ids_out)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
        return 0;
    char **ids = calloc(reply->elements, sizeof *ids);
    if (!ids)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_STRING || !(ids[n] = strdup(e->str)))
            continue;
        n++;
    }
    *ids_out = ids;
    return n;
}

/* Online ids of the site; -1 when Redis is unavailable. */
static long presence_online_ids(presence_t *self, const char *site_id, char ***ids_out)
{
    *ids_out = NULL;
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    const char *args[] = { site_id, now };
    redisReply *reply = presence_eval(self, LUA_SITE_ONLINE, 2, args);
    if (!reply)
        return -1;
    size_t n = copy_ids(reply, ids_out);
    freeReplyObject(reply);
    if (n == 0)
        presence_ids_free(ids_out, 0);
    return (long) n;
}

size_t presence_online(presence_t *self, const char *site_id, char ***ids_out)
{
    long n = presence_online_ids(self, site_id, ids_out);
    return n < 0 ? 0 : (size_t) n;
}

int presence_count(presence_t *self, const char *site_id)
{
    char **ids;
    long n = presence_online_ids(self, site_id, &ids);
    presence_ids_free(&ids, n < 0 ? 0 : (size_t) n);
    return (int) n;
}

uint32_t presence_count_online(presence_t *self, const char *site_id)
{
    int n = presence_count(self, site_id);
    return n < 0 ? 0 : (uint32_t) n;
}

bool presence_is_online(presence_t *self, const char *operator_id)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    const char *args[] = { operator_id, now };
    return reply_integer(presence_eval(self, LUA_IS_ONLINE, 2, args), 0) == 1;
}

int presence_set_status(presence_t *self, const char *operator_id, const char *status)
{
    char now[24];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    const char *args[] = { operator_id, status, now };
    return (int) reply_integer(presence_eval(self, LUA_SET_STATUS, 3, args), -1);
}

char *presence_operator_name(presence_t *self, const char *operator_id)
{
    redisReply *reply = redis_cmd(self->redis, "HGET op:%s name", operator_id);
    if (!reply)
        return NULL;
    char *name = reply->type == REDIS_REPLY_STRING && reply->len > 0 ? strdup(reply->str) : NULL;
    freeReplyObject(reply);
    return name;
}

bool presence_holds_chats(presence_t *self, const char *site_id, const char *operator_id)
{
    char now[24], rebuild[24];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    snprintf(rebuild, sizeof rebuild, "%" PRId64, self->ttl_ms);
    const char *args[] = { operator_id, site_id, now, rebuild };
    /* Unknown (Redis down, or its data lost and not yet rebuilt) keeps the
     * chats: moving them on a guess would take chats from operators who
     * are there. */
    return reply_integer(presence_eval(self, LUA_HOLDS, 4, args), 1) != 0;
}

size_t presence_sweep(presence_t *self, char ***members_out)
{
    *members_out = NULL;
    char now[24], batch[16];
    snprintf(now, sizeof now, "%" PRId64, beseda_now_ms());
    snprintf(batch, sizeof batch, "%d", SWEEP_BATCH);
    const char *args[] = { now, batch };
    redisReply *reply = presence_eval(self, LUA_SWEEP, 2, args);
    if (!reply)
        return 0;
    size_t n = copy_ids(reply, members_out);
    freeReplyObject(reply);
    if (n == 0)
        presence_ids_free(members_out, 0);
    return n;
}

void presence_retry_handoff(presence_t *self, const char *site_id, const char *operator_id,
                            int64_t delay_ms)
{
    char due[24], member[512];
    snprintf(due, sizeof due, "%" PRId64, beseda_now_ms() + delay_ms);
    snprintf(member, sizeof member, "%s/%s", site_id, operator_id);
    /* NX: an operator who came back has a later hold; never shorten it. */
    redisReply *reply = redis_cmd(self->redis, "ZADD " PRESENCE_EXPIRY_KEY " NX %s %s", due, member);
    if (reply)
        freeReplyObject(reply);
}
