/* Transfer with an internal note (transfer.c; docs/ROUTER.md "Transfer").
 * Handlers take the job as router.h says. */
#ifndef BESEDA_ROUTER_TRANSFER_H
#define BESEDA_ROUTER_TRANSFER_H

#include "router.h"

#define TRANSFER_NOTE_MAX_CHARS  2000   /* docs/PROTOCOL.md (the gateway checks it first) */
#define TRANSFER_NOTE_MAX_BYTES  8000
#define GROUP_ID_MAX_CHARS       32     /* docs/ROUTING.md groups[].id */
#define TRANSFER_TARGETS_MAX     1000   /* group members offered to the store at once */

void transfer_request(router_t *self, job_t *job);
/* After the conversation was found to be the sender's (chat.c): the target. */
void transfer_owned(router_t *self, job_t *job);
void transfer_on_groups(router_t *self, job_t *job, Beseda__StoreReply *reply);
void transfer_on_transfer(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
