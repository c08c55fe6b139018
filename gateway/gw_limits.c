/* Edge checks that need no connection: nesting depth, UTF-8, blank text,
 * rate (per role). Kept free of libwebsockets and jansson so they are easy to test. */
#include "gw_limits.h"

#include <string.h>

void gw_limits_default(gw_limits_t *limits)
{
    limits->max_frame_bytes = GW_MAX_FRAME_BYTES;
    limits->max_text_bytes = GW_MAX_TEXT_BYTES;
    limits->max_field_bytes = GW_MAX_FIELD_BYTES;
    limits->max_depth = GW_MAX_JSON_DEPTH;
}

int gw_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;            /* skip the escaped character, e.g. \" */
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return 0;
        } else if ((c == '}' || c == ']') && depth > 0)
            depth--;
    }
    return 1;
}

/* Length of the UTF-8 sequence starting at s (at most `left` bytes), or 0 if
 * it is malformed. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;               /* continuation byte, C0/C1 overlong lead, or > F4 */
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
        return 0;               /* overlong */
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

int gw_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

static uint32_t utf8_decode(const unsigned char *s, size_t *n)
{
    /* At most 4 bytes are looked at: strlen here made gw_text_blank
     * quadratic (8 KiB of spaces cost ~1 ms per frame; seen while writing
     * the fuzz targets, tests/fuzz).
     * utf8_seq_len stops at the NUL, which is no continuation byte. */
    *n = utf8_seq_len(s, strnlen((const char *) s, 4));
    if (*n == 0) {
        *n = 1;
        return 0xFFFD;
    }
    if (*n == 1)
        return s[0];
    uint32_t cp = s[0] & (0xFF >> (*n + 1));
    for (size_t i = 1; i < *n; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0
           || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028
           || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000
           || cp == 0xFEFF;
}

int gw_text_blank(const char *text)
{
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        size_t n;
        if (!is_space(utf8_decode(p, &n)))
            return 0;
        p += n;
    }
    return 1;
}

int gw_text_controls_ok(const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return 1;
}

void gw_bucket_init(gw_bucket_t *bucket, double rate, double burst, int64_t now_ms)
{
    bucket->rate = rate;
    bucket->burst = burst < 1 ? 1 : burst;
    bucket->tokens = bucket->burst;
    bucket->last_ms = now_ms;
}

int gw_bucket_take(gw_bucket_t *bucket, int64_t now_ms)
{
    if (now_ms > bucket->last_ms) {
        bucket->tokens += (double) (now_ms - bucket->last_ms) * bucket->rate / 1000.0;
        if (bucket->tokens > bucket->burst)
            bucket->tokens = bucket->burst;
        bucket->last_ms = now_ms;
    }
    if (bucket->tokens < 1.0)
        return 0;
    bucket->tokens -= 1.0;
    return 1;
}

void gw_rates_default(gw_rates_t *rates)
{
    rates->visitor_rate = GW_RATE_PER_SEC;
    rates->visitor_burst = GW_RATE_BURST;
    rates->operator_rate = GW_OPERATOR_RATE_PER_SEC;
    rates->operator_burst = GW_OPERATOR_RATE_BURST;
}

void gw_rates_pick(const gw_rates_t *rates, int logged_in_operator, double *rate, double *burst)
{
    *rate = rates->visitor_rate;
    *burst = rates->visitor_burst;
    if (!logged_in_operator)
        return;
    if (rates->operator_rate > *rate)
        *rate = rates->operator_rate;
    if (rates->operator_burst > *burst)
        *burst = rates->operator_burst;
}
