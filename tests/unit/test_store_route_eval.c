/* Distribution rule evaluation (store/route_eval.c): patterns, language
 * prefixes, utm_source, schedules at their boundaries, first match. */
#include "check.h"
#include "../../store/route_eval.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void test_glob(void)
{
    CHECK(route_glob_match("*/shop/*", "https://a.example/shop/item?x=1"), "stars around a part");
    CHECK(!route_glob_match("*/shop/*", "https://a.example/shopping"), "the part must occur");
    CHECK(route_glob_match("HTTPS://A.example/*", "https://a.EXAMPLE/x"), "case-insensitive");
    CHECK(route_glob_match("https://a.example/", "https://a.example/"), "no star: whole string");
    CHECK(!route_glob_match("https://a.example/", "https://a.example/x"), "no star: not a prefix match");
    CHECK(!route_glob_match("a.example", "https://a.example/"), "no star: not a substring match");
    CHECK(route_glob_match("*", ""), "a star matches nothing");
    CHECK(route_glob_match("**", "abc"), "two stars");
    CHECK(route_glob_match("", ""), "empty matches empty");
    CHECK(!route_glob_match("", "a"), "empty matches only empty");
    CHECK(route_glob_match("a*a", "aa"), "head and tail may touch");
    CHECK(!route_glob_match("a*a", "a"), "head and tail may not overlap");
    CHECK(route_glob_match("*ab*ab*", "xabyab"), "middle parts in order");
    CHECK(!route_glob_match("*ab*ab", "xab"), "a middle part cannot reuse the tail");
    CHECK(route_glob_match("*.pdf", "/doc/a.pdf"), "suffix");
    CHECK(!route_glob_match("*.pdf", "/doc/a.pdf.html"), "suffix must end the text");
    CHECK(route_glob_match("a*b*c*d", "a--b--c--d"), "several middles");
    CHECK(!route_glob_match("a*c*b", "a-b-c"), "middles out of order");
    CHECK(!route_glob_match(NULL, "a"), "no pattern matches nothing");

    /* The backtracking killer: many stars over a long text of one letter
     * that ends in the wrong one. A naive matcher takes exponential time. */
    size_t n = 20000;
    char *text = malloc(n + 2);
    memset(text, 'a', n);
    text[n] = 'b';
    text[n + 1] = '\0';
    char pattern[64];
    strcpy(pattern, "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c");
    clock_t t0 = clock();
    bool m = route_glob_match(pattern, text);
    double secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    CHECK(!m, "pathological pattern does not match");
    CHECK(secs < 0.5, "pathological pattern is fast");
    free(text);

    /* A long middle part that almost occurs at every place of a long URL:
     * a document may hold 100 rules of 50 such values (url and referrer),
     * all tried for one chat. A plain scan is O(url * part) per value
     * (7 s for the document); the matcher must be linear. */
    char url[2049], part[1001];
    memset(url, 'a', 2048);
    url[2048] = '\0';
    part[0] = '*';
    memset(part + 1, 'A', 997);
    part[998] = 'b';
    part[999] = '*';
    part[1000] = '\0';
    t0 = clock();
    int hits = 0;
    for (int i = 0; i < 10000; i++)
        hits += route_glob_match(part, url);
    secs = (double) (clock() - t0) / CLOCKS_PER_SEC;
    CHECK(hits == 0, "an almost-occurring part does not match");
    CHECK(secs < 1.0, "10000 long almost-matching parts are fast");
    part[998] = 'a';
    CHECK(route_glob_match(part, url), "the long part, when it occurs, matches (case-insensitive)");
    CHECK(route_glob_match("*abab*", "xabaabab"), "a part found after a false start that overlaps it");
    CHECK(route_glob_match("*aab*", "aaab"), "a part found after a longer false start");
    CHECK(!route_glob_match("*abc*x", "ababab"), "a part that never occurs");
}

static void test_language(void)
{
    CHECK(route_language_match("ru", "ru-RU"), "ru matches ru-RU");
    CHECK(route_language_match("ru", "ru"), "ru matches ru");
    CHECK(route_language_match("RU", "ru_ru"), "case-insensitive, underscore");
    CHECK(route_language_match("en-US", "en-us"), "a full tag");
    CHECK(!route_language_match("ru", "rus"), "not inside a subtag");
    CHECK(!route_language_match("en", "ru-RU"), "another language");
    CHECK(!route_language_match("", "ru"), "empty prefix matches nothing");
    CHECK(!route_language_match("ru-RU", "ru"), "longer than the language");
}

static void test_utm(void)
{
    char out[64];
    CHECK(route_utm_source("https://a.example/?utm_source=yandex&x=1", out, sizeof out) == 6
          && strcmp(out, "yandex") == 0, "utm_source first");
    CHECK(route_utm_source("https://a.example/p?x=1&utm_source=Google+Ads#top", out, sizeof out) > 0
          && strcmp(out, "Google Ads") == 0, "plus is a space, fragment ignored");
    CHECK(route_utm_source("https://a.example/?utm_source=%D1%8F%20x", out, sizeof out) > 0
          && strcmp(out, "\xd1\x8f x") == 0, "percent-decoded");
    CHECK(route_utm_source("https://a.example/?utm_source=%zz%4", out, sizeof out) > 0
          && strcmp(out, "%zz%4") == 0, "malformed escapes kept");
    CHECK(route_utm_source("https://a.example/?utm_source=a%00b", out, sizeof out) > 0
          && strcmp(out, "a%00b") == 0, "a NUL is not decoded");
    CHECK(route_utm_source("https://a.example/?xutm_source=a", out, sizeof out) == 0 && !*out,
          "another parameter's name");
    CHECK(route_utm_source("https://a.example/#?utm_source=a", out, sizeof out) == 0,
          "inside the fragment is not a parameter");
    CHECK(route_utm_source("https://a.example/", out, sizeof out) == 0 && !*out, "no query");
    CHECK(route_utm_source("/?utm_source=", out, sizeof out) == 0, "empty value");
    char small[4];
    CHECK(route_utm_source("/?utm_source=abcdef", small, sizeof small) == 3
          && strcmp(small, "abc") == 0, "cut to the buffer");
}

static void test_hours(void)
{
    json_t *hours = json_loads("{\"mon\":[[\"09:00\",\"18:00\"]],"
                               "\"fri\":[[\"00:00\",\"01:00\"],[\"22:00\",\"24:00\"]]}", 0, NULL);
    CHECK(hours != NULL, "hours parse");
    CHECK(route_hours_open(hours, 1, 17 * 60 + 59), "17:59 is open");
    CHECK(!route_hours_open(hours, 1, 18 * 60), "18:00 is closed (end exclusive)");
    CHECK(!route_hours_open(hours, 1, 18 * 60 + 1), "18:01 is closed");
    CHECK(route_hours_open(hours, 1, 9 * 60), "09:00 is open (start inclusive)");
    CHECK(!route_hours_open(hours, 1, 8 * 60 + 59), "08:59 is closed");
    CHECK(!route_hours_open(hours, 2, 12 * 60), "a day absent is closed");
    CHECK(route_hours_open(hours, 5, 23 * 60 + 59), "24:00 end covers 23:59");
    CHECK(route_hours_open(hours, 5, 0), "00:00 start");
    CHECK(!route_hours_open(hours, 5, 60), "between two intervals");
    CHECK(route_hours_open(NULL, 3, 3), "no hours: round the clock");
    CHECK(!route_hours_open(hours, 0, 0) && !route_hours_open(hours, 8, 0), "bad weekday");
    json_decref(hours);

    CHECK(route_parse_hhmm("00:00", false) == 0, "00:00");
    CHECK(route_parse_hhmm("23:59", false) == 1439, "23:59");
    CHECK(route_parse_hhmm("24:00", false) == -1, "24:00 only as an end");
    CHECK(route_parse_hhmm("24:00", true) == 1440, "24:00 as an end");
    CHECK(route_parse_hhmm("24:01", true) == -1, "24:01");
    CHECK(route_parse_hhmm("9:00", false) == -1, "one-digit hour");
    CHECK(route_parse_hhmm("12:60", false) == -1, "minute 60");
    CHECK(route_parse_hhmm("ab:cd", false) == -1, "letters");
}

static void test_rules(void)
{
    json_t *rules = json_loads(
        "[{\"name\":\"ads\",\"match\":{\"utm_source\":\"yandex\",\"url\":\"*/shop/*\"}},"
        " {\"name\":\"help\",\"match\":{\"survey\":[\"Help\",\"Broken\"]}},"
        " {\"name\":\"ru\",\"match\":{\"language\":\"ru\",\"country\":\"RU\",\"city\":\"moscow\"}},"
        " {\"name\":\"ref\",\"match\":{\"referrer\":\"*google.*\"}},"
        " {\"name\":\"rest\",\"match\":{}}]", 0, NULL);
    CHECK(rules != NULL, "rules parse");
    route_segment_t s = { .url = "https://a.example/shop/1?utm_source=yandex", .referrer = "",
                          .utm_source = "YANDEX", .country = "", .city = "", .language = "",
                          .survey = "" };
    CHECK(route_first_match(rules, &s) == 0, "every condition holds: first rule");
    s.url = "https://a.example/blog";
    CHECK(route_first_match(rules, &s) == 4, "one condition fails: falls to the catch-all");
    s.survey = "Broken";
    CHECK(route_first_match(rules, &s) == 1, "a list: any of its values");
    s.survey = "broken";
    CHECK(route_first_match(rules, &s) == 4, "survey answers are exact");
    s.language = "ru-RU";
    s.country = "ru";
    s.city = "Moscow";
    CHECK(route_first_match(rules, &s) == 2, "language prefix, country and city");
    s.city = "";
    s.referrer = "https://www.google.com/search?q=x";
    CHECK(route_first_match(rules, &s) == 3, "referrer pattern");
    route_segment_t empty = { 0 };
    CHECK(route_first_match(rules, &empty) == 4, "absent fields count as empty");

    json_t *strict = json_loads("[{\"match\":{\"bogus\":\"x\"}},{\"match\":{\"url\":\"x\"}}]", 0, NULL);
    CHECK(route_first_match(strict, &s) == -1, "no rule matches: -1");
    CHECK(route_first_match(NULL, &s) == -1, "no rules: -1");
    CHECK(route_rule_matches(NULL, &s), "no match object matches everything");
    json_decref(strict);
    json_decref(rules);
}

int main(void)
{
    test_glob();
    test_language();
    test_utm();
    test_hours();
    test_rules();
    return CHECK_DONE();
}
