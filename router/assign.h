/* Assignment of conversations to operators (docs/ARCHITECTURE.md
 * "Assignment").
 *
 * Two triggers: a visitor's message in a conversation without a (live)
 * operator assigns that one conversation; an operator coming online (login,
 * resume, status "online", first beat after Redis lost them) assigns the
 * site's queued conversations, oldest first. Both read the online operators
 * from Redis and their loads from the store (StoreSiteQueue), pick with
 * assign_choose(), and ask the store to assign (StoreAssign, which succeeds
 * only while the conversation is unassigned, so two routers racing cannot
 * both win). Nobody free: the conversation stays queued. */
#ifndef BESEDA_ROUTER_ASSIGN_H
#define BESEDA_ROUTER_ASSIGN_H

#include <stddef.h>
#include <stdint.h>
#include "pending.h"

typedef struct router_t router_t;

typedef struct {
    const char *operator_id;
    uint32_t open_chats;
    uint32_t max_chats;
} assign_load_t;

/* Pure choice: among loads whose operator is in `online` and has
 * open_chats < max_chats, the one with the lowest open/max ratio; ties go to
 * fewer open chats, then to the lowest operator id. Returns its index in
 * loads, or -1 when nobody is free. */
int assign_choose(const assign_load_t *loads, size_t n_loads, char *const *online,
                  size_t n_online);

/* Background work; failures are logged, nobody waits for them. */
void assign_conversation(router_t *self, const char *site_id, const char *conv_id,
                         uint64_t epoch);
void assign_site_queue(router_t *self, const char *site_id, uint64_t epoch);

/* Store replies for STEP_QUEUE and STEP_ASSIGN jobs (take ownership of job). */
void assign_on_queue(router_t *self, job_t *job, Beseda__StoreReply *reply);
void assign_on_assign(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
