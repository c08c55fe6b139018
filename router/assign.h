/* Assignment of conversations to operators (docs/ARCHITECTURE.md
 * "Assignment", docs/ROUTER.md).
 *
 * Triggers:
 *  - a visitor's message in a conversation without operator (new, queued)
 *    assigns that conversation; in one whose operator no longer holds their
 *    chats (presence.h: offline past the grace) moves it to another;
 *  - an operator coming online (login, resume, status "online", first beat
 *    after Redis lost them) assigns the site's queue, oldest first;
 *  - an operator's hold on their chats ending (presence_sweep) hands each
 *    of their open chats to another operator, or back to the queue.
 * All read the online operators from Redis and the loads from the store
 * (StoreSiteQueue), pick with assign_choose(), and ask the store
 * (StoreAssign), which is a compare-and-set on the conversation's operator:
 * two routers racing cannot both win. Nobody free: a new conversation stays
 * queued, one taken from an offline operator goes back to the queue.
 *
 * Exactly once: `assigned` and `conversation` are published only when the
 * store says this request made the change (StoreAssignReply.applied), so a
 * repeated trigger, a retry, or a second router arriving at the same choice
 * publishes nothing. Claims (claim.h) keep one router from starting a
 * second assignment of a conversation while one is in flight.
 *
 * The connection that came online: a queue pass started by a login, a
 * resume or status "online" runs right after the welcome (or ok), while the
 * gateway's subscription to o:<operator>, made when it got the welcome, may
 * still be on its way to this router's PUB socket (a PUB drops what nobody
 * has subscribed yet). So each assignment of that pass to that operator is
 * also published on g:<gateway> with the connection's id: the gateway
 * subscribes its own g: topic at start, long before any login, and hands
 * the copy to that connection only, once (it drops the second of the o:
 * and g: copies). */
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

/* Background work; failures are logged, nobody waits for them.
 * assign_conversation: from_operator_id is the conversation's operator who
 * no longer holds chats, or "" when it has none. */
void assign_conversation(router_t *self, const char *site_id, const char *conv_id,
                         const char *from_operator_id, uint64_t epoch);
/* Who made the operator come online, when a connection did: that
 * connection's gateway and id, and the operator (all borrowed). */
typedef struct {
    const char *gateway_id;
    const char *conn_id;
    const char *operator_id;
} assign_origin_t;

/* origin: the connection that came online (login, resume, status
 * "online"), or NULL (nobody to tell beyond o:<operator>). */
void assign_site_queue(router_t *self, const char *site_id, uint64_t epoch,
                       const assign_origin_t *origin);
/* The operator's hold ended: hand each of their open chats on. */
void assign_redistribute(router_t *self, const char *site_id, const char *operator_id,
                         uint64_t epoch);

/* StoreAssign of conv_id to operator_id ("" = back to the queue) from
 * from_operator_id ("" = it has none); queue_job gives site, epoch and the
 * origin. The caller holds the claim on conv_id; the job releases it. */
void assign_ask(router_t *self, const job_t *queue_job, const char *conv_id,
                const char *operator_id, const char *operator_name,
                const char *from_operator_id);

/* Store replies for STEP_QUEUE and STEP_ASSIGN jobs (take ownership of job). */
void assign_on_queue(router_t *self, job_t *job, Beseda__StoreReply *reply);
void assign_on_assign(router_t *self, job_t *job, Beseda__StoreReply *reply);
/* A STEP_QUEUE or STEP_ASSIGN job ends without an answer: give up its
 * claim (the job is not destroyed here). */
void assign_abandon(router_t *self, const job_t *job);

#endif
