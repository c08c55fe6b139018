/* Operator presence in Redis (docs/ARCHITECTURE.md "Presence").
 *
 *   op:<op>:conns   ZSET  member "<gateway>/<conn>", score = expiry (ms)
 *   op:<op>         HASH  status (online/away/busy), site, name, gateway; TTL
 *   site:<site>:ops ZSET  member operator id, score = expiry (ms)
 *   presence:expiry ZSET  member "<site>/<op>", score = until when the
 *                         operator holds their chats (ms)
 *
 * An operator is online while status is "online" and one of their
 * connections has an unexpired entry. Gateways beat every few seconds, so
 * everything here is rebuilt within one TTL after Redis loses it, and a
 * dead gateway's operators drop out by themselves. Each operation is one Lua
 * script: one round trip, and atomic, so two routers beating the same
 * operator cannot interleave half-updates.
 *
 * An operator holds their open chats while they have a live connection
 * (online or away: away only stops new chats) and, after their last
 * connection closed, for a grace period (a console reload must not cost
 * them their chats). When the hold ends, presence_sweep() hands the operator
 * to exactly one router, which redistributes their chats. presence:expiry is
 * one key for all sites, without a TTL, because the per-site keys expire
 * with their TTL and could not be found again to notice the expiry. */
#ifndef BESEDA_ROUTER_PRESENCE_H
#define BESEDA_ROUTER_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "redis.h"

typedef struct presence_t presence_t;

#define PRESENCE_EXPIRY_KEY "presence:expiry"
#define PRESENCE_SINCE_KEY  "presence:rebuilt_since"   /* ms; 0: never lost */

/* redis is borrowed and must outlive the presence object. grace_ms: how
 * long an operator holds their chats after their last connection closed. */
presence_t *presence_new(redis_t *redis, int64_t ttl_ms, int64_t grace_ms);
void presence_destroy(presence_t **self_p);

/* A connection of the operator is alive. status "online"/"away", or "" to
 * keep the current one (online if none); name "" keeps the stored name.
 * Returns how the operator's online state changed, or -1 when Redis is
 * unavailable (the write is skipped). */
#define PRESENCE_SAME        0
#define PRESENCE_CAME_ONLINE 1
#define PRESENCE_WENT_AWAY   2
int presence_touch(presence_t *self, const char *operator_id, const char *site_id,
                   const char *gateway_id, const char *conn_id, const char *status,
                   const char *name);
/* The connection closed. When it was the operator's last, the operator goes
 * offline. Returns the number of live connections left, -1 when unavailable. */
int presence_gone(presence_t *self, const char *operator_id, const char *site_id,
                  const char *gateway_id, const char *conn_id);

/* Online operators of a site: an allocated array of allocated ids in *ids_out
 * (free with presence_ids_free); 0 and NULL when none or Redis is down. */
size_t presence_online(presence_t *self, const char *site_id, char ***ids_out);
void presence_ids_free(char ***ids_p, size_t count);
/* How many operators of the site are online; -1 when Redis is unavailable. */
int presence_count(presence_t *self, const char *site_id);
/* The same with "unavailable" read as nobody online. */
uint32_t presence_count_online(presence_t *self, const char *site_id);
bool presence_is_online(presence_t *self, const char *operator_id);
/* Does the operator still hold their chats (see above)? True also when
 * Redis cannot say: it is down, or it lost its data less than one presence
 * TTL ago (gateways re-announce every live console within it). */
bool presence_holds_chats(presence_t *self, const char *site_id, const char *operator_id);
/* Takes the operators whose hold ended: allocated "<site>/<op>" strings in
 * *members_out (free with presence_ids_free), each handed to one caller
 * only, across all routers. 0 when none or Redis is down. */
size_t presence_sweep(presence_t *self, char ***members_out);
/* A hand-off of the operator's chats did not go through (stale epoch,
 * store unavailable): have a sweep take the operator again after delay_ms,
 * unless they came back meanwhile. */
void presence_retry_handoff(presence_t *self, const char *site_id, const char *operator_id,
                            int64_t delay_ms);
/* Sets the status ("online", "away", "busy") of an operator who has a live
 * connection, without one of its own (the status API). Returns
 * PRESENCE_CAME_ONLINE / _WENT_AWAY / _SAME, PRESENCE_NO_CONNECTION when the
 * operator has none (nothing set), -1 when Redis is unavailable. */
#define PRESENCE_NO_CONNECTION (-2)
int presence_set_status(presence_t *self, const char *operator_id, const char *status);
/* The operator's display name as stored at login (allocated), or NULL. */
char *presence_operator_name(presence_t *self, const char *operator_id);

#endif
