/* Claims: see claim.h. */
#include "claim.h"
#include <czmq.h>
#include <stdlib.h>

struct claim_set_t {
    zhashx_t *until;          /* key -> int64_t lapse time (monotonic ms), owned */
    size_t max_claims;
};

static void until_free(void **item)
{
    free(*item);
    *item = NULL;
}

claim_set_t *claim_set_new(size_t max_claims)
{
    claim_set_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->until = zhashx_new();
    if (!self->until) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->until, until_free);
    self->max_claims = max_claims ? max_claims : 1;
    return self;
}

void claim_set_destroy(claim_set_t **self_p)
{
    claim_set_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->until);
    free(self);
    *self_p = NULL;
}

bool claim_held(claim_set_t *self, const char *key, int64_t now_ms)
{
    const int64_t *until = zhashx_lookup(self->until, key);
    return until && *until > now_ms;
}

static void make_room(claim_set_t *self, int64_t now_ms)
{
    if (zhashx_size(self->until) < self->max_claims)
        return;
    zlistx_t *keys = zhashx_keys(self->until);
    if (keys) {
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
            if (!claim_held(self, k, now_ms))
                zhashx_delete(self->until, k);
        zlistx_destroy(&keys);
    }
    if (zhashx_size(self->until) >= self->max_claims)
        zhashx_purge(self->until);
}

bool claim_take(claim_set_t *self, const char *key, int64_t now_ms, int64_t hold_ms)
{
    if (!key || !*key || claim_held(self, key, now_ms))
        return false;
    make_room(self, now_ms);
    int64_t *until = malloc(sizeof *until);
    if (!until)
        return false;
    *until = now_ms + hold_ms;
    zhashx_update(self->until, key, until);
    return true;
}

void claim_release(claim_set_t *self, const char *key)
{
    if (key && *key)
        zhashx_delete(self->until, key);
}

size_t claim_count(claim_set_t *self)
{
    return zhashx_size(self->until);
}
