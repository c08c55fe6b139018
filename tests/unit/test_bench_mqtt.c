/* The load generator's MQTT 3.1.1 codec: known byte layouts from the
 * standard, round trips, partial and malformed input. */
#include "check.h"
#include "mqtt.h"

#include <string.h>

static void test_connect_bytes(void)
{
    uint8_t buf[64];
    int n = mqtt_encode_connect(buf, sizeof buf, "ab", 0, 60);
    const uint8_t want[] = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 60, 0, 2, 'a', 'b'};
    CHECK(n == (int) sizeof want && memcmp(buf, want, sizeof want) == 0, "CONNECT matches the standard's layout");
    n = mqtt_encode_connect(buf, sizeof buf, "ab", 1, 0);
    CHECK(n > 0 && buf[9] == 0x02, "clean session sets flag bit 1");
    CHECK(mqtt_encode_connect(buf, 8, "ab", 0, 60) == -1, "CONNECT that does not fit fails");
}

static void test_subscribe_bytes(void)
{
    uint8_t buf[64];
    const char *topics[] = {"a/b", "c"};
    int n = mqtt_encode_subscribe(buf, sizeof buf, 7, topics, 2, 1);
    const uint8_t want[] = {0x82, 12, 0, 7, 0, 3, 'a', '/', 'b', 1, 0, 1, 'c', 1};
    CHECK(n == (int) sizeof want && memcmp(buf, want, sizeof want) == 0, "SUBSCRIBE has flags 0010 and QoS per topic");
    CHECK(mqtt_encode_subscribe(buf, sizeof buf, 0, topics, 2, 1) == -1, "packet id 0 is refused");
}

static void test_publish_roundtrip(void)
{
    uint8_t buf[512];
    char payload[300];
    memset(payload, 'x', sizeof payload);
    int n = mqtt_encode_publish(buf, sizeof buf, "conv/1", payload, sizeof payload, 1, 513);
    CHECK(n == 3 + 2 + 6 + 2 + 300, "PUBLISH with a two-byte remaining length");
    mqtt_packet_t p;
    int used = mqtt_decode(buf, (size_t) n, &p);
    CHECK(used == n, "decode uses the whole packet");
    CHECK(p.type == MQTT_PUBLISH && p.packet_id == 513 && ((p.flags >> 1) & 3) == 1, "type, id and QoS survive");
    CHECK(p.topic_len == 6 && memcmp(p.topic, "conv/1", 6) == 0, "topic survives");
    CHECK(p.payload_len == 300 && memcmp(p.payload, payload, 300) == 0, "payload survives");
    CHECK(mqtt_decode(buf, (size_t) n - 1, &p) == 0, "a partial packet asks for more");
    CHECK(mqtt_decode(buf, 1, &p) == 0, "one byte asks for more");
    n = mqtt_encode_publish(buf, sizeof buf, "t", "hi", 2, 0, 0);
    CHECK(n == 7 && mqtt_decode(buf, 7, &p) == 7 && p.payload_len == 2 && p.packet_id == 0, "QoS 0 has no packet id");
}

static void test_incoming_acks(void)
{
    uint8_t connack[] = {0x20, 2, 0, 0};
    uint8_t suback[] = {0x90, 3, 0, 9, 1};
    uint8_t pingresp[] = {0xd0, 0};
    uint8_t two[8];
    mqtt_packet_t p;
    CHECK(mqtt_decode(connack, 4, &p) == 4 && p.type == MQTT_CONNACK && p.return_code == 0, "CONNACK accepted");
    CHECK(mqtt_decode(suback, 5, &p) == 5 && p.packet_id == 9 && p.return_code == 1, "SUBACK id and granted QoS");
    CHECK(mqtt_decode(pingresp, 2, &p) == 2 && p.type == MQTT_PINGRESP, "PINGRESP");
    mqtt_encode_puback(two, 4, 300);
    mqtt_encode_puback(two + 4, 4, 301);
    CHECK(mqtt_decode(two, 8, &p) == 4 && p.packet_id == 300, "first of two packets in one buffer");
    CHECK(mqtt_decode(two + 4, 4, &p) == 4 && p.packet_id == 301, "second of two packets");
}

static void test_malformed(void)
{
    uint8_t bad_len[] = {0x30, 0xff, 0xff, 0xff, 0xff, 0x01};
    uint8_t bad_type[] = {0x10, 0};
    uint8_t short_topic[] = {0x30, 3, 0, 9, 'a'};
    uint8_t bad_connack[] = {0x20, 3, 0, 0, 0};
    mqtt_packet_t p;
    CHECK(mqtt_decode(bad_len, sizeof bad_len, &p) == -1, "a five-byte length is refused");
    CHECK(mqtt_decode(bad_type, sizeof bad_type, &p) == -1, "a CONNECT from the server is refused");
    CHECK(mqtt_decode(short_topic, sizeof short_topic, &p) == -1, "a topic longer than the packet is refused");
    CHECK(mqtt_decode(bad_connack, sizeof bad_connack, &p) == -1, "a CONNACK of the wrong size is refused");
    uint8_t buf[4];
    CHECK(mqtt_encode_simple(buf, sizeof buf, MQTT_PINGREQ) == 2 && buf[0] == 0xc0, "PINGREQ");
    CHECK(mqtt_encode_simple(buf, sizeof buf, MQTT_PUBLISH) == -1, "simple packets only");
}

int main(void)
{
    test_connect_bytes();
    test_subscribe_bytes();
    test_publish_roundtrip();
    test_incoming_acks();
    test_malformed();
    return CHECK_DONE();
}
