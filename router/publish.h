/* Deliveries: what the router tells gateways through the broker's pub/sub.
 * Topics (docs/ARCHITECTURE.md): c:<conversation>, o:<operator>, s:<site>,
 * g:<gateway> (one connection of that gateway, named in the delivery).
 * Publishing is best effort (PUB drops when the broker is away); clients
 * repair gaps with sync, so a failure is only logged. */
#ifndef BESEDA_ROUTER_PUBLISH_H
#define BESEDA_ROUTER_PUBLISH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "beseda.pb-c.h"

void publish_message(zsock_t *pub, const char *site_id, const Beseda__ChatMessage *message);
void publish_typing(zsock_t *pub, const char *site_id, const char *conv_id,
                    const Beseda__Author *author, const char *text);
/* The conversation's new state, on c:<conv>. */
void publish_conversation(zsock_t *pub, const Beseda__ConversationInfo *info);
/* "This chat is now yours", on o:<operator>. */
void publish_assigned(zsock_t *pub, const char *operator_id, const Beseda__ConversationInfo *info);
/* The same for one connection that just came online, on g:<gateway> with
 * conn_id set: its o:<operator> subscription may not be here yet (assign.h). */
void publish_assigned_to_conn(zsock_t *pub, const char *gateway_id, const char *conn_id,
                              const Beseda__ConversationInfo *info);
void publish_operators_online(zsock_t *pub, const char *site_id, uint32_t count);
/* A team chat message, on t:<site> (operator connections only). */
void publish_team_message(zsock_t *pub, const char *site_id, const Beseda__TeamMessage *message);
/* Routing (routing.h), on o:<operator>: a chat rings for you; stop ringing
 * (reason "taken" with who took it, "escalated", "missed", "closed"). */
void publish_ring(zsock_t *pub, const char *operator_id, const Beseda__ConversationInfo *info);
/* The g:<gateway> copy of a ring for the one connection whose login's
 * queue pass rang it (its o: subscription may not have reached us yet),
 * as publish_assigned_to_conn does for an assignment. */
void publish_ring_to_conn(zsock_t *pub, const char *gateway_id, const char *conn_id,
                          const Beseda__ConversationInfo *info);
void publish_ring_end(zsock_t *pub, const char *site_id, const char *operator_id,
                      const char *conv_id, const char *reason, const char *by_id,
                      const char *by_name);
/* A chat was missed, on s:<site> (the gateways give it to operators only). */
void publish_missed(zsock_t *pub, const Beseda__ConversationInfo *info);
/* An admin saved a settings section, on s:<site> (the gateways give it to
 * operators only): consoles refresh the groups and whatever else they show. */
void publish_settings_changed(zsock_t *pub, const char *site_id, const char *section,
                              uint64_t version, Beseda__GroupInfo **groups, size_t n_groups);
/* The site's inbox changed ("offline": a message came; "answered": an item
 * was answered or marked done), on s:<site> (operators only). Missed chats
 * need none: their `missed` says it. */
void publish_inbox_changed(zsock_t *pub, const char *site_id, const char *reason);
/* A chat's response limit passed without its operator's reply, on
 * o:<operator>: escalated says whether it was handed on. */
void publish_response_overdue(zsock_t *pub, const char *operator_id,
                              const Beseda__ConversationInfo *info, uint32_t limit_s,
                              bool escalated);
/* The operator's status changed, on o:<operator> (every console of theirs). */
void publish_status(zsock_t *pub, const char *site_id, const char *operator_id, const char *status);

#endif
