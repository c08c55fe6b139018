/* Fuzz target: what the gateway does with bytes from the bus for a client
 * (gw_dispatch.c handle_reply / handle_delivery): unpack a RouterReply or a
 * Delivery, render it as the JSON frame of docs/PROTOCOL.md for each role
 * and each request kind that can wait for a reply.
 *
 * Input: one selector byte, then the protobuf bytes. Selector bit 0: Delivery
 * (1) or RouterReply (0); the remaining bits pick the request kind.
 * Property: whatever the bytes, a rendered frame is a valid JSON object in
 * valid UTF-8 (the browser would otherwise drop the connection). */
#include "fuzz.h"
#include "gw_frame.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    return 0;
}

static void check_frame(char *text, const char *what)
{
    if (!text)
        return;        /* nothing for this client: allowed */
    FUZZ_CHECK(gw_utf8_valid((const unsigned char *) text, strlen(text)), what);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    FUZZ_CHECK(j && json_is_object(j) && json_is_string(json_object_get(j, "type")), what);
    json_decref(j);
    free(text);
}

static void reply(const uint8_t *data, size_t size, gw_req_kind_t kind)
{
    Beseda__RouterReply *r = beseda__router_reply__unpack(NULL, size, data);
    if (!r)
        return;        /* logged and answered "internal" by the gateway */
    /* ref/arg come from the client's own frame (already validated UTF-8). */
    for (int role = GW_ROLE_VISITOR; role <= GW_ROLE_OPERATOR; role++)
        check_frame(gw_reply_json((gw_role_t) role, kind, "c-\"1\"\xe2\x80\xa8",
                                  "c0000000-0000-4000-8000-000000000002", r),
                    "reply frame");
    beseda__router_reply__free_unpacked(r, NULL);
}

static void delivery(const uint8_t *data, size_t size)
{
    Beseda__Delivery *d = beseda__delivery__unpack(NULL, size, data);
    if (!d)
        return;
    for (int role = GW_ROLE_VISITOR; role <= GW_ROLE_OPERATOR; role++)
        check_frame(gw_delivery_json(d, (gw_role_t) role), "delivery frame");
    beseda__delivery__free_unpacked(d, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    if (sel & 1)
        delivery(data + 1, size - 1);
    else
        reply(data + 1, size - 1, (gw_req_kind_t) ((sel >> 1) % (GW_REQ_TRANSCRIPT + 1)));
    return 0;
}
