/* Visitor tokens (docs/PROTOCOL.md §4): proof that a browser is the visitor it
 * claims to be, without a lookup. A token is
 *   base64url(payload) "." base64url(HMAC-SHA256(key, payload))
 * with payload "v1|<site>|<visitor>|<issued unix seconds>". The key is derived
 * from BESEDA_SECRET, so every router of a deployment accepts every token. */
#ifndef BESEDA_ROUTER_TOKEN_H
#define BESEDA_ROUTER_TOKEN_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include "util.h"

#define TOKEN_KEY_BYTES   crypto_auth_hmacsha256_KEYBYTES
#define TOKEN_MAX_CHARS   512     /* longer input is refused before decoding */
#define TOKEN_CLOCK_SKEW_S 300    /* a token "issued" this far in the future is still fine */

typedef enum { TOKEN_OK = 0, TOKEN_BAD = -1, TOKEN_EXPIRED = -2 } token_status_t;

/* Derives the HMAC key from the configured secret (crypto_generichash with a
 * fixed context, so the secret itself never keys anything directly). */
void token_key_derive(const char *secret, unsigned char key[TOKEN_KEY_BYTES]);

/* Returns a newly allocated token, or NULL on failure (bad input, no memory). */
char *token_sign(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                 const char *visitor_id, int64_t issued_s);

/* Checks the MAC (in constant time), the version, that the token is for
 * site_id, and its age against ttl_s. On TOKEN_OK the visitor id is copied
 * into visitor_out. Malformed, forged or other-site tokens are TOKEN_BAD. */
token_status_t token_verify(const unsigned char key[TOKEN_KEY_BYTES], const char *token,
                            const char *site_id, int64_t now_s, int64_t ttl_s,
                            char visitor_out[UUID_STR_LEN]);

/* Conversation ids are the server's to issue (docs/PROTOCOL.md, `welcome`):
 * the fresh id of a visitor's `new` conversation carries its own proof,
 * so that any router can tell, without a lookup, that it was issued to
 * this visitor of this site, and a send to an id the visitor made up never
 * creates a conversation. The id is a version-4-shaped UUID whose first 8
 * bytes are random (version nibble 4) and whose last 8 are the first 8 of
 * HMAC-SHA256(key, "beseda conversation id v1|<site>|<visitor>|" + first 8
 * bytes), with the variant bits (10) set over the MAC's top two. */
void conv_id_issue(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                   const char *visitor_id, char out[UUID_STR_LEN]);
/* True when id was made by conv_id_issue for this site and visitor. */
bool conv_id_issued(const unsigned char key[TOKEN_KEY_BYTES], const char *site_id,
                    const char *visitor_id, const char *id);

#endif
