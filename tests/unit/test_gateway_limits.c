/* Edge limits of the gateway: UTF-8, nesting depth, blank text, the token
 * bucket, and the topic map and static-file mapping (pure helpers). */
#include "check.h"
#include "gw_limits.h"
#include "gw_proxy.h"
#include "gw_static.h"
#include "gw_topics.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static int utf8(const char *s)
{
    return gw_utf8_valid((const unsigned char *) s, strlen(s));
}

static void test_utf8(void)
{
    CHECK(utf8("plain ascii"), "ascii is valid UTF-8");
    CHECK(utf8("привет, 世界, 😀"), "2-, 3- and 4-byte sequences are valid");
    CHECK(gw_utf8_valid((const unsigned char *) "a\0b", 3), "NUL is valid UTF-8");
    CHECK(!utf8("\xff\xfe"), "0xFF/0xFE are invalid");
    CHECK(!utf8("\xc0\x80"), "overlong 2-byte NUL is invalid");
    CHECK(!utf8("\xe0\x80\xaf"), "overlong 3-byte form is invalid");
    CHECK(!utf8("\xf0\x80\x80\xaf"), "overlong 4-byte form is invalid");
    CHECK(!utf8("\xed\xa0\x80"), "UTF-16 surrogate is invalid");
    CHECK(!utf8("\xf4\x90\x80\x80"), "code point above U+10FFFF is invalid");
    CHECK(!utf8("\xd0"), "truncated sequence is invalid");
    CHECK(!utf8("\xe4\xb8"), "truncated 3-byte sequence is invalid");
    CHECK(!utf8("\x80"), "lone continuation byte is invalid");
    CHECK(!utf8("ab\xd0x"), "bad continuation byte is invalid");
    CHECK(utf8("\xf4\x8f\xbf\xbf"), "U+10FFFF is valid");
}

static void test_depth(void)
{
    const char *eight = "{\"a\":[[[[[[[1]]]]]]]}";
    const char *nine = "{\"a\":[[[[[[[[1]]]]]]]]}";
    CHECK(gw_json_depth_ok(eight, strlen(eight), 8), "depth 8 is allowed");
    CHECK(!gw_json_depth_ok(nine, strlen(nine), 8), "depth 9 is refused");
    const char *in_string = "{\"a\":\"[[[[[[[[[[[[\"}";
    CHECK(gw_json_depth_ok(in_string, strlen(in_string), 8), "brackets inside strings do not count");
    const char *escaped = "{\"a\":\"\\\"[[[[[[[[[[\"}";
    CHECK(gw_json_depth_ok(escaped, strlen(escaped), 8), "an escaped quote does not end the string");
    const char *siblings = "[[1],[2],[3],[4],[5],[6],[7],[8],[9],[10]]";
    CHECK(gw_json_depth_ok(siblings, strlen(siblings), 2), "siblings do not add up");
    CHECK(gw_json_depth_ok("]]]]", 4, 1), "stray closers do not underflow");
}

/* 256 KiB of spaces: linear is well under a millisecond; the quadratic
 * version (strlen per character) took over a second. */
static void test_blank_is_linear(void)
{
    size_t len = 256 * 1024;
    char *text = malloc(len + 2);
    if (!text)
        return;
    memset(text, ' ', len);
    text[len] = 'x';
    text[len + 1] = '\0';
    int64_t started = beseda_mono_ms();
    int blank = gw_text_blank(text);
    int64_t took = beseda_mono_ms() - started;
    CHECK(!blank && took < 250, "a long whitespace text is checked in linear time");
    free(text);
}

static void test_blank(void)
{
    CHECK(gw_text_blank(""), "empty text is blank");
    CHECK(gw_text_blank(" \t\r\n"), "ASCII whitespace is blank");
    CHECK(gw_text_blank("\xc2\xa0\xe3\x80\x80\xe2\x80\x8b"), "NBSP, ideographic and zero-width spaces are blank");
    CHECK(!gw_text_blank("  a  "), "a letter is not blank");
    CHECK(!gw_text_blank("\xd1\x8f"), "a Cyrillic letter is not blank");
    CHECK(gw_text_controls_ok("a\tb\r\nc \xd1\x8f"), "tab, CR and LF are allowed in text");
    CHECK(!gw_text_controls_ok("a\x01"), "U+0001 is refused in text");
    CHECK(!gw_text_controls_ok("\x1f"), "U+001F is refused in text");
    CHECK(!gw_text_controls_ok("\x1b[31m"), "ESC is refused in text");
    CHECK(!gw_text_blank(" \xe3\x80"), "a sequence cut by the end of the text is not blank");
    test_blank_is_linear();
}

static void test_bucket(void)
{
    gw_bucket_t b;
    gw_bucket_init(&b, 5, 20, 1000);
    int taken = 0;
    for (int i = 0; i < 40; i++)
        taken += gw_bucket_take(&b, 1000);
    CHECK(taken == 20, "a burst of 20 passes, the rest is refused");
    CHECK(!gw_bucket_take(&b, 1100), "100 ms later there is no whole token yet");
    CHECK(gw_bucket_take(&b, 1200), "200 ms later one token is back (5/s)");
    CHECK(!gw_bucket_take(&b, 1200), "and only one");
    taken = 0;
    for (int i = 0; i < 40; i++)
        taken += gw_bucket_take(&b, 100000);
    CHECK(taken == 20, "a long pause refills to the burst, no more");
    CHECK(!gw_bucket_take(&b, 50), "a clock going backwards adds nothing");
}

/* How many of n frames sent at once (at `now`) a bucket lets through. */
static int burst_passes(gw_bucket_t *b, int n, int64_t now)
{
    int taken = 0;
    for (int i = 0; i < n; i++)
        taken += gw_bucket_take(b, now);
    return taken;
}

static void test_rates_per_role(void)
{
    gw_rates_t rates;
    gw_rates_default(&rates);
    double rate, burst;
    gw_rates_pick(&rates, 0, &rate, &burst);
    CHECK(rate == 5 && burst == 20, "visitors (and anyone before login): 5/s, burst 20");
    gw_rates_pick(&rates, 1, &rate, &burst);
    CHECK(rate == 50 && burst == 200, "logged-in operators: 50/s, burst 200");

    gw_bucket_t op, vis;
    gw_rates_pick(&rates, 1, &rate, &burst);
    gw_bucket_init(&op, rate, burst, 1000);
    gw_rates_pick(&rates, 0, &rate, &burst);
    gw_bucket_init(&vis, rate, burst, 1000);
    CHECK(burst_passes(&op, 100, 1000) == 100, "an operator sends 100 frames at once");
    CHECK(burst_passes(&vis, 100, 1000) == 20, "a visitor still gets 20 of 100");
    CHECK(burst_passes(&op, 150, 1000) == 100, "the operator's burst of 200 is then used up");
    CHECK(burst_passes(&op, 10, 1100) == 5, "100 ms later 5 more (50/s)");
    CHECK(burst_passes(&vis, 10, 1200) == 1, "200 ms later the visitor has 1 (5/s)");

    rates.visitor_rate = 1000;
    rates.visitor_burst = 1000;
    gw_rates_pick(&rates, 1, &rate, &burst);
    CHECK(rate == 1000 && burst == 1000, "an operator never gets less than a visitor");
    rates.operator_rate = 2000;
    gw_rates_pick(&rates, 0, &rate, &burst);
    CHECK(rate == 1000 && burst == 1000, "the operator rate never reaches visitors");
}

static void test_topics(void)
{
    gw_topics_t *t = gw_topics_new();
    CHECK(t != NULL, "topic map created");
    CHECK(gw_topics_add(t, "c:1", 7) == 1, "first connection of a topic: subscribe");
    CHECK(gw_topics_add(t, "c:1", 8) == 0, "second connection: no new subscription");
    CHECK(gw_topics_add(t, "c:1", 8) == 0, "adding twice changes nothing");
    CHECK(gw_topics_has(t, "c:1", 7) && !gw_topics_has(t, "c:1", 9), "membership is known");
    size_t n = 0;
    uint64_t *ids = gw_topics_conns(t, "c:1", &n);
    CHECK(n == 2 && ids && ((ids[0] == 7 && ids[1] == 8) || (ids[0] == 8 && ids[1] == 7)),
          "both connections are listed");
    free(ids);
    CHECK(gw_topics_remove(t, "c:1", 9) == 0, "removing a stranger changes nothing");
    CHECK(gw_topics_remove(t, "c:1", 7) == 0, "one left: keep the subscription");
    CHECK(gw_topics_remove(t, "c:1", 8) == 1, "last one gone: unsubscribe");
    CHECK(gw_topics_conns(t, "c:1", &n) == NULL && n == 0, "an empty topic lists nobody");
    CHECK(gw_topics_size(t) == 0, "the map is empty again");
    for (uint64_t i = 0; i < 1000; i++)
        gw_topics_add(t, "s:site", i);
    ids = gw_topics_conns(t, "s:site", &n);
    CHECK(n == 1000, "a site topic holds many connections");
    free(ids);
    gw_topics_destroy(&t);
    CHECK(t == NULL, "destroy nulls the pointer");
}

static void test_static(void)
{
    gw_static_file_t f;
    CHECK(gw_static_map("/w", "/", &f) == 0 && strcmp(f.path, "/w/demo.html") == 0,
          "/ serves demo.html");
    CHECK(gw_static_map("/w", "/widget.js", &f) == 0 && strcmp(f.path, "/w/widget.js") == 0
          && strstr(f.mime, "javascript"), "widget.js is JavaScript");
    CHECK(gw_static_map("/w", "/widget/frame.html", &f) == 0 && strstr(f.mime, "text/html")
          && strstr(f.csp, "frame-ancestors *"), "the widget frame may be framed by any site");
    CHECK(gw_static_map("/w", "/console/", &f) == 0 && strcmp(f.path, "/w/console/index.html") == 0
          && strstr(f.csp, "frame-ancestors 'self'"), "/console/ serves its index, not framable");
    CHECK(strstr(GW_CSP_PAGE, "script-src 'self'") && !strstr(GW_CSP_PAGE, "unsafe-eval"),
          "scripts only from the gateway");
    CHECK(gw_static_map("/w", "/etc/passwd", &f) < 0, "paths outside the list are not served");
    CHECK(gw_static_map("/w", "/widget/../../etc/passwd", &f) < 0, "no .. traversal");
    CHECK(gw_static_map("/w", "/widget//x.js", &f) < 0, "no empty segments");
    CHECK(gw_static_map("/w", "/widget/.secret", &f) < 0, "no dot-files");
    CHECK(gw_static_map("/w", "/widget/a\\b", &f) < 0, "no backslashes");
    CHECK(gw_static_map("/w", "/console", &f) < 0, "/console without slash is not a file");
    CHECK(gw_static_map("/w", "widget.js", &f) < 0, "relative paths are refused");
    CHECK(strcmp(gw_static_mime("a.css"), "text/css; charset=utf-8") == 0, "CSS type");
    CHECK(strcmp(gw_static_mime("a.bin"), "application/octet-stream") == 0, "unknown type");
}

static void test_proxies(void)
{
    gw_proxies_t p;
    char ip[64];
    CHECK(gw_proxies_parse("", &p) == 0 && p.n == 0, "an empty list trusts nobody");
    CHECK(gw_proxies_parse("10.0.0.0/8, 172.16.0.0/12 ,::1", &p) == 0 && p.n == 3, "addresses and CIDRs");
    CHECK(gw_proxies_parse("10.0.0.0/33", &p) < 0, "a prefix longer than the address is refused");
    CHECK(gw_proxies_parse("balancer", &p) < 0, "a name is refused");
    CHECK(gw_proxies_parse("10.0.0.0/", &p) < 0, "an empty prefix is refused");
    gw_proxies_parse("172.16.0.0/12,::1", &p);
    CHECK(gw_proxies_contains(&p, "172.18.0.5"), "an address in a CIDR");
    CHECK(!gw_proxies_contains(&p, "172.32.0.1"), "an address outside it");
    CHECK(gw_proxies_contains(&p, "::ffff:172.18.0.5"), "IPv4-mapped IPv6 counts as IPv4");
    CHECK(gw_proxies_contains(&p, "::1"), "an IPv6 address");
    gw_client_ip(&p, "203.0.113.9", "1.2.3.4", ip, sizeof ip);
    CHECK(strcmp(ip, "203.0.113.9") == 0, "X-Forwarded-For from an untrusted peer is ignored");
    gw_client_ip(&p, "172.18.0.5", NULL, ip, sizeof ip);
    CHECK(strcmp(ip, "172.18.0.5") == 0, "a proxy without the header is the client");
    gw_client_ip(&p, "172.18.0.5", "6.6.6.6, 198.51.100.7", ip, sizeof ip);
    CHECK(strcmp(ip, "198.51.100.7") == 0, "the rightmost address, not a forged left one");
    gw_client_ip(&p, "172.18.0.5", "198.51.100.7,172.20.0.2", ip, sizeof ip);
    CHECK(strcmp(ip, "198.51.100.7") == 0, "trusted hops on the right are skipped");
    gw_client_ip(&p, "172.18.0.5", "198.51.100.7, junk", ip, sizeof ip);
    CHECK(strcmp(ip, "172.18.0.5") == 0, "garbage stops the walk at the last trusted address");
    gw_client_ip(&p, "172.18.0.5", "172.20.0.3", ip, sizeof ip);
    CHECK(strcmp(ip, "172.20.0.3") == 0, "only proxies: the leftmost one");
}

int main(void)
{
    test_proxies();
    test_utf8();
    test_depth();
    test_blank();
    test_bucket();
    test_rates_per_role();
    test_topics();
    test_static();
    return CHECK_DONE();
}
