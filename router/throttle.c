/* Login throttling: see throttle.h. */
#include "throttle.h"
#include "log.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_KEY_MAX 600

/* E-mail addresses are compared case-insensitively, so one account cannot be
 * attacked under several spellings (they are ASCII: throttle_email_ok). */
static void account_key(char out[THROTTLE_KEY_MAX], const char *email)
{
    int n = snprintf(out, THROTTLE_KEY_MAX, "login:fail:acct:%s", email);
    size_t end = n < 0 ? 0 : (size_t) n < THROTTLE_KEY_MAX ? (size_t) n : THROTTLE_KEY_MAX - 1;
    for (size_t i = strlen("login:fail:acct:"); i < end; i++)
        out[i] = (char) tolower((unsigned char) out[i]);
}

/* INCR and (re)start the window; the new count, or 0 when Redis is away. */
static long counter_bump(redis_t *redis, const char *key)
{
    redisReply *reply = redis_cmd(redis, "INCR %s", key);
    if (!reply)
        return 0;
    long v = reply->type == REDIS_REPLY_INTEGER ? (long) reply->integer : 0;
    freeReplyObject(reply);
    reply = redis_cmd(redis, "EXPIRE %s %d", key, THROTTLE_WINDOW_S);
    if (reply)
        freeReplyObject(reply);
    return v;
}

bool throttle_login_attempt(redis_t *redis, const char *email, const char *ip,
                            long max_account, long max_ip)
{
    char key[THROTTLE_KEY_MAX];
    account_key(key, email);
    bool blocked = counter_bump(redis, key) > max_account && max_account > 0;
    if (ip && *ip) {
        snprintf(key, sizeof key, "login:fail:ip:%s", ip);
        if (counter_bump(redis, key) > max_ip && max_ip > 0)
            blocked = true;
    }
    return blocked;
}

void throttle_login_succeeded(redis_t *redis, const char *email, const char *ip)
{
    char key[THROTTLE_KEY_MAX];
    account_key(key, email);
    redisReply *reply = redis_cmd(redis, "DEL %s", key);
    if (reply)
        freeReplyObject(reply);
    if (!ip || !*ip)
        return;
    snprintf(key, sizeof key, "login:fail:ip:%s", ip);
    /* DECR of a key that expired meanwhile would make it -1: only if > 0. */
    reply = redis_cmd(redis, "EVAL %s 1 %s",
                      "if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then "
                      "return redis.call('DECR', KEYS[1]) end return 0", key);
    if (reply)
        freeReplyObject(reply);
}

bool throttle_email_ok(const char *email)
{
    for (const unsigned char *p = (const unsigned char *) email; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}
