/* The mailer: one thread per store, with its own PostgreSQL connection,
 * sending the outbox (mail_outbox, migration 0016; docs/STORE.md "Mail").
 *
 * Every poll it claims a few due rows FOR UPDATE SKIP LOCKED, setting a
 * lease and counting the attempt, so several stores share the outbox without
 * sending a row twice while they live; a store that dies mid-send leaves the
 * row to be claimed again when the lease ends. Each row is sent over SMTP
 * with libcurl using the site's offline settings as they are now, then
 * marked sent, or given its next attempt after the backoff (failed after
 * max_attempts). A site without mail settings fails the same way, with
 * last_error saying what is missing. */
#include "mail.h"
#include "db.h"
#include "log.h"
#include "settings_check.h"
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAILER_BATCH          10    /* rows claimed at once */
#define MAILER_LEASE_S       300    /* > the longest send (curl timeouts below) */
#define MAILER_CONNECT_S      15
#define MAILER_TIMEOUT_S     120
#define MAILER_ERROR_MAX     500    /* bytes of last_error */
#define MAILER_RECIPIENTS_MAX 50

struct store_mailer_t {
    mailer_opts_t opts;
    store_db_t *db;
    pthread_t thread;
    atomic_int stop;
};

typedef struct {
    const char *data;
    size_t len, pos;
} upload_t;

static size_t read_upload(char *out, size_t size, size_t n, void *arg)
{
    upload_t *u = arg;
    size_t room = size * n, left = u->len - u->pos;
    size_t take = left < room ? left : room;
    memcpy(out, u->data + u->pos, take);
    u->pos += take;
    return take;
}

int mailer_parse_backoff(const char *text, mailer_opts_t *opts)
{
    size_t n = 0;
    const char *p = text;
    while (p && *p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 86400 || n == MAIL_BACKOFF_MAX || (*end && *end != ','))
            return -1;
        opts->backoff_s[n++] = (int) v;
        p = *end ? end + 1 : end;
    }
    opts->n_backoff = n;
    return n > 0 ? 0 : -1;
}

/* ------------------------------------------------------------ one row */

typedef struct {
    const char *id, *kind, *reply_to, *subject, *body;
    int attempts;
    json_t *recipients;          /* array of strings */
    json_t *offline;             /* the site's offline settings, {} when none */
} outbox_row_t;

static const char *setting(const json_t *offline, const char *key)
{
    const char *s = json_string_value(json_object_get(offline, key));
    return s ? s : "";
}

/* The addresses to send to: the row's, or else the site's offline.to.
 * Returns how many (all valid), or -1 with err set. */
static int recipients(const outbox_row_t *row, const char **to, char *err, size_t cap)
{
    const json_t *list = json_array_size(row->recipients) > 0 ? row->recipients
                                                              : json_object_get(row->offline, "to");
    size_t i, n = 0;
    const json_t *v;
    json_array_foreach(list, i, v) {
        const char *s = json_string_value(v);
        if (!settings_valid_email(s)) {
            snprintf(err, cap, "recipient %zu is not an e-mail address", i + 1);
            return -1;
        }
        if (n < MAILER_RECIPIENTS_MAX)
            to[n++] = s;
    }
    if (n == 0)
        snprintf(err, cap, "no recipients: the site's offline.to is empty");
    return n > 0 ? (int) n : -1;
}

static bool smtp_settings_ok(const json_t *offline, char *err, size_t cap)
{
    const char *url = setting(offline, "smtp_url"), *from = setting(offline, "from");
    if (!*url)
        snprintf(err, cap, "the site has no mail server: offline.smtp_url is not set");
    else if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
        snprintf(err, cap, "offline.smtp_url must start with smtp:// or smtps://");
    else if (!settings_valid_email(from))
        snprintf(err, cap, "the site has no sender: offline.from is not set");
    else
        return true;
    return false;
}

static struct curl_slist *rcpt_list(const char **to, int n)
{
    struct curl_slist *list = NULL;
    for (int i = 0; i < n; i++) {
        struct curl_slist *more = curl_slist_append(list, to[i]);
        if (!more) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = more;
    }
    return list;
}

/* Ends a transfer in progress when the store is stopping. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void) dt, (void) dn, (void) ut, (void) un;
    return atomic_load((atomic_int *) arg) ? 1 : 0;
}

/* Sets up the transfer; false when curl refused an option. A password is
 * only ever sent over TLS (smtps://, or STARTTLS which is then required). */
static bool setup_curl(CURL *curl, const json_t *offline, struct curl_slist *rcpt, upload_t *up,
                       char *errbuf, atomic_int *stop)
{
    const char *user = setting(offline, "smtp_user");
    bool ok = curl_easy_setopt(curl, CURLOPT_URL, setting(offline, "smtp_url")) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_MAIL_FROM, setting(offline, "from")) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_READDATA, up) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) up->len) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long) MAILER_CONNECT_S) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long) MAILER_TIMEOUT_S) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_XFERINFODATA, stop) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) == CURLE_OK
        && curl_easy_setopt(curl, CURLOPT_USE_SSL, (long) (*user ? CURLUSESSL_ALL : CURLUSESSL_TRY))
           == CURLE_OK;
    if (ok && *user)
        ok = curl_easy_setopt(curl, CURLOPT_USERNAME, user) == CURLE_OK
          && curl_easy_setopt(curl, CURLOPT_PASSWORD, setting(offline, "smtp_password")) == CURLE_OK;
    return ok;
}

static bool smtp_send(store_mailer_t *self, const json_t *offline, const char **to, int n,
                      const char *text, size_t len, char *err, size_t cap)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *rcpt = rcpt_list(to, n);
    char errbuf[CURL_ERROR_SIZE] = "";
    upload_t up = { text, len, 0 };
    bool sent = false;
    if (!curl || !rcpt)
        snprintf(err, cap, "out of memory");
    else if (!setup_curl(curl, offline, rcpt, &up, errbuf, &self->stop))
        snprintf(err, cap, "cannot set up the SMTP transfer");
    else {
        CURLcode rc = curl_easy_perform(curl);
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK)
            sent = true;
        else
            snprintf(err, cap, "%s (SMTP %ld)%s%s", curl_easy_strerror(rc), code,
                     errbuf[0] ? ": " : "", errbuf);
    }
    curl_slist_free_all(rcpt);
    if (curl)
        curl_easy_cleanup(curl);
    return sent;
}

/* Sends one row; true if the server took it, else err says why. */
static bool send_row(store_mailer_t *self, const outbox_row_t *row, char *err, size_t cap)
{
    const char *to[MAILER_RECIPIENTS_MAX];
    if (!smtp_settings_ok(row->offline, err, cap))
        return false;
    int n = recipients(row, to, err, cap);
    if (n < 0)
        return false;
    mail_msg_t m = { .id = row->id, .from = setting(row->offline, "from"), .to = to, .n_to = (size_t) n,
                     .reply_to = settings_valid_email(row->reply_to) ? row->reply_to : "",
                     .subject = row->subject, .body = row->body, .date = time(NULL) };
    size_t len;
    char *text = mail_build(&m, &len);
    if (!text) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    bool sent = smtp_send(self, row->offline, to, n, text, len, err, cap);
    free(text);
    return sent;
}

/* ------------------------------------------------------------ the outbox */

static void mark_sent(store_mailer_t *self, const char *id)
{
    const char *params[] = { id };
    store_db_exec(self->db,
        "UPDATE mail_outbox SET state = 'sent', sent_at = now(), lease_until = NULL, last_error = ''"
        " WHERE id = $1::uuid", 1, params);
}

static void mark_failed(store_mailer_t *self, const outbox_row_t *row, const char *err)
{
    size_t step = (size_t) (row->attempts > 0 ? row->attempts - 1 : 0);
    if (step >= self->opts.n_backoff)
        step = self->opts.n_backoff - 1;
    char wait[16], max[16], attempt[16], text[MAILER_ERROR_MAX + 1];
    snprintf(attempt, sizeof attempt, "%d", row->attempts);
    snprintf(wait, sizeof wait, "%d", self->opts.backoff_s[step]);
    snprintf(max, sizeof max, "%d", self->opts.max_attempts);
    snprintf(text, sizeof text, "%s", err);
    for (char *p = text; *p; p++)        /* curl's text is ASCII; keep it one line */
        if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
            *p = ' ';
    const char *params[] = { row->id, text, max, wait };
    PGresult *res;
    bool given_up = false;
    if (store_db_query(self->db,
            "UPDATE mail_outbox SET lease_until = NULL, last_error = $2,"
            " state = CASE WHEN attempts >= $3::int THEN 'failed' ELSE 'pending' END,"
            " next_attempt_at = now() + make_interval(secs => $4::int) WHERE id = $1::uuid"
            " RETURNING state = 'failed'", 4, params, &res) == DB_OK) {
        given_up = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
    }
    store_metrics_t *m = self->opts.metrics;
    beseda_counter_inc(m ? (given_up ? m->mail_failed : m->mail_retry) : NULL);
    log_warn(given_up ? "mail not sent, given up" : "mail not sent, will retry", "id", row->id,
             "kind", row->kind, "attempt", attempt, "error", text);
}

static void handle_row(store_mailer_t *self, const PGresult *res, int i)
{
    outbox_row_t row = { .id = PQgetvalue(res, i, 0), .kind = PQgetvalue(res, i, 1),
                         .reply_to = PQgetvalue(res, i, 3), .subject = PQgetvalue(res, i, 4),
                         .body = PQgetvalue(res, i, 5), .attempts = atoi(PQgetvalue(res, i, 6)),
                         .recipients = json_loads(PQgetvalue(res, i, 2), 0, NULL),
                         .offline = json_loads(PQgetvalue(res, i, 7), 0, NULL) };
    char err[MAILER_ERROR_MAX + 1] = "";
    if (!json_is_array(row.recipients) || !json_is_object(row.offline))
        snprintf(err, sizeof err, "cannot read the row's recipients or the site's settings");
    else if (send_row(self, &row, err, sizeof err)) {
        mark_sent(self, row.id);
        beseda_counter_inc(self->opts.metrics ? self->opts.metrics->mail_sent : NULL);
        log_info("mail sent", "id", row.id, "kind", row.kind);
    }
    if (err[0])
        mark_failed(self, &row, err);
    json_decref(row.recipients);
    json_decref(row.offline);
}

/* Claims and sends one batch; how many rows it claimed (-1: database down). */
static int run_batch(store_mailer_t *self)
{
    PGresult *res;
    const char *params[] = { STORE_STR(MAILER_LEASE_S), STORE_STR(MAILER_BATCH) };
    db_status_t st = store_db_query(self->db,
        "UPDATE mail_outbox o SET lease_until = now() + make_interval(secs => $1::int),"
        "       attempts = o.attempts + 1"
        "  FROM (SELECT id FROM mail_outbox"
        "         WHERE state = 'pending' AND next_attempt_at <= now()"
        "           AND (lease_until IS NULL OR lease_until < now())"
        "         ORDER BY next_attempt_at LIMIT $2::int FOR UPDATE SKIP LOCKED) due"
        " WHERE o.id = due.id"
        " RETURNING o.id, o.kind, array_to_json(o.recipients)::text, o.reply_to, o.subject, o.body,"
        "       o.attempts, coalesce((SELECT ss.offline::text FROM site_settings ss"
        "                              WHERE ss.site_id = o.site_id), '{}')", 2, params, &res);
    if (st != DB_OK)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n && !atomic_load(&self->stop); i++)
        handle_row(self, res, i);
    PQclear(res);
    return n;
}

static void nap(store_mailer_t *self, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&self->stop); slept += 20) {
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static void *mailer_main(void *arg)
{
    store_mailer_t *self = arg;
    while (!atomic_load(&self->stop)) {
        int n = run_batch(self);
        if (n < MAILER_BATCH)             /* a full batch: more may be due at once */
            nap(self, n < 0 ? self->opts.poll_ms + 1000 : self->opts.poll_ms);
    }
    return NULL;
}

store_mailer_t *store_mailer_start(const mailer_opts_t *opts)
{
    store_mailer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->opts = *opts;
    if (self->opts.n_backoff == 0 || self->opts.max_attempts < 1 || self->opts.poll_ms < 1
        || !(self->db = store_db_new(opts->conninfo))) {
        log_error("cannot start the mailer");
        free(self);
        return NULL;
    }
    self->opts.conninfo = NULL;           /* the db keeps its own copy */
    atomic_init(&self->stop, 0);
    if (pthread_create(&self->thread, NULL, mailer_main, self) != 0) {
        log_error("cannot start the mailer thread");
        store_db_destroy(&self->db);
        free(self);
        return NULL;
    }
    return self;
}

void store_mailer_stop(store_mailer_t **self_p)
{
    store_mailer_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    store_db_destroy(&self->db);
    free(self);
    *self_p = NULL;
}
