/* Transfer with an internal note, the team chat, and the HTTP API's settings
 * and operators endpoints (issue 6; docs/ROUTER.md "Transfer", "Team chat",
 * "HTTP API"). transfer.c, team.c, api.c. Handlers take the job as
 * router.h says. */
#ifndef BESEDA_ROUTER_TEAM_H
#define BESEDA_ROUTER_TEAM_H

#include "router.h"

#define TRANSFER_NOTE_MAX_CHARS  2000   /* docs/PROTOCOL.md (the gateway checks it first) */
#define TRANSFER_NOTE_MAX_BYTES  8000
#define GROUP_ID_MAX_CHARS       32     /* docs/ROUTING.md groups[].id */
#define TRANSFER_TARGETS_MAX     1000   /* group members offered to the store at once */
#define TEAM_SYNC_LIMIT_MAX      200    /* team messages per team_sync reply */

void transfer_request(router_t *self, job_t *job);
/* After the conversation was found to be the sender's (chat.c): the target. */
void transfer_owned(router_t *self, job_t *job);
void transfer_on_groups(router_t *self, job_t *job, Beseda__StoreReply *reply);
void transfer_on_transfer(router_t *self, job_t *job, Beseda__StoreReply *reply);

void team_send(router_t *self, job_t *job);
void team_sync(router_t *self, job_t *job);
void team_on_append(router_t *self, job_t *job, Beseda__StoreReply *reply);
void team_on_fetch(router_t *self, job_t *job, Beseda__StoreReply *reply);

/* api_settings_get, api_settings_put, api_operators. */
void api_request(router_t *self, job_t *job);
void api_on_session(router_t *self, job_t *job, Beseda__StoreReply *reply);
void api_on_call(router_t *self, job_t *job, Beseda__StoreReply *reply);

/* The presence status of each operator (out[i] for ids[i], static strings):
 * "online", "away", "busy" while a connection of theirs lives, "offline"
 * otherwise, "elsewhere" for an operator present on another site than
 * site_id. False when Redis cannot say (out is then unset). */
bool team_presence_statuses(router_t *self, const char *site_id, char *const *ids, size_t n,
                            const char **out);

#endif
