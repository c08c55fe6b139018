/* Login throttling: counts FAILED logins, per account and per client address,
 * in fixed windows, in Redis:
 *   login:fail:acct:<lower-case e-mail>, login:fail:ip:<ip>
 *       STRING: failures; the TTL (the window) is set by the first failure
 *       and never moved, so the counter ends at a fixed time however often
 *       the client retries;
 *   login:pending:acct:<lower-case e-mail>, login:pending:ip:<ip>
 *       ZSET: attempts being checked now (member: router/attempt, score: the
 *       millisecond time after which it no longer counts, so an attempt
 *       whose router died is forgotten).
 * An attempt is refused (login_throttled) and counts for nothing when the
 * account's failures plus its attempts being checked reach the account
 * limit (so parallel guesses cannot exceed it), when the address's failures
 * reach the address limit, or when the address already has the maximum of
 * logins being checked at once. A success clears the account's failures and
 * costs the address nothing: a team behind one NAT logging in at once is
 * never throttled. When Redis is down the check lets the login through: an
 * outage of the counters must not lock every operator out (passwords are
 * still argon2id-checked). */
#ifndef BESEDA_ROUTER_THROTTLE_H
#define BESEDA_ROUTER_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include "redis.h"

typedef struct {
    long max_account;      /* failures per account per window; 0: no limit */
    long max_ip;           /* failures per address per window; 0: no limit */
    long max_pending_ip;   /* logins from one address checked at once; 0: no limit */
    int64_t window_ms;     /* the fixed window, from an account's or address's first failure */
    int64_t pending_ms;    /* an attempt being checked counts at most this long */
} throttle_limits_t;

typedef enum { THROTTLE_OK, THROTTLE_FAILED, THROTTLE_UNDECIDED } throttle_outcome_t;

/* Registers one attempt as being checked, under `attempt` (unique among the
 * attempts being checked, e.g. "<router>/<job>"); true if it must be refused
 * instead (login_throttled), and then nothing is counted. */
bool throttle_login_begin(redis_t *redis, const throttle_limits_t *limits, const char *email,
                          const char *ip, const char *attempt);
/* The attempt ended: OK clears the account's failures, FAILED counts one
 * failure on both (starting their window if it is the first), UNDECIDED
 * (the store did not answer) counts nothing. */
void throttle_login_end(redis_t *redis, const throttle_limits_t *limits, const char *email,
                        const char *ip, const char *attempt, throttle_outcome_t outcome);
/* True if the login e-mail is plain printable ASCII. Anything else is
 * refused before it reaches the counters or the database: PostgreSQL's
 * lower() folds some non-ASCII letters (U+212A KELVIN SIGN to "k"), so one
 * account would have many counter keys. */
bool throttle_email_ok(const char *email);

#endif
