/* Distribution rules, evaluated (docs/ROUTING.md): which rule matches a
 * conversation's segment and whether its schedule is open at a local time.
 * Pure: no PostgreSQL, no clock. Rules are the jansson values of a routing
 * document that store/settings.c validated; evaluating an unvalidated one is
 * safe (anything unexpected does not match) but meaningless. */
#ifndef STORE_ROUTE_EVAL_H
#define STORE_ROUTE_EVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What the rules look at; "" for unknown. */
typedef struct {
    const char *url;
    const char *referrer;
    const char *utm_source;
    const char *country;
    const char *city;
    const char *language;
    const char *survey;
} route_segment_t;

/* `*` is any text (also none); everything else is itself, ASCII letters
 * case-insensitive; the whole text must match. No recursion and no
 * backtracking: each part between stars is searched once, left to right. */
bool route_glob_match(const char *pattern, const char *text);

/* prefix "ru" matches "ru", "ru-RU", "RU_ru" but not "rus": a prefix that
 * ends at a subtag boundary, case-insensitive. "" matches nothing. */
bool route_language_match(const char *prefix, const char *language);

/* The utm_source query parameter of url, percent-decoded ('+' is a space),
 * into out (always terminated, cut to cap - 1 bytes). Returns its length;
 * 0 and "" when absent. A decoded NUL or a malformed %xx is kept literally. */
size_t route_utm_source(const char *url, char *out, size_t cap);

/* "HH:MM" -> minutes since midnight; "24:00" only when allow_2400; -1 if bad. */
int route_parse_hhmm(const char *s, bool allow_2400);

/* hours: a rule's "hours" object, or NULL (round the clock). isodow 1 = Monday
 * .. 7 = Sunday, minute 0..1439 local. A day absent from hours is closed;
 * intervals are [start, end). */
bool route_hours_open(const json_t *hours, int isodow, int minute);

/* Every condition of match holds (AND; {} or NULL matches everything). A
 * condition's value is a string or a list of strings (any of them). */
bool route_rule_matches(const json_t *match, const route_segment_t *seg);

/* Index of the first rule of the array whose match holds, -1 for none. */
int route_first_match(const json_t *rules, const route_segment_t *seg);

#endif
