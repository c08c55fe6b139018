/* Visitor tokens: a signed token verifies; any change to it, another site,
 * another key, or age beyond the TTL refuses it. */
#include "check.h"
#include "token.h"
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SITE    "5d1c2b3a-0000-4000-8000-000000000001"
#define SITE2   "5d1c2b3a-0000-4000-8000-000000000002"
#define VISITOR "0b9d8c7e-1111-4111-8111-111111111111"
#define NOW     1700000000
#define TTL     15552000

static unsigned char key[TOKEN_KEY_BYTES];

static token_status_t verify(const char *token, const char *site, int64_t now)
{
    char visitor[UUID_STR_LEN];
    return token_verify(key, token, site, now, TTL, visitor);
}

static void test_round_trip(void)
{
    char *t = token_sign(key, SITE, VISITOR, NOW);
    CHECK(t != NULL, "sign returns a token");
    CHECK(t && strchr(t, '.') && !strchr(t, '=') && !strchr(t, '+') && !strchr(t, '/'),
          "token is base64url without padding, two parts");
    char visitor[UUID_STR_LEN] = "";
    CHECK(t && token_verify(key, t, SITE, NOW + 10, TTL, visitor) == TOKEN_OK,
          "fresh token verifies");
    CHECK(strcmp(visitor, VISITOR) == 0, "verify yields the visitor id");
    free(t);
}

static void test_tampering(void)
{
    char *t = token_sign(key, SITE, VISITOR, NOW);
    size_t len = strlen(t);
    int all_refused = 1;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.')
            continue;
        char saved = t[i];
        t[i] = saved == 'A' ? 'B' : 'A';
        if (verify(t, SITE, NOW) != TOKEN_BAD)
            all_refused = 0;
        t[i] = saved;
    }
    CHECK(all_refused, "changing any character of the token refuses it");
    char *cut = strndup(t, len - 1);
    CHECK(verify(cut, SITE, NOW) == TOKEN_BAD, "truncated MAC is refused");
    free(cut);
    /* Swap in a payload for another visitor under the old MAC. */
    char *other = token_sign(key, SITE, "0b9d8c7e-2222-4222-8222-222222222222", NOW);
    char forged[600];
    snprintf(forged, sizeof forged, "%.*s%s", (int) (strchr(other, '.') - other), other,
             strchr(t, '.'));
    CHECK(verify(forged, SITE, NOW) == TOKEN_BAD, "payload with another visitor's MAC is refused");
    free(other);
    free(t);
}

static void test_other_site_and_key(void)
{
    char *t = token_sign(key, SITE, VISITOR, NOW);
    CHECK(verify(t, SITE2, NOW) == TOKEN_BAD, "token for another site is refused");
    unsigned char key2[TOKEN_KEY_BYTES];
    token_key_derive("another secret of enough length", key2);
    char visitor[UUID_STR_LEN];
    CHECK(token_verify(key2, t, SITE, NOW, TTL, visitor) == TOKEN_BAD,
          "token signed with another secret is refused");
    free(t);
}

static void test_expiry(void)
{
    char *t = token_sign(key, SITE, VISITOR, NOW);
    CHECK(verify(t, SITE, NOW + TTL) == TOKEN_OK, "token at exactly its TTL still verifies");
    CHECK(verify(t, SITE, NOW + TTL + 1) == TOKEN_EXPIRED, "token older than its TTL is expired");
    CHECK(verify(t, SITE, NOW - TOKEN_CLOCK_SKEW_S - 1) == TOKEN_BAD,
          "token issued in the future beyond the skew is refused");
    free(t);
}

static void test_malformed(void)
{
    const char *bad[] = { "", ".", "abc", "abc.", ".abc", "!!!.###", "a.b.c",
                          "djF8eHx5fDE.AAAA", NULL };
    int all = 1;
    for (int i = 0; bad[i]; i++)
        if (verify(bad[i], SITE, NOW) != TOKEN_BAD)
            all = 0;
    CHECK(all, "malformed tokens are refused");
    CHECK(verify(NULL, SITE, NOW) == TOKEN_BAD, "NULL token is refused");
    char *huge = malloc(TOKEN_MAX_CHARS + 10);
    memset(huge, 'A', TOKEN_MAX_CHARS + 9);
    huge[TOKEN_MAX_CHARS + 9] = '\0';
    huge[20] = '.';
    CHECK(verify(huge, SITE, NOW) == TOKEN_BAD, "over-long token is refused");
    free(huge);
    /* A correctly signed payload that is not a v1 token must still be refused. */
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    const char *payload = "v2|" SITE "|" VISITOR "|1700000000";
    crypto_auth_hmacsha256(mac, (const unsigned char *) payload, strlen(payload), key);
    char p64[200], m64[100], tok[300];
    sodium_bin2base64(p64, sizeof p64, (const unsigned char *) payload, strlen(payload),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(m64, sizeof m64, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(tok, sizeof tok, "%s.%s", p64, m64);
    CHECK(verify(tok, SITE, NOW) == TOKEN_BAD, "signed payload of another version is refused");
    CHECK(token_sign(key, "a|b", VISITOR, NOW) == NULL, "sign refuses a '|' in an id");
}

/* Conversation ids issued to a visitor prove it; anything else does not. */
static void test_conversation_ids(void)
{
    char id[UUID_STR_LEN], id2[UUID_STR_LEN];
    conv_id_issue(key, SITE, VISITOR, id);
    conv_id_issue(key, SITE, VISITOR, id2);
    CHECK(beseda_is_uuid(id) && id[14] == '4' && strchr("89ab", id[19]) != NULL,
          "an issued id is a version-4 UUID with the RFC 4122 variant");
    CHECK(strcmp(id, id2) != 0, "two issued ids differ");
    CHECK(conv_id_issued(key, SITE, VISITOR, id), "an issued id is recognised");
    char upper[UUID_STR_LEN];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char) toupper((unsigned char) id[i]);
    CHECK(conv_id_issued(key, SITE, VISITOR, upper), "in upper case too");
    CHECK(!conv_id_issued(key, SITE2, VISITOR, id), "not for another site");
    CHECK(!conv_id_issued(key, SITE, "0b9d8c7e-1111-4111-8111-111111111112", id),
          "not for another visitor");
    unsigned char other_key[TOKEN_KEY_BYTES];
    token_key_derive("another secret, long enough", other_key);
    CHECK(!conv_id_issued(other_key, SITE, VISITOR, id), "not under another key");
    int refused = 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23 || i == 14 || i == 19)
            continue;
        char bad[UUID_STR_LEN];
        memcpy(bad, id, sizeof bad);
        bad[i] = bad[i] == '0' ? '1' : '0';
        refused += !conv_id_issued(key, SITE, VISITOR, bad);
    }
    CHECK(refused == 30, "any changed hex digit is refused");
    char random_id[UUID_STR_LEN];
    beseda_uuid(random_id);
    CHECK(!conv_id_issued(key, SITE, VISITOR, random_id), "a random UUID is not issued");
    CHECK(!conv_id_issued(key, SITE, VISITOR, "") && !conv_id_issued(key, SITE, VISITOR, "x")
          && !conv_id_issued(key, SITE, VISITOR, NULL), "malformed ids are refused");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    token_key_derive("a test secret, long enough", key);
    test_round_trip();
    test_tampering();
    test_other_site_and_key();
    test_expiry();
    test_malformed();
    test_conversation_ids();
    return CHECK_DONE();
}
