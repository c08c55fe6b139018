/* Failed-login counters in Redis, per account and per client address:
 *   login:fail:acct:<lower-case e-mail>, login:fail:ip:<ip>  (STRING, TTL 15 min)
 * Each failure increments both and restarts their 15-minute window. When
 * Redis is down the check lets the login through: an outage of the counters
 * must not lock every operator out (passwords are still argon2id-checked). */
#ifndef BESEDA_ROUTER_THROTTLE_H
#define BESEDA_ROUTER_THROTTLE_H

#include <stdbool.h>
#include "redis.h"

#define THROTTLE_WINDOW_S 900

/* A limit of 0 turns that check off. */
bool throttle_login_blocked(redis_t *redis, const char *email, const char *ip,
                            long max_account, long max_ip);
void throttle_login_failed(redis_t *redis, const char *email, const char *ip);
void throttle_login_reset(redis_t *redis, const char *email);

#endif
