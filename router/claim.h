/* Claims: which conversations this router is assigning right now.
 *
 * An assignment takes two store round trips (site queue, then assign).
 * A visitor who sends three messages in that time would start three
 * assignments of one conversation; a login that assigns the site's queue
 * would start another. A claim makes the first one the only one on this
 * router: whoever cannot take the claim leaves it to the one in flight.
 * Across routers the store's compare-and-set decides (assign.h).
 *
 * A claim lapses after its hold time, so a job lost without a release (it
 * cannot happen by design, but a leak must not stop a chat for good) frees
 * the conversation by itself. Bounded: when full, lapsed claims are dropped,
 * and if that is not enough, all of them (the cost is one extra assignment,
 * which the store refuses or which publishes nothing). */
#ifndef BESEDA_ROUTER_CLAIM_H
#define BESEDA_ROUTER_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct claim_set_t claim_set_t;

claim_set_t *claim_set_new(size_t max_claims);
void claim_set_destroy(claim_set_t **self_p);
/* Takes the claim on key until now_ms + hold_ms. False if it is held and
 * has not lapsed, or when out of memory: either way the caller does not act
 * now (a later message or presence change tries again). */
bool claim_take(claim_set_t *self, const char *key, int64_t now_ms, int64_t hold_ms);
/* Gives the claim up (no-op if not held). */
void claim_release(claim_set_t *self, const char *key);
bool claim_held(claim_set_t *self, const char *key, int64_t now_ms);
size_t claim_count(claim_set_t *self);

#endif
