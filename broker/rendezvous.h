/* Rendezvous (highest random weight) hashing: the owner of a key is the
 * candidate with the highest weight(candidate, key). When a candidate leaves,
 * only its keys move; when one joins, it takes only the keys it now wins. */
#ifndef BESEDA_RENDEZVOUS_H
#define BESEDA_RENDEZVOUS_H

#include <stddef.h>
#include <stdint.h>

uint64_t rendezvous_weight(const char *candidate, const char *key);
/* Index of the winning candidate, or -1 if n == 0. */
int rendezvous_pick(const char *const *candidates, size_t n, const char *key);

#endif
