/* The team chat (team.c; docs/ROUTER.md "Team chat"). Handlers take the
 * job as router.h says. */
#ifndef BESEDA_ROUTER_TEAM_H
#define BESEDA_ROUTER_TEAM_H

#include "router.h"

#define TEAM_SYNC_LIMIT_MAX      200    /* team messages per team_sync reply */

void team_send(router_t *self, job_t *job);
void team_sync(router_t *self, job_t *job);
void team_on_append(router_t *self, job_t *job, Beseda__StoreReply *reply);
void team_on_fetch(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
