/* Login throttling: see throttle.h. */
#include "throttle.h"
#include "log.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_KEY_MAX 600

/* E-mail addresses are compared case-insensitively, so one account cannot be
 * attacked under several spellings. */
static void account_key(char out[THROTTLE_KEY_MAX], const char *email)
{
    int n = snprintf(out, THROTTLE_KEY_MAX, "login:fail:acct:%s", email);
    size_t end = n < 0 ? 0 : (size_t) n < THROTTLE_KEY_MAX ? (size_t) n : THROTTLE_KEY_MAX - 1;
    for (size_t i = strlen("login:fail:acct:"); i < end; i++)
        out[i] = (char) tolower((unsigned char) out[i]);
}

static long counter_value(redis_t *redis, const char *key)
{
    redisReply *reply = redis_cmd(redis, "GET %s", key);
    if (!reply)
        return 0;
    long v = reply->type == REDIS_REPLY_STRING ? strtol(reply->str, NULL, 10) : 0;
    freeReplyObject(reply);
    return v;
}

static void counter_bump(redis_t *redis, const char *key)
{
    redisReply *reply = redis_cmd(redis, "INCR %s", key);
    if (!reply)
        return;
    freeReplyObject(reply);
    reply = redis_cmd(redis, "EXPIRE %s %d", key, THROTTLE_WINDOW_S);
    if (reply)
        freeReplyObject(reply);
}

bool throttle_login_blocked(redis_t *redis, const char *email, const char *ip,
                            long max_account, long max_ip)
{
    char key[THROTTLE_KEY_MAX];
    account_key(key, email);
    if (max_account > 0 && counter_value(redis, key) >= max_account)
        return true;
    if (ip && *ip && max_ip > 0) {
        snprintf(key, sizeof key, "login:fail:ip:%s", ip);
        if (counter_value(redis, key) >= max_ip)
            return true;
    }
    return false;
}

void throttle_login_failed(redis_t *redis, const char *email, const char *ip)
{
    char key[THROTTLE_KEY_MAX];
    account_key(key, email);
    counter_bump(redis, key);
    if (ip && *ip) {
        snprintf(key, sizeof key, "login:fail:ip:%s", ip);
        counter_bump(redis, key);
    }
}

void throttle_login_reset(redis_t *redis, const char *email)
{
    char key[THROTTLE_KEY_MAX];
    account_key(key, email);
    redisReply *reply = redis_cmd(redis, "DEL %s", key);
    if (reply)
        freeReplyObject(reply);
}
