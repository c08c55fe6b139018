/* Deliveries: see publish.h. */
#include "publish.h"
#include "bus.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>

#define TOPIC_MAX_CHARS 200

static void publish_delivery(zsock_t *pub, const char *prefix, const char *id,
                             Beseda__Delivery *delivery)
{
    char topic[TOPIC_MAX_CHARS];
    int n = snprintf(topic, sizeof topic, "%s:%s", prefix, id ? id : "");
    if (n < 0 || (size_t) n >= sizeof topic || !id || !*id) {
        log_warn("delivery not published: bad topic id", "prefix", prefix);
        return;
    }
    size_t len = beseda__delivery__get_packed_size(delivery);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        log_error("delivery not published: out of memory", "topic", topic);
        return;
    }
    beseda__delivery__pack(delivery, buf);
    if (bus_publish(pub, topic, buf, len) != 0)
        log_warn("delivery not published", "topic", topic);
    free(buf);
}

void publish_message(zsock_t *pub, const char *site_id, const Beseda__ChatMessage *message)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_MESSAGE;
    d.message = (Beseda__ChatMessage *) message;
    publish_delivery(pub, "c", message->conversation_id, &d);
}

void publish_typing(zsock_t *pub, const char *site_id, const char *conv_id,
                    const Beseda__Author *author, const char *text)
{
    Beseda__TypingEvent ev = BESEDA__TYPING_EVENT__INIT;
    ev.conversation_id = (char *) conv_id;
    ev.author = (Beseda__Author *) author;
    ev.text = (char *) (text ? text : "");
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_TYPING;
    d.typing = &ev;
    publish_delivery(pub, "c", conv_id, &d);
}

void publish_conversation(zsock_t *pub, const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.body_case = BESEDA__DELIVERY__BODY_CONVERSATION;
    d.conversation = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "c", info->id, &d);
}

void publish_assigned(zsock_t *pub, const char *operator_id, const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.body_case = BESEDA__DELIVERY__BODY_ASSIGNED;
    d.assigned = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "o", operator_id, &d);
}

void publish_assigned_to_conn(zsock_t *pub, const char *gateway_id, const char *conn_id,
                              const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.conn_id = (char *) conn_id;
    d.body_case = BESEDA__DELIVERY__BODY_ASSIGNED;
    d.assigned = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "g", gateway_id, &d);
}

void publish_operators_online(zsock_t *pub, const char *site_id, uint32_t count)
{
    Beseda__OperatorsOnline oo = BESEDA__OPERATORS_ONLINE__INIT;
    oo.count = count;
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_OPERATORS_ONLINE;
    d.operators_online = &oo;
    publish_delivery(pub, "s", site_id, &d);
}

void publish_team_message(zsock_t *pub, const char *site_id, const Beseda__TeamMessage *message)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_TEAM_MESSAGE;
    d.team_message = (Beseda__TeamMessage *) message;
    publish_delivery(pub, "t", site_id, &d);
}

void publish_ring(zsock_t *pub, const char *operator_id, const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.body_case = BESEDA__DELIVERY__BODY_RING;
    d.ring = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "o", operator_id, &d);
}

void publish_ring_to_conn(zsock_t *pub, const char *gateway_id, const char *conn_id,
                          const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.conn_id = (char *) conn_id;
    d.body_case = BESEDA__DELIVERY__BODY_RING;
    d.ring = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "g", gateway_id, &d);
}

void publish_ring_end(zsock_t *pub, const char *site_id, const char *operator_id,
                      const char *conv_id, const char *reason, const char *by_id,
                      const char *by_name)
{
    Beseda__RingEnd end = BESEDA__RING_END__INIT;
    end.conversation_id = (char *) conv_id;
    end.reason = (char *) reason;
    end.operator_id = (char *) (by_id ? by_id : "");
    end.operator_name = (char *) (by_name ? by_name : "");
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_RING_END;
    d.ring_end = &end;
    publish_delivery(pub, "o", operator_id, &d);
}

void publish_missed(zsock_t *pub, const Beseda__ConversationInfo *info)
{
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.body_case = BESEDA__DELIVERY__BODY_MISSED;
    d.missed = (Beseda__ConversationInfo *) info;
    publish_delivery(pub, "s", info->site_id, &d);
}

void publish_status(zsock_t *pub, const char *site_id, const char *operator_id, const char *status)
{
    Beseda__StatusInfo si = BESEDA__STATUS_INFO__INIT;
    si.operator_id = (char *) operator_id;
    si.status = (char *) status;
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_STATUS;
    d.status = &si;
    publish_delivery(pub, "o", operator_id, &d);
}

void publish_settings_changed(zsock_t *pub, const char *site_id, const char *section,
                              uint64_t version, Beseda__GroupInfo **groups, size_t n_groups)
{
    Beseda__SettingsChanged sc = BESEDA__SETTINGS_CHANGED__INIT;
    sc.section = (char *) section;
    sc.version = version;
    sc.groups = groups;
    sc.n_groups = n_groups;
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_SETTINGS_CHANGED;
    d.settings_changed = &sc;
    publish_delivery(pub, "s", site_id, &d);
}

void publish_response_overdue(zsock_t *pub, const char *operator_id,
                              const Beseda__ConversationInfo *info, uint32_t limit_s,
                              bool escalated)
{
    Beseda__ResponseOverdue ro = BESEDA__RESPONSE_OVERDUE__INIT;
    ro.conversation = (Beseda__ConversationInfo *) info;
    ro.limit_s = limit_s;
    ro.escalated = escalated;
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = info->site_id;
    d.body_case = BESEDA__DELIVERY__BODY_RESPONSE_OVERDUE;
    d.response_overdue = &ro;
    publish_delivery(pub, "o", operator_id, &d);
}

void publish_inbox_changed(zsock_t *pub, const char *site_id, const char *reason)
{
    Beseda__InboxChanged ic = BESEDA__INBOX_CHANGED__INIT;
    ic.reason = (char *) reason;
    Beseda__Delivery d = BESEDA__DELIVERY__INIT;
    d.site_id = (char *) site_id;
    d.body_case = BESEDA__DELIVERY__BODY_INBOX_CHANGED;
    d.inbox_changed = &ic;
    publish_delivery(pub, "s", site_id, &d);
}
