/* Limits at the edge (DESIGN.md "Limits at the edge"): the checks a frame
 * passes before anything else looks at it. Pure functions and a small token
 * bucket, so the unit tests link them without libwebsockets running. */
#ifndef BESEDA_GW_LIMITS_H
#define BESEDA_GW_LIMITS_H

#include <stddef.h>
#include <stdint.h>

#define GW_MAX_FRAME_BYTES   65536   /* a whole message after reassembly */
#define GW_MAX_TEXT_BYTES    8192    /* chat text and typing drafts */
#define GW_MAX_FIELD_BYTES   2048    /* ids, tokens, e-mail, page fields */
#define GW_MAX_CLIENT_ID     64      /* client_id of a send, characters */
#define GW_MAX_JSON_DEPTH    8       /* nesting of objects and arrays */
#define GW_RATE_PER_SEC      5       /* visitors, and any connection before its welcome */
#define GW_RATE_BURST        20
#define GW_OPERATOR_RATE_PER_SEC 50  /* operators, after their welcome */
#define GW_OPERATOR_RATE_BURST   200

typedef struct {
    size_t max_frame_bytes;
    size_t max_text_bytes;
    size_t max_field_bytes;
    int max_depth;
} gw_limits_t;

/* The defaults above. */
void gw_limits_default(gw_limits_t *limits);

/* True if the JSON text nests objects/arrays no deeper than max_depth. A
 * cheap scan that runs before the parser, so a hostile "[[[[..." never
 * reaches jansson's recursion. Brackets inside strings do not count. */
int gw_json_depth_ok(const char *text, size_t len, int max_depth);

/* True if the bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). NUL bytes are allowed here; the JSON
 * parser refuses them where they matter. */
int gw_utf8_valid(const unsigned char *s, size_t len);

/* True if the UTF-8 text is empty or only whitespace (ASCII and the common
 * Unicode spaces: NBSP, U+2000..U+200B, U+2028/9, U+202F, U+205F, U+3000,
 * U+FEFF). */
int gw_text_blank(const char *text);

/* True if the text holds no C0 control character other than tab, line
 * feed and carriage return. Each one would cost six bytes as a JSON escape
 * ("\u0001") in every frame that carries the text: refused at the edge, an
 * 8 KiB message could otherwise grow a sync reply sixfold. */
int gw_text_controls_ok(const char *text);

/* Token bucket: `rate` tokens per second, at most `burst` stored. */
typedef struct {
    double tokens;
    double rate;
    double burst;
    int64_t last_ms;
} gw_bucket_t;

void gw_bucket_init(gw_bucket_t *bucket, double rate, double burst, int64_t now_ms);
/* Takes one token: returns 1 if there was one, 0 if the caller is over rate. */
int gw_bucket_take(gw_bucket_t *bucket, int64_t now_ms);

/* Frame rates per role. Visitors, and every connection until its welcome
 * (an operator endpoint before login is anyone's), get the visitor rate; an
 * operator gets the operator rate from the welcome on. */
typedef struct {
    double visitor_rate;
    double visitor_burst;
    double operator_rate;
    double operator_burst;
} gw_rates_t;

/* The defaults above. */
void gw_rates_default(gw_rates_t *rates);
/* The rate and burst for a connection: a logged-in operator's or else a
 * visitor's. A logged-in operator never gets less than a visitor. */
void gw_rates_pick(const gw_rates_t *rates, int logged_in_operator, double *rate, double *burst);

#endif
