/* Operator status (status.c; docs/ROUTING.md "Operator status"). */
#ifndef BESEDA_ROUTER_STATUS_H
#define BESEDA_ROUTER_STATUS_H

#include "router.h"

bool status_valid(const char *status);
/* Publishes Delivery.status on o:<operator>. */
void status_publish(router_t *self, const char *site_id, const char *operator_id,
                    const char *status);
/* api_status once the session is resolved (job->site_id, operator_id set). */
void status_api(router_t *self, job_t *job);

#endif
