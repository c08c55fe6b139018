/* The text of one mail: RFC 5322 headers (Date, Message-ID, From, To,
 * Reply-To, Subject) and a MIME text/plain UTF-8 body, quoted-printable so
 * that no line is longer than 76 characters whatever the visitor wrote.
 * Header values never carry a line break: control characters become spaces
 * before anything else, and the Subject is RFC 2047-encoded. */
#include "mail.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} buf_t;

static void buf_add(buf_t *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger) {
            b->failed = true;
            return;
        }
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_str(buf_t *b, const char *s) { buf_add(b, s, strlen(s)); }

static char *buf_take(buf_t *b, size_t *len)
{
    if (b->failed || !b->data) {
        free(b->data);
        return NULL;
    }
    if (len)
        *len = b->len;
    return b->data;
}

/* s with control characters as spaces, into b. */
static void buf_clean(buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        char ch = (unsigned char) *s < 0x20 || *s == 0x7f ? ' ' : *s;
        buf_add(b, &ch, 1);
    }
}

static void base64(buf_t *b, const unsigned char *in, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned) in[i] << 16 | (i + 1 < n ? (unsigned) in[i + 1] << 8 : 0)
                   | (i + 2 < n ? in[i + 2] : 0);
        char out[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
                        i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
        buf_add(b, out, 4);
    }
}

static bool short_ascii(const char *s)
{
    size_t n = 0;
    for (; *s; s++, n++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f)
            return false;
    return n <= 60 && strstr(s - n, "=?") == NULL;
}

char *mail_encode_header(const char *value)
{
    buf_t clean = { 0 }, b = { 0 };
    buf_clean(&clean, value ? value : "");
    buf_str(&clean, "");
    char *s = buf_take(&clean, NULL);
    if (!s)
        return NULL;
    if (short_ascii(s))
        return s;
    /* At most 45 bytes a word: 60 base64 characters, a 72-character word.
     * A word ends on a character boundary (RFC 2047 section 5). */
    size_t n = strlen(s), at = 0;
    buf_str(&b, "");
    while (at < n) {
        size_t take = n - at < 45 ? n - at : 45;
        while (take < n - at && take > 0 && ((unsigned char) s[at + take] & 0xC0) == 0x80)
            take--;
        if (take == 0)
            take = n - at < 45 ? n - at : 45;   /* not UTF-8: cut anywhere */
        if (at > 0)
            buf_str(&b, "\r\n ");
        buf_str(&b, "=?UTF-8?B?");
        base64(&b, (const unsigned char *) s + at, take);
        buf_str(&b, "?=");
        at += take;
    }
    free(s);
    return buf_take(&b, NULL);
}

/* One encoded character of a QP line, soft-breaking first if it would not fit. */
static void qp_put(buf_t *b, const char *enc, size_t n, size_t *col)
{
    if (*col + n > 75) {
        buf_str(b, "=\r\n");
        *col = 0;
    }
    buf_add(b, enc, n);
    *col += n;
}

char *mail_qp_encode(const char *text, size_t *len)
{
    buf_t b = { 0 };
    size_t col = 0;
    buf_str(&b, "");
    for (const unsigned char *p = (const unsigned char *) (text ? text : ""); *p; p++) {
        if (*p == '\r')
            continue;                     /* lines end in LF; CRLF is written below */
        if (*p == '\n') {
            buf_str(&b, "\r\n");
            col = 0;
            continue;
        }
        bool line_end = p[1] == '\n' || p[1] == '\0' || (p[1] == '\r' && p[2] == '\n');
        bool literal = (*p >= 33 && *p <= 126 && *p != '=' && !(*p == '.' && col == 0))
                    || ((*p == ' ' || *p == '\t') && !line_end);
        char enc[4];
        if (literal)
            qp_put(&b, (const char *) p, 1, &col);
        else {
            snprintf(enc, sizeof enc, "=%02X", *p);
            qp_put(&b, enc, 3, &col);
        }
    }
    return buf_take(&b, len);
}

static void add_date(buf_t *b, time_t t)
{
    static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    char line[64];
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    buf_str(b, line);
}

static void add_header(buf_t *b, const char *name, const char *value)
{
    buf_str(b, name);
    buf_str(b, ": ");
    buf_clean(b, value);
    buf_str(b, "\r\n");
}

static void add_addresses(buf_t *b, const mail_msg_t *m)
{
    add_header(b, "From", m->from);
    buf_str(b, "To: ");
    for (size_t i = 0; i < m->n_to; i++) {
        if (i > 0)
            buf_str(b, ",\r\n ");
        buf_clean(b, m->to[i]);
    }
    buf_str(b, "\r\n");
    if (m->reply_to && *m->reply_to)
        add_header(b, "Reply-To", m->reply_to);
}

char *mail_build(const mail_msg_t *m, size_t *len)
{
    buf_t b = { 0 };
    const char *at = m->from ? strchr(m->from, '@') : NULL;
    add_date(&b, m->date);
    buf_str(&b, "Message-ID: <");
    buf_clean(&b, m->id);
    buf_str(&b, "@");
    buf_clean(&b, at && at[1] ? at + 1 : "beseda.invalid");
    buf_str(&b, ">\r\n");
    add_addresses(&b, m);
    char *subject = mail_encode_header(m->subject);
    char *body = mail_qp_encode(m->body, NULL);
    if (subject && body) {
        buf_str(&b, "Subject: ");
        buf_str(&b, subject);
        buf_str(&b, "\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n"
                    "Auto-Submitted: auto-generated\r\n\r\n");
        buf_str(&b, body);
        if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
            buf_str(&b, "\r\n");
    } else
        b.failed = true;
    free(subject);
    free(body);
    return buf_take(&b, len);
}
