/* The mail text the mailer sends (store/mime.c): RFC 2047 subjects cut on
 * character boundaries, quoted-printable bodies with short lines, headers
 * that no control character can break, and the backoff option's parser. */
#include "check.h"
#include "../../store/mail.h"
#include <stdlib.h>
#include <string.h>

static bool lines_at_most(const char *s, size_t max)
{
    size_t col = 0;
    for (; *s; s++) {
        if (*s == '\n') {
            col = 0;
            continue;
        }
        if (*s != '\r' && ++col > max)
            return false;
    }
    return true;
}

static void test_header(void)
{
    char *h = mail_encode_header("Hello");
    CHECK(h && strcmp(h, "Hello") == 0, "short ASCII is kept as is");
    free(h);
    h = mail_encode_header("Hi\r\nBcc: evil@x.test");
    CHECK(h && strcmp(h, "Hi  Bcc: evil@x.test") == 0, "CR and LF become spaces");
    free(h);
    h = mail_encode_header("Привет");
    CHECK(h && strcmp(h, "=?UTF-8?B?0J/RgNC40LLQtdGC?=") == 0, "UTF-8 is base64 encoded");
    free(h);
    h = mail_encode_header("Сообщение от Ивана Петровича Сидорова из Москвы, очень длинное");
    CHECK(h && strstr(h, "?=\r\n =?UTF-8?B?") != NULL, "a long subject is folded into several words");
    CHECK(h && lines_at_most(h, 76), "every folded line is short");
    free(h);
    h = mail_encode_header("=?UTF-8?B?abc?=");
    CHECK(h && strncmp(h, "=?UTF-8?B?", 10) == 0 && strcmp(h, "=?UTF-8?B?abc?=") != 0,
          "text that looks like an encoded word is encoded itself");
    free(h);
}

static void test_qp(void)
{
    char *q = mail_qp_encode("a=b\nline \n.dot", NULL);
    CHECK(q && strcmp(q, "a=3Db\r\nline=20\r\n=2Edot") == 0, "=, trailing space and a leading dot are encoded");
    free(q);
    q = mail_qp_encode("Привет", NULL);
    CHECK(q && strcmp(q, "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82") == 0, "UTF-8 bytes are hex");
    free(q);
    char big[2001];
    memset(big, 'x', 2000);
    big[2000] = '\0';
    q = mail_qp_encode(big, NULL);
    CHECK(q && lines_at_most(q, 76), "a 2000-byte line is soft-broken");
    free(q);
    q = mail_qp_encode("a\r\nb", NULL);
    CHECK(q && strcmp(q, "a\r\nb") == 0, "CRLF stays one line end");
    free(q);
}

static void test_build(void)
{
    const char *to[] = { "a@x.test", "b@x.test" };
    mail_msg_t m = { .id = "1234", .from = "chat@shop.test", .to = to, .n_to = 2,
                     .reply_to = "v@x.test\r\nBcc: e@x.test", .subject = "Тема", .body = "Текст\n",
                     .date = 0 };
    size_t len = 0;
    char *s = mail_build(&m, &len);
    CHECK(s && len == strlen(s), "the length is returned");
    CHECK(s && strstr(s, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"), "an RFC 5322 date");
    CHECK(s && strstr(s, "Message-ID: <1234@shop.test>\r\n"), "a Message-ID on the sender's domain");
    CHECK(s && strstr(s, "From: chat@shop.test\r\nTo: a@x.test,\r\n b@x.test\r\n"), "From and To");
    CHECK(s && strstr(s, "Reply-To: v@x.test  Bcc: e@x.test\r\n"), "a header value cannot start a new line");
    CHECK(s && !strstr(s, "\r\nBcc:"), "no Bcc header");
    CHECK(s && strstr(s, "Content-Type: text/plain; charset=utf-8\r\n"), "a UTF-8 text/plain body");
    CHECK(s && strstr(s, "\r\n\r\n=D0=A2"), "the body follows the blank line, encoded");
    free(s);
}

static void test_backoff(void)
{
    mailer_opts_t o;
    CHECK(mailer_parse_backoff("60,300,900,3600", &o) == 0 && o.n_backoff == 4 && o.backoff_s[3] == 3600,
          "the default list");
    CHECK(mailer_parse_backoff("1", &o) == 0 && o.n_backoff == 1, "one step");
    CHECK(mailer_parse_backoff("", &o) < 0, "an empty list is refused");
    CHECK(mailer_parse_backoff("1,,2", &o) < 0, "an empty step is refused");
    CHECK(mailer_parse_backoff("-1", &o) < 0, "a negative step is refused");
    CHECK(mailer_parse_backoff("1x", &o) < 0, "a non-number is refused");
    CHECK(mailer_parse_backoff("1,2,3,4,5,6,7,8,9", &o) < 0, "too many steps are refused");
}

int main(void)
{
    test_header();
    test_qp();
    test_build();
    test_backoff();
    return CHECK_DONE();
}
