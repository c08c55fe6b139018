/* MQTT 3.1.1 codec: see mqtt.h. Layout per the OASIS standard, section 2
 * (fixed header, remaining-length varint) and section 3 (each packet). */
#include "mqtt.h"

#include <string.h>

/* Writes the fixed header; returns its length or -1. */
static int put_header(uint8_t *out, size_t cap, uint8_t first, size_t remaining)
{
    if (remaining > 268435455 || cap < 2)
        return -1;
    size_t n = 0;
    out[n++] = first;
    do {
        if (n >= cap)
            return -1;
        uint8_t byte = remaining % 128;
        remaining /= 128;
        out[n++] = remaining ? (byte | 0x80) : byte;
    } while (remaining);
    return (int) n;
}

static size_t put_u16(uint8_t *out, uint16_t v)
{
    out[0] = (uint8_t) (v >> 8);
    out[1] = (uint8_t) v;
    return 2;
}

static size_t put_str(uint8_t *out, const char *s, size_t len)
{
    put_u16(out, (uint16_t) len);
    memcpy(out + 2, s, len);
    return 2 + len;
}

int mqtt_encode_connect(uint8_t *out, size_t cap, const char *client_id, int clean_session,
                        uint16_t keepalive_s)
{
    size_t id_len = strlen(client_id);
    if (id_len > 65535)
        return -1;
    size_t remaining = 10 + 2 + id_len;
    int h = put_header(out, cap, MQTT_CONNECT << 4, remaining);
    if (h < 0 || (size_t) h + remaining > cap)
        return -1;
    uint8_t *p = out + h;
    p += put_str(p, "MQTT", 4);
    *p++ = 4;                                  /* protocol level 3.1.1 */
    *p++ = clean_session ? 0x02 : 0x00;        /* connect flags */
    p += put_u16(p, keepalive_s);
    p += put_str(p, client_id, id_len);
    return (int) (p - out);
}

int mqtt_encode_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *const *topics,
                          size_t n_topics, uint8_t qos)
{
    if (n_topics == 0 || qos > 2 || packet_id == 0)
        return -1;
    size_t remaining = 2;
    for (size_t i = 0; i < n_topics; i++) {
        size_t len = strlen(topics[i]);
        if (len == 0 || len > 65535)
            return -1;
        remaining += 2 + len + 1;
    }
    int h = put_header(out, cap, (MQTT_SUBSCRIBE << 4) | 0x02, remaining);
    if (h < 0 || (size_t) h + remaining > cap)
        return -1;
    uint8_t *p = out + h;
    p += put_u16(p, packet_id);
    for (size_t i = 0; i < n_topics; i++) {
        p += put_str(p, topics[i], strlen(topics[i]));
        *p++ = qos;
    }
    return (int) (p - out);
}

int mqtt_encode_publish(uint8_t *out, size_t cap, const char *topic, const void *payload,
                        size_t payload_len, uint8_t qos, uint16_t packet_id)
{
    size_t topic_len = strlen(topic);
    if (topic_len == 0 || topic_len > 65535 || qos > 1 || (qos && packet_id == 0))
        return -1;
    size_t remaining = 2 + topic_len + (qos ? 2 : 0) + payload_len;
    int h = put_header(out, cap, (uint8_t) ((MQTT_PUBLISH << 4) | (qos << 1)), remaining);
    if (h < 0 || (size_t) h + remaining > cap)
        return -1;
    uint8_t *p = out + h;
    p += put_str(p, topic, topic_len);
    if (qos)
        p += put_u16(p, packet_id);
    if (payload_len)
        memcpy(p, payload, payload_len);
    p += payload_len;
    return (int) (p - out);
}

int mqtt_encode_puback(uint8_t *out, size_t cap, uint16_t packet_id)
{
    if (cap < 4)
        return -1;
    out[0] = MQTT_PUBACK << 4;
    out[1] = 2;
    put_u16(out + 2, packet_id);
    return 4;
}

int mqtt_encode_simple(uint8_t *out, size_t cap, int type)
{
    if (cap < 2 || (type != MQTT_PINGREQ && type != MQTT_DISCONNECT))
        return -1;
    out[0] = (uint8_t) (type << 4);
    out[1] = 0;
    return 2;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}

/* Reads the remaining-length varint after the first byte. Returns the header
 * length, 0 if incomplete, -1 if malformed. */
static int get_header(const uint8_t *buf, size_t len, size_t *remaining)
{
    size_t value = 0, mult = 1;
    for (size_t i = 1; i <= 4; i++) {
        if (i >= len)
            return 0;
        value += (buf[i] & 0x7f) * mult;
        if (!(buf[i] & 0x80)) {
            *remaining = value;
            return (int) i + 1;
        }
        mult *= 128;
    }
    return -1;
}

static int decode_publish(const uint8_t *body, size_t n, mqtt_packet_t *pkt)
{
    if (n < 2)
        return -1;
    size_t topic_len = get_u16(body);
    size_t at = 2 + topic_len;
    int qos = (pkt->flags >> 1) & 3;
    if (qos == 3 || at + (qos ? 2 : 0) > n)
        return -1;
    pkt->topic = (const char *) body + 2;
    pkt->topic_len = topic_len;
    if (qos) {
        pkt->packet_id = get_u16(body + at);
        at += 2;
    }
    pkt->payload = body + at;
    pkt->payload_len = n - at;
    return 0;
}

int mqtt_decode(const uint8_t *buf, size_t len, mqtt_packet_t *pkt)
{
    if (len < 2)
        return 0;
    size_t n;
    int h = get_header(buf, len, &n);
    if (h <= 0)
        return h;
    if (n > MQTT_MAX_PACKET_BYTES)
        return -1;
    if ((size_t) h + n > len)
        return 0;
    memset(pkt, 0, sizeof *pkt);
    pkt->type = buf[0] >> 4;
    pkt->flags = buf[0] & 0x0f;
    const uint8_t *body = buf + h;
    switch (pkt->type) {
    case MQTT_CONNACK:
        if (n != 2)
            return -1;
        pkt->return_code = body[1];
        break;
    case MQTT_PUBACK:
        if (n != 2)
            return -1;
        pkt->packet_id = get_u16(body);
        break;
    case MQTT_SUBACK:
        if (n < 3)
            return -1;
        pkt->packet_id = get_u16(body);
        pkt->return_code = body[2];
        break;
    case MQTT_PUBLISH:
        if (decode_publish(body, n, pkt) < 0)
            return -1;
        break;
    case MQTT_PINGRESP:
        if (n != 0)
            return -1;
        break;
    default:
        return -1;     /* nothing else is sent by a broker to this client */
    }
    return h + (int) n;
}
