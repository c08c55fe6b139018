/* What the router remembers about conversations: site, visitor, operator and
 * state, for authorizing typing/sync/close without asking the store each
 * time. Filled from append, assign, hello and get_conversation replies.
 *
 * It is only a cache: an entry that allows the action is trusted for
 * CONV_CACHE_TTL_MS; one that would refuse it is checked with the store
 * first (another router may have assigned the conversation meanwhile). The
 * store re-checks every write anyway. */
#ifndef BESEDA_ROUTER_CONV_CACHE_H
#define BESEDA_ROUTER_CONV_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "beseda.pb-c.h"

#define CONV_CACHE_TTL_MS     60000
#define CONV_CACHE_MAX        100000
#define CONV_ID_MAX_CHARS     64

typedef struct {
    char site_id[CONV_ID_MAX_CHARS + 1];
    char visitor_id[CONV_ID_MAX_CHARS + 1];
    char operator_id[CONV_ID_MAX_CHARS + 1];
    char state[16];
    int64_t expires_ms;       /* monotonic */
} conv_entry_t;

/* Which right is asked for: reading (sync) lets any operator of the site in;
 * acting (typing, close) needs the operator the conversation is assigned to. */
typedef enum { CONV_READ, CONV_ACT } conv_access_t;

typedef struct conv_cache_t conv_cache_t;

conv_cache_t *conv_cache_new(size_t max_entries, int64_t ttl_ms);
void conv_cache_destroy(conv_cache_t **self_p);
/* Fills *entry from info (expires_ms = 0); -1 if info has no id or an id is
 * too long to keep. */
int conv_entry_from_info(conv_entry_t *entry, const Beseda__ConversationInfo *info);
/* Remembers info (ignored if it has no id or over-long ids). */
void conv_cache_put(conv_cache_t *self, const Beseda__ConversationInfo *info, int64_t now_ms);
/* The live entry for conv_id, or NULL. Valid until the next put. */
const conv_entry_t *conv_cache_get(conv_cache_t *self, const char *conv_id, int64_t now_ms);
size_t conv_cache_size(conv_cache_t *self);

/* May this identity (visitor_id or operator_id, the other "") of site_id do
 * `access` on the conversation? Visitors only their own; operators of the
 * same site, assigned to it for CONV_ACT. */
bool conv_may_access(const conv_entry_t *conv, const char *site_id, const char *visitor_id,
                     const char *operator_id, conv_access_t access);

#endif
