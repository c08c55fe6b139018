/* The same chat spoken as MQTT 3.1.1 over WebSocket, for the baselines
 * (mosquitto, RabbitMQ's web_mqtt): one topic per conversation that the
 * visitor and its operator both subscribe to with QoS 1; a message is a QoS 1
 * PUBLISH whose PUBACK plays the part of beseda's ack. Operators serve the
 * visitors whose number is theirs modulo the operator count (MQTT has no
 * assignment). Sessions are persistent (clean session 0) unless told
 * otherwise, the closest MQTT gets to beseda's durable messages. */
#include "gen.h"
#include "mqtt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACKET_MAX_BYTES   (GEN_TEXT_MAX_BYTES + 512)
#define KEEPALIVE_S        60
#define SUBSCRIBE_ID       1

static void topic_of(const gen_t *gen, uint32_t vidx, char *out, size_t cap)
{
    snprintf(out, cap, "chat/%s/%" PRIu32, gen->run_id, vidx);
}

static void on_open(conn_t *conn)
{
    gen_t *gen = conn->gen;
    uint8_t pkt[256];
    char client_id[64];
    snprintf(client_id, sizeof client_id, "lg%s-%c%" PRIu32, gen->run_id, conn->is_operator ? 'o' : 'v', conn->index);
    int n = mqtt_encode_connect(pkt, sizeof pkt, client_id, gen->clean_session, KEEPALIVE_S);
    if (n < 0 || conn_send(conn, pkt, (size_t) n, 1) < 0)
        gen_error(gen, "mqtt_connect_build_failed");
}

/* After CONNACK: the visitor subscribes to its conversation, an operator to
 * all of its visitors' conversations in one SUBSCRIBE. */
static void subscribe(conn_t *conn)
{
    gen_t *gen = conn->gen;
    uint32_t first = conn->index;
    uint32_t step = conn->is_operator ? gen->n_operators : gen->n_visitors;   /* a visitor: one topic */
    size_t n_topics = 0;
    for (uint32_t v = first; v < gen->n_visitors; v += step)
        n_topics++;
    if (n_topics == 0) {
        conn_set_ready(conn);      /* an operator with no visitors */
        return;
    }
    char **topics = calloc(n_topics, sizeof *topics);
    size_t cap = 16 + n_topics * 64;
    uint8_t *pkt = malloc(cap);
    int ok = topics && pkt;
    size_t i = 0;
    for (uint32_t v = first; ok && v < gen->n_visitors; v += step, i++) {
        topics[i] = malloc(64);
        if (!topics[i])
            ok = 0;
        else
            topic_of(gen, v, topics[i], 64);
    }
    int n = ok ? mqtt_encode_subscribe(pkt, cap, SUBSCRIBE_ID, (const char *const *) topics, n_topics, 1) : -1;
    if (n < 0 || conn_send(conn, pkt, (size_t) n, 1) < 0)
        gen_error(gen, "mqtt_subscribe_failed");
    for (size_t k = 0; topics && k < n_topics; k++)
        free(topics[k]);
    free(topics);
    free(pkt);
}

static int publish(conn_t *conn, uint32_t topic_vidx, const char *id, const char *prefix, uint16_t packet_id)
{
    gen_t *gen = conn->gen;
    char topic[96], payload[PACKET_MAX_BYTES];
    uint8_t pkt[PACKET_MAX_BYTES + 128];
    topic_of(gen, topic_vidx, topic, sizeof topic);
    int len = snprintf(payload, sizeof payload, "%s %s%s", id, prefix, gen->padding);
    if (len < 0 || (size_t) len >= sizeof payload)
        return -1;
    int n = mqtt_encode_publish(pkt, sizeof pkt, topic, payload, (size_t) len, 1, packet_id);
    if (n < 0) {
        gen_error(gen, "mqtt_publish_build_failed");
        return -1;
    }
    return conn_send(conn, pkt, (size_t) n, 1);
}

static int send_message(conn_t *conn, uint32_t msgno, int64_t sched_us)
{
    char id[LEDGER_ID_MAX];
    if (ledger_format_id(id, sizeof id, 'v', conn->index, msgno, sched_us) < 0)
        return -1;
    return publish(conn, conn->index, id, "", ledger_packet_id(msgno));
}

static void ping(conn_t *conn)
{
    uint8_t pkt[2];
    if (mqtt_encode_simple(pkt, sizeof pkt, MQTT_PINGREQ) == 2)
        conn_send(conn, pkt, 2, 1);
}

static void reply(conn_t *conn, uint32_t vidx, uint32_t msgno)
{
    gen_t *gen = conn->gen;
    char id[LEDGER_ID_MAX];
    if (ledger_format_id(id, sizeof id, 'o', vidx, msgno, gen_now_us()) < 0)
        return;
    if (++conn->next_packet_id == 0)
        conn->next_packet_id = 1;
    if (publish(conn, vidx, id, "re ", conn->next_packet_id) == 0)
        ledger_on_reply_sent(gen->ledger, vidx, msgno);
}

static void on_publish(conn_t *conn, const mqtt_packet_t *p)
{
    gen_t *gen = conn->gen;
    if (((p->flags >> 1) & 3) == 1) {
        uint8_t ack[4];
        mqtt_encode_puback(ack, sizeof ack, p->packet_id);
        conn_send(conn, ack, sizeof ack, 1);
    }
    const uint8_t *space = memchr(p->payload, ' ', p->payload_len);
    size_t id_len = space ? (size_t) (space - p->payload) : p->payload_len;
    char kind;
    uint32_t vidx, msgno;
    int64_t sched;
    if (ledger_parse_id((const char *) p->payload, id_len, &kind, &vidx, &msgno, &sched) < 0) {
        gen_error(gen, "foreign_message");
        return;
    }
    int64_t now = gen_now_us();
    if (conn->is_operator && kind == 'v') {
        if (ledger_on_delivered(gen->ledger, vidx, msgno, -1, now) == 1 && gen->replies)
            reply(conn, vidx, msgno);
    } else if (conn->is_operator) {
        ledger_on_operator_echo(gen->ledger, vidx, msgno, -1);
    } else if (kind == 'o') {
        ledger_on_reply_received(gen->ledger, vidx, msgno, -1, sched, now);
    } else {
        ledger_on_echo(gen->ledger, vidx, msgno, -1);
    }
}

static void on_puback(conn_t *conn, uint16_t packet_id)
{
    if (conn->is_operator)
        return;                    /* the operator's replies are measured where they arrive */
    gen_t *gen = conn->gen;
    int64_t msgno = ledger_msgno_for_packet(gen->ledger, conn->index, packet_id);
    if (msgno < 0) {
        gen_error(gen, "mqtt_unknown_puback");
        return;
    }
    ledger_on_ack(gen->ledger, conn->index, (uint32_t) msgno, gen_now_us());
}

static void on_packet(conn_t *conn, const mqtt_packet_t *p)
{
    switch (p->type) {
    case MQTT_CONNACK:
        if (p->return_code != 0)
            gen_error(conn->gen, "mqtt_connect_refused");
        else
            subscribe(conn);
        break;
    case MQTT_SUBACK:
        if (p->return_code == 0x80)
            gen_error(conn->gen, "mqtt_subscribe_refused");
        else
            conn_set_ready(conn);
        break;
    case MQTT_PUBLISH:
        on_publish(conn, p);
        break;
    case MQTT_PUBACK:
        on_puback(conn, p->packet_id);
        break;
    default:
        break;                     /* PINGRESP */
    }
}

static long on_input(conn_t *conn, const uint8_t *buf, size_t len)
{
    size_t at = 0;
    mqtt_packet_t p;
    for (;;) {
        int n = mqtt_decode(buf + at, len - at, &p);
        if (n < 0) {
            gen_error(conn->gen, "mqtt_bad_packet");
            return -1;
        }
        if (n == 0)
            return (long) at;
        on_packet(conn, &p);
        at += (size_t) n;
    }
}

const gen_proto_t gen_proto_mqtt = {
    .subprotocol = "mqtt",
    .stream = 1,
    .on_open = on_open,
    .on_input = on_input,
    .send_message = send_message,
    .ping = ping,
};
