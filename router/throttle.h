/* Login throttling: counters in Redis, per account and per client address:
 *   login:fail:acct:<lower-case e-mail>, login:fail:ip:<ip>  (STRING, TTL 15 min)
 * Every attempt increments both *before* the password is checked, and is
 * refused when either is then over its limit: counting only after a failed
 * check let an attacker fire any number of guesses in parallel while the
 * counter still read below the limit. A successful login deletes the
 * account's counter and gives back its one count on the address (so that
 * operators behind one NAT logging in do not use up the address's budget).
 * When Redis is down the check lets the login through: an outage of the
 * counters must not lock every operator out (passwords are still
 * argon2id-checked). */
#ifndef BESEDA_ROUTER_THROTTLE_H
#define BESEDA_ROUTER_THROTTLE_H

#include <stdbool.h>
#include "redis.h"

#define THROTTLE_WINDOW_S 900

/* Counts one attempt; true if it must be refused (login_throttled). A limit
 * of 0 turns that check off (the attempt is still counted). */
bool throttle_login_attempt(redis_t *redis, const char *email, const char *ip,
                            long max_account, long max_ip);
/* The attempt succeeded: the account starts over, the address gets its
 * count back. */
void throttle_login_succeeded(redis_t *redis, const char *email, const char *ip);
/* True if the login e-mail is plain printable ASCII. Anything else is
 * refused before it reaches the counters or the database: PostgreSQL's
 * lower() folds some non-ASCII letters (U+212A KELVIN SIGN to "k"), so one
 * account would have many counter keys. */
bool throttle_email_ok(const char *email);

#endif
