/* Password verification off the store's loop. crypto_pwhash_str_verify
 * (argon2id, 64 MiB, ~0.1-0.2 s of CPU) on the request loop would stall every
 * append and hello behind a wave of logins; here it runs on a few threads of
 * its own. The loop looks the operator up, submits (hash, password), keeps
 * polling the bus, and finishes the login when the verdict comes back: the
 * threads touch neither PostgreSQL nor the bus. */
#ifndef STORE_AUTH_POOL_H
#define STORE_AUTH_POOL_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_POOL_MAX_THREADS 8

typedef enum {
    AUTH_GOOD = 0,       /* the password matches */
    AUTH_BAD = 1,        /* it does not (or the hash is malformed) */
    AUTH_EXPIRED = 2     /* not verified: its deadline passed while it waited */
} auth_verdict_t;

typedef struct store_auth_pool_t store_auth_pool_t;

/* Starts `threads` (1..AUTH_POOL_MAX_THREADS) verifier threads. */
store_auth_pool_t *store_auth_pool_new(int threads);
/* Stops the threads (a verification under way is finished first). */
void store_auth_pool_destroy(store_auth_pool_t **self_p);
/* Readable (POLLIN) while verdicts wait to be taken. */
int store_auth_pool_fd(store_auth_pool_t *self);
/* Queues a verification; the hash and password are copied (the copy of the
 * password is wiped after use). deadline_ms (monotonic; 0 = none): a job
 * still queued then is answered AUTH_EXPIRED without the hashing. 0 or -1. */
int store_auth_pool_submit(store_auth_pool_t *self, uint64_t id, const char *hash,
                           const char *password, int64_t deadline_ms);
/* Takes one verdict: 1 with *id and *verdict, 0 if none is ready. */
int store_auth_pool_take(store_auth_pool_t *self, uint64_t *id, auth_verdict_t *verdict);
/* Jobs submitted and not yet taken. */
size_t store_auth_pool_busy(store_auth_pool_t *self);

#endif
