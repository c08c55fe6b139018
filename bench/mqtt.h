/* The few MQTT 3.1.1 packets the load generator speaks to the baseline
 * brokers: CONNECT, SUBSCRIBE, PUBLISH (QoS 0/1), PUBACK, PINGREQ,
 * DISCONNECT out; CONNACK, SUBACK, PUBLISH, PUBACK, PINGRESP in.
 *
 * Why hand-written: no Debian C library speaks MQTT over WebSocket inside a
 * caller's event loop (libmosquitto opens its own TCP sockets, paho-c has its
 * own threads), and the generator must drive thousands of connections from
 * one libwebsockets loop. The codec is small and unit-tested. */
#ifndef BESEDA_BENCH_MQTT_H
#define BESEDA_BENCH_MQTT_H

#include <stddef.h>
#include <stdint.h>

enum {
    MQTT_CONNECT = 1, MQTT_CONNACK = 2, MQTT_PUBLISH = 3, MQTT_PUBACK = 4,
    MQTT_SUBSCRIBE = 8, MQTT_SUBACK = 9, MQTT_PINGREQ = 12, MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14
};

#define MQTT_MAX_PACKET_BYTES (256 * 1024)

/* Encoders write into out (capacity cap) and return the packet length, or
 * -1 if it does not fit or an argument is out of range. */
int mqtt_encode_connect(uint8_t *out, size_t cap, const char *client_id, int clean_session,
                        uint16_t keepalive_s);
int mqtt_encode_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *const *topics,
                          size_t n_topics, uint8_t qos);
int mqtt_encode_publish(uint8_t *out, size_t cap, const char *topic, const void *payload,
                        size_t payload_len, uint8_t qos, uint16_t packet_id);
int mqtt_encode_puback(uint8_t *out, size_t cap, uint16_t packet_id);
int mqtt_encode_simple(uint8_t *out, size_t cap, int type);   /* PINGREQ, DISCONNECT */

/* One decoded incoming packet; pointers point into the caller's buffer. */
typedef struct {
    int type;
    uint8_t flags;              /* low nibble of the first byte */
    uint16_t packet_id;         /* PUBACK, SUBACK, PUBLISH with QoS > 0 */
    uint8_t return_code;        /* CONNACK: return code; SUBACK: first granted QoS */
    const char *topic;          /* PUBLISH */
    size_t topic_len;
    const uint8_t *payload;     /* PUBLISH */
    size_t payload_len;
} mqtt_packet_t;

/* Decodes the packet at the start of buf. Returns the bytes it used (> 0),
 * 0 if buf holds only part of a packet so far, -1 if the bytes are not MQTT. */
int mqtt_decode(const uint8_t *buf, size_t len, mqtt_packet_t *pkt);

#endif
