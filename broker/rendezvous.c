#include "rendezvous.h"

/* FNV-1a over candidate, a separator, and key, finished with the splitmix64
 * mixer so that similar names do not give correlated weights. */
uint64_t rendezvous_weight(const char *candidate, const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *) candidate; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *) key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h += 0x9e3779b97f4a7c15ULL;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

int rendezvous_pick(const char *const *candidates, size_t n, const char *key)
{
    int best = -1;
    uint64_t best_weight = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = rendezvous_weight(candidates[i], key);
        if (best < 0 || w > best_weight) {
            best = (int) i;
            best_weight = w;
        }
    }
    return best;
}
