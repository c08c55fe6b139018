/* Visitor token sign/verify; see token.h for the format.
 *
 * Why HMAC and not a random id looked up in the database: a hello must work
 * on any router without a round trip, and a forged token must never name
 * somebody else's visitor. The MAC covers the whole payload text, so the
 * site, the visitor and the issue time cannot be changed separately. */
#include "token.h"
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_VERSION       "v1"
#define TOKEN_KEY_CONTEXT   "beseda visitor token key v1"
#define PAYLOAD_MAX_CHARS   256
#define B64_VARIANT         sodium_base64_VARIANT_URLSAFE_NO_PADDING

void token_key_derive(const char *secret, unsigned char key[TOKEN_KEY_BYTES])
{
    crypto_generichash(key, TOKEN_KEY_BYTES, (const unsigned char *) secret, strlen(secret),
                       (const unsigned char *) TOKEN_KEY_CONTEXT, strlen(TOKEN_KEY_CONTEXT));
}

char *token_sign(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                 const char *visitor_id, int64_t issued_s)
{
    char payload[PAYLOAD_MAX_CHARS];
    int n = snprintf(payload, sizeof payload, TOKEN_VERSION "|%s|%s|%" PRId64, site_id,
                     visitor_id, issued_s);
    if (n < 0 || (size_t) n >= sizeof payload || strchr(site_id, '|') || strchr(visitor_id, '|'))
        return NULL;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *) payload, (size_t) n, key);

    size_t p64 = sodium_base64_ENCODED_LEN((size_t) n, B64_VARIANT);
    size_t m64 = sodium_base64_ENCODED_LEN(sizeof mac, B64_VARIANT);
    char *out = malloc(p64 + m64 + 1);     /* both lengths count their NUL */
    if (!out)
        return NULL;
    sodium_bin2base64(out, p64, (const unsigned char *) payload, (size_t) n, B64_VARIANT);
    size_t at = strlen(out);
    out[at++] = '.';
    sodium_bin2base64(out + at, m64, mac, sizeof mac, B64_VARIANT);
    return out;
}

/* Splits "<b64 payload>.<b64 mac>" and decodes both; 0 on success. */
static int token_decode(const char *token, char payload[PAYLOAD_MAX_CHARS], size_t *payload_len,
                        unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    size_t len = strnlen(token, TOKEN_MAX_CHARS + 1);
    const char *dot = strchr(token, '.');
    if (len == 0 || len > TOKEN_MAX_CHARS || !dot || dot == token)
        return -1;
    const char *end;
    if (sodium_base642bin((unsigned char *) payload, PAYLOAD_MAX_CHARS - 1, token,
                          (size_t) (dot - token), NULL, payload_len, &end, B64_VARIANT) != 0
        || end != dot)
        return -1;
    payload[*payload_len] = '\0';
    size_t mac_len;
    const char *mac64 = dot + 1;
    if (sodium_base642bin(mac, crypto_auth_hmacsha256_BYTES, mac64, strlen(mac64), NULL,
                          &mac_len, &end, B64_VARIANT) != 0
        || *end != '\0' || mac_len != crypto_auth_hmacsha256_BYTES)
        return -1;
    return 0;
}

/* Parses "v1|site|visitor|issued" (already authenticated) into its parts. */
static int token_parse(char *payload, char **site, char **visitor, int64_t *issued)
{
    if (strlen(payload) != strcspn(payload, "\r\n"))   /* no line breaks in a payload */
        return -1;
    char *save = NULL;
    char *version = strtok_r(payload, "|", &save);
    *site = strtok_r(NULL, "|", &save);
    *visitor = strtok_r(NULL, "|", &save);
    char *when = strtok_r(NULL, "|", &save);
    if (!version || !*site || !*visitor || !when || strtok_r(NULL, "|", &save))
        return -1;
    if (strcmp(version, TOKEN_VERSION) != 0 || !beseda_is_uuid(*visitor))
        return -1;
    char *end;
    long long v = strtoll(when, &end, 10);
    if (*end || end == when || v < 0)
        return -1;
    *issued = (int64_t) v;
    return 0;
}

token_status_t token_verify(const unsigned char key[TOKEN_KEY_BYTES], const char *token,
                            const char *site_id, int64_t now_s, int64_t ttl_s,
                            char visitor_out[UUID_STR_LEN])
{
    char payload[PAYLOAD_MAX_CHARS];
    size_t payload_len = 0;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (!token || !site_id || token_decode(token, payload, &payload_len, mac) != 0)
        return TOKEN_BAD;
    if (crypto_auth_hmacsha256_verify(mac, (const unsigned char *) payload, payload_len, key) != 0)
        return TOKEN_BAD;
    char *site, *visitor;
    int64_t issued;
    if (payload_len != strlen(payload) || token_parse(payload, &site, &visitor, &issued) != 0)
        return TOKEN_BAD;
    if (strcmp(site, site_id) != 0 || issued > now_s + TOKEN_CLOCK_SKEW_S)
        return TOKEN_BAD;
    if (now_s - issued > ttl_s)
        return TOKEN_EXPIRED;
    snprintf(visitor_out, UUID_STR_LEN, "%s", visitor);
    return TOKEN_OK;
}

/* ------------------------------------------------------- conversation ids */

#define CONV_ID_CONTEXT     "beseda conversation id v1|"
#define CONV_ID_MAC_BYTES   8

static void update_lower(crypto_auth_hmacsha256_state *st, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char) tolower((unsigned char) *s);
        crypto_auth_hmacsha256_update(st, &c, 1);
    }
}

/* The MAC of a conversation id's first 8 bytes (ids compared lower-case). */
static void conv_id_mac(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                        const char *visitor_id, const unsigned char nonce[8],
                        unsigned char out[CONV_ID_MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, TOKEN_KEY_BYTES);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) CONV_ID_CONTEXT,
                                  strlen(CONV_ID_CONTEXT));
    update_lower(&st, site_id);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) "|", 1);
    update_lower(&st, visitor_id);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *) "|", 1);
    crypto_auth_hmacsha256_update(&st, nonce, 8);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, mac, CONV_ID_MAC_BYTES);
    out[0] = (unsigned char) ((out[0] & 0x3f) | 0x80);      /* the UUID variant */
}

void conv_id_issue(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                   const char *visitor_id, char out[UUID_STR_LEN])
{
    unsigned char b[16];
    randombytes_buf(b, 8);
    b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);           /* version 4 */
    conv_id_mac(key, site_id, visitor_id, b, b + 8);
    snprintf(out, UUID_STR_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
             b[12], b[13], b[14], b[15]);
}

bool conv_id_issued(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                    const char *visitor_id, const char *id)
{
    unsigned char b[16], mac[CONV_ID_MAC_BYTES];
    size_t n = 0;
    if (!site_id || !visitor_id || !beseda_is_uuid(id)
        || sodium_hex2bin(b, sizeof b, id, strlen(id), "-", &n, NULL) != 0 || n != sizeof b)
        return false;
    conv_id_mac(key, site_id, visitor_id, b, mac);
    return sodium_memcmp(mac, b + 8, CONV_ID_MAC_BYTES) == 0;
}
