/* Requests that send mail (proto StoreOffline, StoreTranscript; docs/STORE.md
 * "Mail"). Each checks its fields here, then one SQL function (migration
 * 0016) stores what it reports and queues the outbox row in one transaction;
 * the mailer thread (mailer.c) sends it later. */
#include "mail.h"
#include "reply.h"
#include "rows.h"
#include "settings_check.h"
#include "utf8.h"
#include "validate.h"
#include <stdio.h>
#include <string.h>

/* An arena copy of s with every control character (CR, LF, tab, ...) made a
 * space: a name ends up in a mail's Subject, where a line break would let
 * a visitor write headers of their own. */
char *store_mail_one_line(store_mem_t *mem, const char *s)
{
    char *out = store_mem_strdup(mem, s ? s : "");
    if (!out)
        return NULL;
    for (char *p = out; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = ' ';
    return out;
}

static store_err_t ok_reply(Beseda__StoreReply *reply, store_mem_t *mem)
{
    Beseda__Empty *ok = store_mem_alloc(mem, sizeof *ok);
    if (!ok)
        return STORE_INTERNAL;
    beseda__empty__init(ok);
    reply->body_case = BESEDA__STORE_REPLY__BODY_OK;
    reply->ok = ok;
    return STORE_OK;
}

/* The form's fields; STORE_OK, or the error with msg naming the field. */
static store_err_t check_offline(const Beseda__OfflineMessage *m, const char *ip, char *msg, size_t cap)
{
    const char *email = m->email ? m->email : "", *phone = m->phone ? m->phone : "";
    const char *text = m->text ? m->text : "";
    if (!m->client_msg_id || !*m->client_msg_id) {
        snprintf(msg, cap, "client_id: required");
        return STORE_MISSING_FIELD;
    }
    if (!store_valid_text(m->client_msg_id, MAIL_CLIENT_ID_MAX)) {
        snprintf(msg, cap, "client_id: at most %d bytes of UTF-8", MAIL_CLIENT_ID_MAX);
        return STORE_BAD_VALUE;
    }
    if (!store_valid_text(ip, 64)) {
        snprintf(msg, cap, "ip: at most 64 bytes");
        return STORE_BAD_VALUE;
    }
    if (strspn(text, " \t\r\n") == strlen(text)) {
        snprintf(msg, cap, "text: required");
        return STORE_MISSING_FIELD;
    }
    if (!store_valid_text(text, MAIL_OFFLINE_TEXT_MAX_BYTES) || beseda_utf8_chars(text) > MAIL_OFFLINE_TEXT_MAX_CHARS) {
        snprintf(msg, cap, "text: at most %d characters of UTF-8", MAIL_OFFLINE_TEXT_MAX_CHARS);
        return STORE_BAD_VALUE;
    }
    if (!store_valid_text(m->name, 400) || beseda_utf8_chars(m->name ? m->name : "") > 100) {
        snprintf(msg, cap, "name: at most 100 characters of UTF-8");
        return STORE_BAD_VALUE;
    }
    if (!*email && !*phone) {
        snprintf(msg, cap, "email or phone: required");
        return STORE_MISSING_FIELD;
    }
    if (*email && !settings_valid_email(email)) {
        snprintf(msg, cap, "email: not an e-mail address");
        return STORE_BAD_VALUE;
    }
    if (*phone && !settings_valid_phone(phone)) {
        snprintf(msg, cap, "phone: not a phone number");
        return STORE_BAD_VALUE;
    }
    return STORE_OK;
}

store_err_t store_offline(store_ctx_t *ctx, const Beseda__StoreOffline *req,
                          Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->visitor_id) || !req->message)
        return STORE_BAD_REQUEST;
    const Beseda__OfflineMessage *m = req->message;
    const char *ip = req->ip ? req->ip : "";
    char msg[160] = "";
    store_err_t err = check_offline(m, ip, msg, sizeof msg);
    if (err != STORE_OK)
        return store_fail_with(reply, mem, err, msg);
    char *name = store_mail_one_line(mem, m->name);
    if (!name)
        return STORE_INTERNAL;
    const char *params[] = { req->site_id, req->visitor_id, m->client_msg_id, name,
                             m->email ? m->email : "", m->phone ? m->phone : "", m->text, ip };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT beseda_offline($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8)", 8, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    const char *status = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    if (strcmp(status, "ok") == 0 || strcmp(status, "duplicate") == 0)
        return ok_reply(reply, mem);       /* a retry: stored and queued the first time */
    if (strcmp(status, "no_visitor") == 0)
        return store_fail_with(reply, mem, STORE_NOT_FOUND, "no such visitor");
    if (strcmp(status, "rate_limited") == 0)
        return store_fail_with(reply, mem, STORE_RATE_LIMITED,
                               "offline: too many messages from this address; try later");
    return STORE_INTERNAL;
}

store_err_t store_transcript(store_ctx_t *ctx, const Beseda__StoreTranscript *req,
                             Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->visitor_id))
        return STORE_BAD_REQUEST;
    if (!req->conversation_id || !store_valid_uuid(req->conversation_id))
        return store_fail_with(reply, mem, STORE_NO_CONVERSATION, "no such conversation");
    if (!req->email || !*req->email)
        return store_fail_with(reply, mem, STORE_MISSING_FIELD, "email: required");
    if (!settings_valid_email(req->email))
        return store_fail_with(reply, mem, STORE_BAD_VALUE, "email: not an e-mail address");
    const char *params[] = { req->site_id, req->visitor_id, req->conversation_id, req->email,
                             STORE_STR(MAIL_TRANSCRIPTS_MAX) };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT beseda_transcript($1::uuid, $2::uuid, $3::uuid, $4, $5::int)", 5, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    const char *status = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    if (strcmp(status, "ok") == 0)
        return ok_reply(reply, mem);
    if (strcmp(status, "no_conversation") == 0)
        return store_fail_with(reply, mem, STORE_NO_CONVERSATION, "no such conversation");
    if (strcmp(status, "forbidden") == 0)
        return store_fail_with(reply, mem, STORE_FORBIDDEN, "not your conversation");
    if (strcmp(status, "empty") == 0)
        return store_fail_with(reply, mem, STORE_BAD_VALUE, "conversation: it has no messages yet");
    if (strcmp(status, "rate_limited") == 0)
        return store_fail_with(reply, mem, STORE_RATE_LIMITED,
                               "transcript: at most " STORE_STR(MAIL_TRANSCRIPTS_MAX) " per conversation");
    if (strcmp(status, "rate_limited_site") == 0)
        return store_fail_with(reply, mem, STORE_RATE_LIMITED,
                               "transcript: too many sent to this address or from this site; try later");
    return STORE_INTERNAL;
}

/* GET /api/v1/mail/outbox: the JSON is built by PostgreSQL in one statement
 * (counts and the newest unsent rows). A row without recipients of its own
 * goes to the site's offline.to as it is now: shown as such. */
store_err_t store_mail_outbox(store_ctx_t *ctx, const Beseda__StoreMailOutbox *req,
                              Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id))
        return STORE_BAD_REQUEST;
    char limit[16];
    unsigned n = req->limit > 0 && req->limit < MAIL_OUTBOX_LIST_MAX ? req->limit : MAIL_OUTBOX_LIST_MAX;
    snprintf(limit, sizeof limit, "%u", n);
    const char *params[] = { req->site_id, limit };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT json_build_object("
        " 'pending', (SELECT count(*) FROM mail_outbox WHERE site_id = $1::uuid AND state = 'pending'),"
        " 'failed', (SELECT count(*) FROM mail_outbox WHERE site_id = $1::uuid AND state = 'failed'),"
        " 'sent_last_day', (SELECT count(*) FROM mail_outbox WHERE site_id = $1::uuid AND state = 'sent'"
        "                   AND sent_at > now() - interval '1 day'),"
        " 'messages', coalesce((SELECT json_agg(json_build_object("
        "     'id', m.id, 'kind', m.kind, 'state', m.state,"
        "     'to', CASE WHEN cardinality(m.recipients) > 0 THEN m.recipients ELSE beseda_mail_to(m.site_id) END,"
        "     'subject', m.subject, 'attempts', m.attempts, 'last_error', m.last_error,"
        "     'created_ms', (extract(epoch FROM m.created_at) * 1000)::bigint,"
        "     'next_attempt_ms', CASE WHEN m.state = 'pending'"
        "                        THEN (extract(epoch FROM m.next_attempt_at) * 1000)::bigint END)"
        "     ORDER BY m.created_at DESC, m.id)"
        "   FROM (SELECT * FROM mail_outbox WHERE site_id = $1::uuid AND state <> 'sent'"
        "         ORDER BY created_at DESC, id LIMIT $2::int) m), '[]'::json))::text",
        2, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))       /* res is cleared then */
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_INTERNAL;
    return store_reply_json(reply, mem, PQgetvalue(res, 0, 0));
}
