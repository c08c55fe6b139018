/* Distribution rule evaluation (route_eval.h). Text comparisons fold ASCII
 * letters only: URLs and codes are ASCII in practice, and folding UTF-8
 * properly would need tables for little gain (non-ASCII bytes compare as
 * themselves). */
#include "route_eval.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const DAYS[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Does text start with the n bytes of part, ignoring ASCII case? */
static bool starts_with_n(const char *text, const char *part, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!text[i] || fold((unsigned char) text[i]) != fold((unsigned char) part[i]))
            return false;
    return true;
}

/* First place at or after text where part (n bytes) occurs; NULL for none.
 * Knuth-Morris-Pratt over folded bytes: O(text + n) whatever the two hold
 * (a plain scan is O(text * n): a 1000-byte part that almost matches at
 * every place of a 2 KiB URL cost milliseconds per value, seconds per
 * document of 100 rules with 50 values each). */
static const char *find_n(const char *text, const char *part, size_t n)
{
    if (n == 0)
        return text;
    size_t stack_fail[256];
    size_t *fail = n <= sizeof stack_fail / sizeof stack_fail[0] ? stack_fail
                                                                  : malloc(n * sizeof *fail);
    if (!fail)
        return NULL;
    fail[0] = 0;
    for (size_t i = 1, k = 0; i < n; i++) {
        while (k > 0 && fold((unsigned char) part[i]) != fold((unsigned char) part[k]))
            k = fail[k - 1];
        if (fold((unsigned char) part[i]) == fold((unsigned char) part[k]))
            k++;
        fail[i] = k;
    }
    const char *found = NULL;
    size_t k = 0;
    for (const char *t = text; *t; t++) {
        while (k > 0 && fold((unsigned char) *t) != fold((unsigned char) part[k]))
            k = fail[k - 1];
        if (fold((unsigned char) *t) == fold((unsigned char) part[k]))
            k++;
        if (k == n) {
            found = t + 1 - n;
            break;
        }
    }
    if (fail != stack_fail)
        free(fail);
    return found;
}

/* A pattern is parts separated by stars: the first part must begin the text,
 * the last must end it, and the ones between occur in order. Taking the
 * leftmost occurrence of each middle part is always right (it leaves the
 * most text for the rest), so there is nothing to backtrack. */
bool route_glob_match(const char *pattern, const char *text)
{
    if (!pattern || !text)
        return false;
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcasecmp(pattern, text) == 0;
    size_t head = (size_t) (star - pattern);
    if (!starts_with_n(text, pattern, head))
        return false;
    text += head;
    const char *last_star = strrchr(pattern, '*');
    const char *tail = last_star + 1;
    size_t tail_len = strlen(tail), text_len = strlen(text);
    if (tail_len > text_len)
        return false;
    const char *text_end = text + text_len - tail_len;   /* where the tail must start */
    if (!starts_with_n(text_end, tail, tail_len))
        return false;
    for (const char *p = star + 1; p < last_star;) {
        const char *next = strchr(p, '*');
        size_t n = (size_t) (next - p);
        const char *at = n ? find_n(text, p, n) : text;
        if (!at || at + n > text_end)
            return false;
        text = at + n;
        p = next + 1;
    }
    return true;
}

bool route_language_match(const char *prefix, const char *language)
{
    if (!prefix || !language || !*prefix)
        return false;
    size_t n = strlen(prefix);
    if (!starts_with_n(language, prefix, n))
        return false;
    char after = language[n];
    return after == '\0' || after == '-' || after == '_' || prefix[n - 1] == '-';
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = fold(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the value [v, end) into out (cap >= 1); returns its length. */
static size_t decode_value(const char *v, const char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (v < end && n + 1 < cap) {
        int c = (unsigned char) *v;
        if (c == '+') {
            c = ' ';
            v++;
        } else if (c == '%' && end - v >= 3 && hex_value(v[1]) >= 0 && hex_value(v[2]) >= 0
                   && (hex_value(v[1]) | hex_value(v[2])) != 0) {
            c = hex_value(v[1]) * 16 + hex_value(v[2]);
            v += 3;
        } else {
            v++;
        }
        out[n++] = (char) c;
    }
    out[n] = '\0';
    return n;
}

size_t route_utm_source(const char *url, char *out, size_t cap)
{
    if (!out || cap == 0)
        return 0;
    out[0] = '\0';
    if (!url)
        return 0;
    const char *end = strchr(url, '#');       /* the fragment is no query */
    if (!end)
        end = url + strlen(url);
    const char *q = memchr(url, '?', (size_t) (end - url));
    if (!q)
        return 0;
    static const char KEY[] = "utm_source=";
    for (const char *p = q + 1; p < end;) {
        const char *amp = memchr(p, '&', (size_t) (end - p));
        const char *stop = amp ? amp : end;
        if ((size_t) (stop - p) >= sizeof KEY - 1 && strncmp(p, KEY, sizeof KEY - 1) == 0)
            return decode_value(p + sizeof KEY - 1, stop, out, cap);
        p = stop + 1;
    }
    return 0;
}

int route_parse_hhmm(const char *s, bool allow_2400)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h == 24 && m == 0 && allow_2400)
        return 24 * 60;
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

bool route_hours_open(const json_t *hours, int isodow, int minute)
{
    if (!hours || json_is_null(hours))
        return true;
    if (!json_is_object(hours) || isodow < 1 || isodow > 7)
        return false;
    const json_t *day = json_object_get(hours, DAYS[isodow - 1]);
    size_t i;
    const json_t *span;
    json_array_foreach(day, i, span) {
        int start = route_parse_hhmm(json_string_value(json_array_get(span, 0)), false);
        int end = route_parse_hhmm(json_string_value(json_array_get(span, 1)), true);
        if (start >= 0 && end > start && minute >= start && minute < end)
            return true;
    }
    return false;
}

typedef bool (*route_test_fn)(const char *want, const char *have);

static bool exact_ci(const char *want, const char *have)
{
    return strcasecmp(want, have) == 0;
}

static bool exact(const char *want, const char *have)
{
    return strcmp(want, have) == 0;
}

static bool glob(const char *want, const char *have)
{
    return route_glob_match(want, have);
}

static bool language(const char *want, const char *have)
{
    return route_language_match(want, have);
}

/* value: a string or a list of strings; any of them passes test. */
static bool condition_holds(const json_t *value, route_test_fn test, const char *have)
{
    if (!have)
        have = "";
    if (json_is_string(value))
        return test(json_string_value(value), have);
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item)
        if (json_is_string(item) && test(json_string_value(item), have))
            return true;
    return false;
}

bool route_rule_matches(const json_t *match, const route_segment_t *seg)
{
    if (!match || json_is_null(match))
        return true;
    if (!json_is_object(match))
        return false;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *) match, key, value) {
        bool ok;
        if (strcmp(key, "url") == 0)
            ok = condition_holds(value, glob, seg->url);
        else if (strcmp(key, "referrer") == 0)
            ok = condition_holds(value, glob, seg->referrer);
        else if (strcmp(key, "utm_source") == 0)
            ok = condition_holds(value, exact_ci, seg->utm_source);
        else if (strcmp(key, "country") == 0)
            ok = condition_holds(value, exact_ci, seg->country);
        else if (strcmp(key, "city") == 0)
            ok = condition_holds(value, exact_ci, seg->city);
        else if (strcmp(key, "language") == 0)
            ok = condition_holds(value, language, seg->language);
        else if (strcmp(key, "survey") == 0)
            ok = condition_holds(value, exact, seg->survey);
        else
            ok = false;                  /* unknown condition: never true */
        if (!ok)
            return false;
    }
    return true;
}

int route_first_match(const json_t *rules, const route_segment_t *seg)
{
    size_t i;
    const json_t *rule;
    json_array_foreach(rules, i, rule)
        if (route_rule_matches(json_object_get(rule, "match"), seg))
            return (int) i;
    return -1;
}
