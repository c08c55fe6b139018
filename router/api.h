/* The HTTP API's settings and operators endpoints (api.c; docs/ROUTER.md
 * "HTTP API"). Handlers take the job as router.h says. */
#ifndef BESEDA_ROUTER_API_H
#define BESEDA_ROUTER_API_H

#include "router.h"

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
