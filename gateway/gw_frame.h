/* Client frames <-> bus messages: the whole of docs/PROTOCOL.md section 1 that
 * does not need a socket. JSON text in, a validated frame and a packed
 * RouterRequest out; RouterReply / Delivery in, JSON text out.
 *
 * Size and UTF-8 checks happen before gw_frame_parse (they close the
 * connection, which is the connection layer's business); everything else a
 * frame can get wrong is found here and reported as a PROTOCOL.md error code. */
#ifndef BESEDA_GW_FRAME_H
#define BESEDA_GW_FRAME_H

#include "gw_limits.h"
#include "beseda.pb-c.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { GW_ROLE_VISITOR = 0, GW_ROLE_OPERATOR = 1 } gw_role_t;

/* Where a connection is in its login: before hello/login, while its answer
 * is awaited, after the welcome. */
typedef enum { GW_AUTH_NONE = 0, GW_AUTH_PENDING, GW_AUTH_DONE } gw_auth_t;

/* What a frame asks for; also tags a request so that its reply is translated
 * the right way. */
typedef enum {
    GW_REQ_NONE = 0,           /* nothing for the bus (a bad frame) */
    GW_REQ_PING,               /* answered by the gateway itself */
    GW_REQ_VISITOR_HELLO,
    GW_REQ_OPERATOR_LOGIN,
    GW_REQ_OPERATOR_RESUME,
    GW_REQ_SEND,
    GW_REQ_TYPING,
    GW_REQ_SYNC,
    GW_REQ_STATUS,
    GW_REQ_HISTORY,
    GW_REQ_CLOSE,
    GW_REQ_PRESENCE_BEAT,      /* made by the gateway, never by a client */
    GW_REQ_OPERATOR_GONE,
    GW_REQ_LOGOUT,             /* an operator ends their session */
    /* routing, transfer, team chat, visitor forms (docs/ROUTING.md) */
    GW_REQ_ACCEPT,             /* an operator takes a ringing chat */
    GW_REQ_TRANSFER,
    GW_REQ_TEAM_SEND,
    GW_REQ_TEAM_SYNC,
    GW_REQ_SURVEY,             /* visitor: pre-chat survey answers */
    GW_REQ_OFFLINE,            /* visitor: the offline form */
    GW_REQ_TRANSCRIPT,         /* visitor: mail me this chat */
    /* HTTP API (gw_api.c), never from a WebSocket frame */
    GW_REQ_API_SETTINGS_GET,
    GW_REQ_API_SETTINGS_PUT,
    GW_REQ_API_OPERATORS,
    GW_REQ_API_STATUS,
    GW_REQ_API_MAIL_OUTBOX,
    GW_REQ_API_INBOX,          /* the inbox: list, reply, done */
    GW_REQ_API_ARCHIVE,        /* the archive: search, one conversation */
    GW_REQ_KIND_COUNT
} gw_req_kind_t;

/* A request of the HTTP API: answered on an HTTP connection (gw_api.c). */
#define GW_REQ_IS_API(kind) ((kind) >= GW_REQ_API_SETTINGS_GET && (kind) <= GW_REQ_API_ARCHIVE)

#define GW_REF_MAX   (GW_MAX_CLIENT_ID * 4 + 1)   /* a client_id in UTF-8 */
#define GW_ARG_MAX   64                           /* a UUID or a status word */
#define GW_SYNC_LIMIT 200                         /* messages per `messages` reply */
#define GW_NOTE_MAX_CHARS   2000                  /* a transfer's internal note */
#define GW_GROUP_ID_MAX     32                    /* a group id: a-z 0-9 _ - */
#define GW_NAME_MAX_CHARS   100                   /* survey / offline form: name */
#define GW_EMAIL_MAX_BYTES  254                   /* RFC 5321 path limit */
#define GW_PHONE_MAX_CHARS  32
#define GW_ANSWER_MAX_CHARS 200                   /* survey: the chosen answer */

typedef struct {
    gw_req_kind_t kind;
    const char *error_code;          /* NULL when the frame is good */
    char error_message[160];
    char ref[GW_REF_MAX];            /* for error frames: client_id or type; may be "" */
    char req[GW_REF_MAX];            /* the client's request id (`req`), echoed; may be "" */
    char arg[GW_ARG_MAX];            /* what the reply needs: conversation, visitor or status */
    char arg2[GW_ARG_MAX];           /* a second id (transfer: the operator), lower-cased */
    /* Validated fields; they point into root and live until gw_frame_clear.
     * Optional ones absent from the frame are "". */
    const char *site, *token, *email, *password, *session;
    const char *conversation, *client_id, *text, *status, *visitor;
    const char *page_url, *page_title, *page_referrer, *page_language;
    const char *to_operator, *to_group, *note, *name, *phone, *answer;
    uint64_t after;
    json_t *root;
} gw_frame_t;

/* Identity and address that every RouterRequest of a connection carries. */
typedef struct {
    const char *gateway_id;
    const char *conn_id;
    const char *ip;
    const char *site_id;       /* bound after the welcome, else "" or NULL */
    const char *visitor_id;
    const char *operator_id;
    const char *user_agent;    /* from the WebSocket handshake; goes into PageInfo */
} gw_identity_t;

/* Parses and validates one text frame for a connection of `role` in login
 * state `auth`. Returns 0 and a good frame, or -1 with error_code, message and
 * (when it could be read) ref set. Always call gw_frame_clear afterwards. */
int gw_frame_parse(const char *data, size_t len, gw_role_t role, gw_auth_t auth,
                   const gw_limits_t *limits, gw_frame_t *frame);
void gw_frame_clear(gw_frame_t *frame);

/* The shard key of the frame's request: the conversation for send, typing,
 * sync and close; the site for a visitor's hello and for an operator's other
 * requests; the connection id for login/resume (no site is known yet). */
const char *gw_frame_shard(const gw_frame_t *frame, const gw_identity_t *id);

/* Packs the frame's RouterRequest (malloc'd; *len set) or returns NULL. */
uint8_t *gw_frame_pack(const gw_frame_t *frame, const gw_identity_t *id, size_t *len);
/* The same with RouterRequest.deadline_unix_ms (0: none). */
uint8_t *gw_frame_pack_until(const gw_frame_t *frame, const gw_identity_t *id,
                             int64_t deadline_unix_ms, size_t *len);
/* Requests the gateway makes on its own. */
uint8_t *gw_pack_presence_beat(const gw_identity_t *id, const char *status, size_t *len);
uint8_t *gw_pack_operator_gone(const gw_identity_t *id, size_t *len);

/* JSON texts (malloc'd, NUL-terminated; free with free()). */
char *gw_error_json(const char *code, const char *message, const char *ref);
/* An error frame that also names the request it answers: `req` (the
 * client's request id) and `conversation` (what the request was about);
 * either may be NULL or "" (then absent). */
char *gw_error_json_about(const char *code, const char *message, const char *ref,
                          const char *req, const char *conversation);
/* The same with "retry_after_ms" (when >= 0): a retryable refusal. */
char *gw_error_json_retry(const char *code, const char *message, const char *ref,
                          const char *req, const char *conversation, int retry_after_ms);
/* The conversation a request of `kind` with reply argument `arg` is about
 * (send, typing, sync, close, accept, transfer, transcript), else "". */
const char *gw_kind_conversation(gw_req_kind_t kind, const char *arg);
/* Puts "req" first into a frame's JSON text (which it frees) when req is
 * not empty; the text itself else. NULL in, NULL out. */
char *gw_with_req(char *text, const char *req);
char *gw_simple_json(const char *type);          /* {"type":"pong"} etc. */
/* The frame a client gets for a reply to a request of `kind`; NULL when the
 * client gets nothing (typing acks, presence beats) or out of memory.
 * ref/arg are those of the frame that made the request. */
char *gw_reply_json(gw_role_t role, gw_req_kind_t kind, const char *ref, const char *arg,
                    const Beseda__RouterReply *reply);
/* The same for a request that carried a request id: the answer, and an
 * error, echo it as `req`; an error about a conversation names it. */
char *gw_reply_json_req(gw_role_t role, gw_req_kind_t kind, const char *ref, const char *req,
                        const char *arg, const Beseda__RouterReply *reply);
/* The frame a connection of `role` gets for a delivery; NULL when it is not
 * for this role (typing goes to the other side only) or not understood. */
char *gw_delivery_json(const Beseda__Delivery *delivery, gw_role_t role);

/* Default English text for an error code. */
const char *gw_error_text(const char *code);

#endif
