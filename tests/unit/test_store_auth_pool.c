/* The password verification pool: verdicts for a right and a wrong password
 * and a malformed hash, a job whose deadline passed is not hashed, the pipe
 * wakes a poller, and the loop's thread is free while a hash is checked. */
#include "check.h"
#include "util.h"
#include "../../store/auth_pool.h"
#include <poll.h>
#include <sodium.h>
#include <string.h>

/* Waits up to timeout_ms for one verdict. */
static int take_within(store_auth_pool_t *pool, int timeout_ms, uint64_t *id, auth_verdict_t *v)
{
    int64_t until = beseda_mono_ms() + timeout_ms;
    for (;;) {
        if (store_auth_pool_take(pool, id, v) == 1)
            return 1;
        int64_t left = until - beseda_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { store_auth_pool_fd(pool), POLLIN, 0 };
        poll(&p, 1, (int) left);
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    char hash[crypto_pwhash_STRBYTES];
    /* Cheapest limits: the pool does not care how costly the hash is. */
    CHECK(crypto_pwhash_str(hash, "right", 5, crypto_pwhash_OPSLIMIT_MIN,
                            crypto_pwhash_MEMLIMIT_MIN) == 0, "hash made");

    CHECK(store_auth_pool_new(0) == NULL && store_auth_pool_new(AUTH_POOL_MAX_THREADS + 1) == NULL,
          "thread count is bounded");
    store_auth_pool_t *pool = store_auth_pool_new(2);
    CHECK(pool != NULL, "pool starts");
    uint64_t id = 0;
    auth_verdict_t v = AUTH_BAD;
    CHECK(store_auth_pool_take(pool, &id, &v) == 0, "nothing to take at first");

    int64_t t0 = beseda_mono_ms();
    CHECK(store_auth_pool_submit(pool, 1, hash, "right", 0) == 0, "submit right");
    CHECK(beseda_mono_ms() - t0 < 50, "submit does not hash on the caller's thread");
    CHECK(take_within(pool, 5000, &id, &v) == 1 && id == 1 && v == AUTH_GOOD, "right password: good");

    CHECK(store_auth_pool_submit(pool, 2, hash, "wrong", 0) == 0, "submit wrong");
    CHECK(take_within(pool, 5000, &id, &v) == 1 && id == 2 && v == AUTH_BAD, "wrong password: bad");

    CHECK(store_auth_pool_submit(pool, 3, "not a hash", "right", 0) == 0, "submit malformed");
    CHECK(take_within(pool, 5000, &id, &v) == 1 && id == 3 && v == AUTH_BAD, "malformed hash: bad");

    CHECK(store_auth_pool_submit(pool, 4, hash, "right", beseda_mono_ms() - 1) == 0, "submit late");
    CHECK(take_within(pool, 5000, &id, &v) == 1 && id == 4 && v == AUTH_EXPIRED,
          "deadline passed: expired, not verified");

    for (uint64_t i = 10; i < 20; i++)
        store_auth_pool_submit(pool, i, hash, i % 2 ? "right" : "wrong", 0);
    int good = 0, bad = 0, seen = 0;
    while (seen < 10 && take_within(pool, 5000, &id, &v) == 1) {
        seen++;
        good += v == AUTH_GOOD && id % 2 == 1;
        bad += v == AUTH_BAD && id % 2 == 0;
    }
    CHECK(seen == 10 && good == 5 && bad == 5, "ten at once: each verdict once, for its own job");
    CHECK(store_auth_pool_busy(pool) == 0, "nothing left busy");

    store_auth_pool_submit(pool, 30, hash, "right", 0);
    store_auth_pool_destroy(&pool);
    CHECK(pool == NULL, "destroy with a job queued stops cleanly");
    return CHECK_DONE();
}
