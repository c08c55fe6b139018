/* Fuzz target: the visitor token verifier (router/token.c) with arbitrary
 * token text, as it arrives in a hello's "token" field, and the signer with
 * arbitrary visitor ids.
 *
 * Properties: verify never accepts a token whose visitor is not a UUID or
 * that is for another site; a token signed here verifies as the same
 * visitor when the visitor is a UUID, and never otherwise (token_parse
 * refuses it). Conversation ids: one issued for any visitor text is
 * recognised for it and not for another site; a recognised one is a UUID. */
#include "fuzz.h"
#include "token.h"

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef"    /* as in make_corpus.c */
#define FUZZ_SITE   "5d1c0000-0000-4000-8000-000000000001"
#define FUZZ_NOW_S  1700000000
#define FUZZ_TTL_S  (30 * 86400)

static unsigned char key[TOKEN_KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (sodium_init() < 0)
        abort();
    token_key_derive(FUZZ_SECRET, key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    char visitor[UUID_STR_LEN];
    memset(visitor, 'x', sizeof visitor);
    token_status_t st = token_verify(key, text, FUZZ_SITE, FUZZ_NOW_S, FUZZ_TTL_S, visitor);
    if (st == TOKEN_OK)
        FUZZ_CHECK(beseda_is_uuid(visitor), "a good token names a UUID visitor");
    FUZZ_CHECK(token_verify(key, text, "other-site", FUZZ_NOW_S, FUZZ_TTL_S, visitor) == TOKEN_BAD,
               "no token is good for another site");

    /* The input as a visitor id: sign, then verify. */
    char *t = token_sign(key, FUZZ_SITE, text, FUZZ_NOW_S);
    if (t) {
        memset(visitor, 0, sizeof visitor);
        st = token_verify(key, t, FUZZ_SITE, FUZZ_NOW_S + 1, FUZZ_TTL_S, visitor);
        if (beseda_is_uuid(text))
            FUZZ_CHECK(st == TOKEN_OK && strcmp(visitor, text) == 0, "sign/verify round trip");
        else
            FUZZ_CHECK(st == TOKEN_BAD, "a token for a non-UUID visitor is refused");
        free(t);
    }
    /* The input as a conversation id: only ids issued here are recognised. */
    FUZZ_CHECK(!conv_id_issued(key, FUZZ_SITE, "0b9d8c7e-1111-4111-8111-111111111111", text)
               || beseda_is_uuid(text), "only a UUID can be an issued conversation id");
    char conv[UUID_STR_LEN];
    conv_id_issue(key, FUZZ_SITE, text, conv);
    FUZZ_CHECK(conv_id_issued(key, FUZZ_SITE, text, conv), "an issued id is recognised");
    FUZZ_CHECK(!conv_id_issued(key, "other-site", text, conv), "not for another site");
    free(text);
    return 0;
}
