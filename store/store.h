/* What every part of the store shares: the context passed to handlers and the
 * error kinds a handler can end with (mapped to StoreReply.error_code). */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include "beseda.pb-c.h"
#include "db.h"
#include "mem.h"
#include "store_metrics.h"
#include <stdbool.h>
#include <stdint.h>

#define STORE_FETCH_MAX          200   /* messages per fetch (also the default) */
#define STORE_HISTORY_DEFAULT     20   /* conversations per history request */
#define STORE_HISTORY_MAX        100
#define STORE_HISTORY_MESSAGES   200   /* messages per conversation in history */
/* Byte budgets of a reply, counted as text plus STORE_MSG_OVERHEAD per
 * message (author, ids, JSON framing): a count alone lets 200 messages of
 * 8 KiB each make a multi-megabyte frame, one that a client's connection
 * could never take (docs/PROTOCOL.md, sync and history). */
#define STORE_FETCH_MAX_BYTES    (256 * 1024)  /* per fetch; then more = true */
#define STORE_HISTORY_MAX_BYTES  (256 * 1024)  /* per history, shared by its conversations */
#define STORE_MSG_OVERHEAD       256
#define STORE_QUEUE_MAX          100   /* unassigned conversations in site_queue */
#define STORE_XSTR(x) #x
#define STORE_STR(x) STORE_XSTR(x)   /* a number constant as SQL text */
#define STORE_TEXT_MAX_BYTES   65536   /* message body; the gateway enforces 8 KiB */
#define STORE_FIELD_MAX_BYTES   4096   /* ids, names, page fields, tokens */

typedef enum {
    STORE_OK = 0,
    STORE_BAD_REQUEST,      /* malformed request: fix it, do not retry */
    STORE_UNAVAILABLE,      /* PostgreSQL is down or the transaction failed: retry */
    STORE_INTERNAL,         /* unexpected failure (logged) */
    STORE_NO_CONVERSATION,  /* the conversation does not exist in this site */
    STORE_STALE_EPOCH,      /* a newer owner of the shard key wrote already */
    STORE_FORBIDDEN,        /* the conversation belongs to another site */
    STORE_CONFLICT,         /* admin: the e-mail is taken */
    STORE_NOT_FOUND,        /* admin: no such site or operator; settings: no such section */
    STORE_BAD_VALUE,        /* a field's value is refused; error_message names it */
    STORE_MISSING_FIELD,    /* a required field is absent; error_message names it */
    STORE_RATE_LIMITED      /* mail: too many transcripts of one conversation */
} store_err_t;

typedef struct {
    store_db_t *db;
    long session_ttl_s;     /* operator session lifetime */
    store_metrics_t *metrics;   /* NULL: not counted */
} store_ctx_t;

/* "bad_request", "unavailable", ...; "" for STORE_OK. */
const char *store_err_code(store_err_t err);

/* One handler per request kind (one file each); all but append, which goes
 * through the group commit in append.c. Each fills *reply's body, allocating
 * from mem, and returns STORE_OK or the error to report. */
store_err_t store_visitor_hello(store_ctx_t *ctx, const Beseda__StoreVisitorHello *req,
                                Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_fetch(store_ctx_t *ctx, const Beseda__StoreFetch *req,
                        Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_operator_login(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem);
/* operator_login in two halves, so that the password is verified off the
 * loop (auth_pool.h): look the operator up (reply->operator_ is set up, ok =
 * false), verify login->hash elsewhere, then finish (session, chats).
 * An unknown e-mail leaves row NULL and hash a dummy one: verifying it costs
 * as long as a real one, so timing does not tell which e-mails exist. */
typedef struct {
    const PGresult *row;                 /* the operator, kept in mem; NULL if unknown */
    char hash[128];                      /* crypto_pwhash_STRBYTES */
} store_login_t;
store_err_t store_login_lookup(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                               Beseda__StoreReply *reply, store_mem_t *mem, store_login_t *login);
store_err_t store_login_finish(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                               Beseda__StoreReply *reply, store_mem_t *mem,
                               const store_login_t *login, bool password_ok);
store_err_t store_operator_session(store_ctx_t *ctx, const Beseda__StoreOperatorSession *req,
                                   Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_operator_logout(store_ctx_t *ctx, const Beseda__StoreOperatorLogout *req,
                                  Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_assign(store_ctx_t *ctx, const Beseda__StoreAssign *req,
                         Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_site_queue(store_ctx_t *ctx, const Beseda__StoreSiteQueue *req,
                             Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_history(store_ctx_t *ctx, const Beseda__StoreHistory *req,
                          Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_close(store_ctx_t *ctx, const Beseda__StoreClose *req,
                        Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_get_conversation(store_ctx_t *ctx, const Beseda__StoreGetConversation *req,
                                   Beseda__StoreReply *reply, store_mem_t *mem);

/* Routing (docs/STORE.md "Routing"): route.c, settings.c. */
store_err_t store_route(store_ctx_t *ctx, const Beseda__StoreRoute *req,
                        Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_route_step(store_ctx_t *ctx, const Beseda__StoreRouteStep *req,
                             Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_accept(store_ctx_t *ctx, const Beseda__StoreAccept *req,
                         Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_due(store_ctx_t *ctx, const Beseda__StoreDue *req,
                      Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_settings_get(store_ctx_t *ctx, const Beseda__StoreSettingsGet *req,
                               Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_settings_put(store_ctx_t *ctx, const Beseda__StoreSettingsPut *req,
                               Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_survey(store_ctx_t *ctx, const Beseda__StoreSurvey *req,
                         Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_groups(store_ctx_t *ctx, const Beseda__StoreGroups *req,
                         Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_inbox(store_ctx_t *ctx, const Beseda__StoreInbox *req,
                        Beseda__StoreReply *reply, store_mem_t *mem);
/* The archive: search or one conversation read-only (archive.c). */
store_err_t store_archive(store_ctx_t *ctx, const Beseda__StoreArchive *req,
                          Beseda__StoreReply *reply, store_mem_t *mem);
/* Sets reply->error_message (copied into mem) and returns err. */
store_err_t store_fail_with(Beseda__StoreReply *reply, store_mem_t *mem, store_err_t err,
                            const char *message);

/* Administration (besedactl), in admin_requests.c; they share accounts.c
 * with the beseda-store subcommands. */
store_err_t store_create_site(store_ctx_t *ctx, const Beseda__StoreCreateSite *req,
                              Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_list_sites(store_ctx_t *ctx, const Beseda__StoreListSites *req,
                             Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_create_operator(store_ctx_t *ctx, const Beseda__StoreCreateOperator *req,
                                  Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_list_operators(store_ctx_t *ctx, const Beseda__StoreListOperators *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_reset_password(store_ctx_t *ctx, const Beseda__StoreResetPassword *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem);
store_err_t store_queue_lengths(store_ctx_t *ctx, const Beseda__StoreQueueLengths *req,
                                Beseda__StoreReply *reply, store_mem_t *mem);

/* Turns reply into the answer for err (nothing for STORE_OK). */
void store_reply_error(Beseda__StoreReply *reply, store_err_t err);
/* Dispatches any request but append; sets reply->error_code on failure. */
void store_handle(store_ctx_t *ctx, const Beseda__StoreRequest *req,
                  Beseda__StoreReply *reply, store_mem_t *mem);

#endif
