/* E-mail (docs/STORE.md "Mail"): the requests that queue mail
 * (mail.c), the mail text itself (mime.c) and the mailer thread that sends
 * the outbox (mailer.c). */
#ifndef STORE_MAIL_H
#define STORE_MAIL_H

#include "store.h"
#include <stddef.h>
#include <time.h>

#define MAIL_CLIENT_ID_MAX            128    /* bytes of an offline message's client id */
/* An offline message's text: the gateway holds it to 8 KiB as a chat
 * message's (docs/PROTOCOL.md); the store's own wall is wider. */
#define MAIL_OFFLINE_TEXT_MAX_CHARS  8192
#define MAIL_OFFLINE_TEXT_MAX_BYTES 16384
#define MAIL_TRANSCRIPTS_MAX            3    /* transcripts queued per conversation, ever */
#define MAIL_BACKOFF_MAX                8    /* steps in --mail-backoff */

store_err_t store_offline(store_ctx_t *ctx, const Beseda__StoreOffline *req,
                          Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_transcript(store_ctx_t *ctx, const Beseda__StoreTranscript *req,
                             Beseda__StoreReply *reply, store_mem_t *mem);
/* The site's mail that is not sent yet (pending) or never will be (failed),
 * newest first, with attempts and the last error, as an ApiDocument (JSON;
 * docs/PROTOCOL.md GET /api/v1/mail/outbox). */
#define MAIL_OUTBOX_LIST_MAX          100
store_err_t store_mail_outbox(store_ctx_t *ctx, const Beseda__StoreMailOutbox *req,
                              Beseda__StoreReply *reply, store_mem_t *mem);
/* An arena copy of s with every control character made a space. */
char *store_mail_one_line(store_mem_t *mem, const char *s);

/* ---- mime.c: one mail as sent over SMTP (RFC 5322 + MIME, CRLF lines). */
typedef struct {
    const char *id;              /* the outbox row: Message-ID <id@from's domain> */
    const char *from;
    const char *const *to;
    size_t n_to;
    const char *reply_to;        /* "" for none */
    const char *subject;         /* UTF-8; RFC 2047-encoded unless short ASCII */
    const char *body;            /* UTF-8, LF or CRLF lines; quoted-printable */
    time_t date;
} mail_msg_t;

/* The whole message (headers, blank line, body) in a malloc()ed NUL-ended
 * buffer, *len its length; NULL when out of memory. Every header value has
 * its control characters made spaces first: nothing in them can start a
 * header of its own. */
char *mail_build(const mail_msg_t *m, size_t *len);
/* Quoted-printable (RFC 2045) of UTF-8 text with CRLF line ends, malloc()ed. */
char *mail_qp_encode(const char *text, size_t *len);
/* A header value as RFC 2047 encoded words (UTF-8, base64), folded onto
 * continuation lines; short printable ASCII is kept as is. malloc()ed. */
char *mail_encode_header(const char *value);

/* ---- mailer.c: one thread per store sending due outbox rows. */
typedef struct {
    const char *conninfo;        /* its own PostgreSQL connection */
    int poll_ms;                 /* how often it looks for due rows */
    int backoff_s[MAIL_BACKOFF_MAX];   /* the wait after the 1st, 2nd, ... failure */
    size_t n_backoff;
    int max_attempts;            /* failed after this many */
    store_metrics_t *metrics;    /* NULL: not counted */
} mailer_opts_t;

typedef struct store_mailer_t store_mailer_t;

/* Parses "60,300,900,3600" into opts; -1 if it is not 1..MAIL_BACKOFF_MAX
 * numbers of seconds 0..86400. */
int mailer_parse_backoff(const char *text, mailer_opts_t *opts);
/* Starts the thread; NULL on failure (logged). */
store_mailer_t *store_mailer_start(const mailer_opts_t *opts);
/* Stops it (a send in progress ends within its timeouts) and frees it. */
void store_mailer_stop(store_mailer_t **self_p);

#endif
