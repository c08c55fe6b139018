/* See settings_check.h. Each check returns false after writing the first
 * problem found into the checker's message; the message names the path. */
#include "settings_check.h"
#include "route_eval.h"
#include "utf8.h"
#include "util.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *err;
    size_t cap;
} checker_t;

static bool fail(checker_t *c, const char *path, const char *fmt, ...)
{
    char problem[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->cap, "%s: %s", path, problem);
    return false;
}

static bool check_keys(checker_t *c, const char *path, const json_t *obj,
                       const char *const *allowed)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *) obj, key, value) {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            char p[256];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
            return fail(c, p, "unknown field");
        }
    }
    return true;
}

/* A string of min..max characters (max 0: no check). */
static bool check_string(checker_t *c, const char *path, const json_t *v, size_t min, size_t max)
{
    if (!json_is_string(v))
        return fail(c, path, "must be a string");
    size_t n = beseda_utf8_chars(json_string_value(v));
    if (n < min || (max && n > max))
        return fail(c, path, "must be %zu to %zu characters", min, max);
    return true;
}

static bool valid_group_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

bool settings_tz_offset(const char *tz, int *minutes)
{
    if (!tz || strncmp(tz, "UTC", 3) != 0)
        return false;
    if (tz[3] == '\0') {
        *minutes = 0;
        return true;
    }
    const char *s = tz + 3;
    if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
        return false;
    int hm = route_parse_hhmm(s + 1, false);
    if (hm < 0 || hm > 14 * 60)
        return false;
    *minutes = s[0] == '-' ? -hm : hm;
    return true;
}

/* An IANA-looking name: letters, digits, / _ + -; whether PostgreSQL knows
 * it is checked by the caller. */
static bool tz_name_form(const char *tz)
{
    size_t n = strlen(tz);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = tz[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '/' || ch == '_' || ch == '+' || ch == '-'))
            return false;
    }
    return true;
}

bool settings_valid_email(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 3 || n > 254)
        return false;
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] <= ' ' || (unsigned char) s[i] >= 0x7f
            || s[i] == '<' || s[i] == '>' || s[i] == ',' || s[i] == ';' || s[i] == '"')
            return false;
    return true;
}

bool settings_valid_phone(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    bool digit = false;
    if (n < 3 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        digit |= ch >= '0' && ch <= '9';
        if (!((ch >= '0' && ch <= '9') || ch == ' ' || ch == '+' || ch == '-' || ch == '('
              || ch == ')' || ch == '.'))
            return false;
    }
    return digit;
}

/* ---------------------------------------------------------------- routing */

static bool check_groups(checker_t *c, const json_t *groups)
{
    if (!json_is_array(groups))
        return fail(c, "groups", "must be a list");
    if (json_array_size(groups) > SETTINGS_GROUPS_MAX)
        return fail(c, "groups", "at most %d groups", SETTINGS_GROUPS_MAX);
    static const char *const keys[] = { "id", "name", "operators", NULL };
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g) {
        char path[96];
        snprintf(path, sizeof path, "groups[%zu]", i);
        if (!json_is_object(g))
            return fail(c, path, "must be an object");
        if (!check_keys(c, path, g, keys))
            return false;
        char p[256];
        snprintf(p, sizeof p, "%s.id", path);
        const json_t *id = json_object_get(g, "id");
        if (!json_is_string(id) || !valid_group_id(json_string_value(id)))
            return fail(c, p, "must be 1 to 32 characters a-z 0-9 _ -");
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(groups, j), "id")),
                       json_string_value(id)) == 0)
                return fail(c, p, "duplicate group id \"%s\"", json_string_value(id));
        snprintf(p, sizeof p, "%s.name", path);
        if (!check_string(c, p, json_object_get(g, "name"), 1, 100))
            return false;
        snprintf(p, sizeof p, "%s.operators", path);
        const json_t *ops = json_object_get(g, "operators");
        if (!ops)
            continue;                    /* a group may be empty for now */
        if (!json_is_array(ops))
            return fail(c, p, "must be a list");
        if (json_array_size(ops) > SETTINGS_GROUP_OPS_MAX)
            return fail(c, p, "at most %d operators", SETTINGS_GROUP_OPS_MAX);
        size_t k;
        const json_t *op;
        json_array_foreach(ops, k, op) {
            snprintf(p, sizeof p, "%s.operators[%zu]", path, k);
            if (!json_is_string(op) || !beseda_is_uuid(json_string_value(op)))
                return fail(c, p, "must be an operator id");
            for (size_t j = 0; j < k; j++)
                if (strcasecmp(json_string_value(json_array_get(ops, j)), json_string_value(op)) == 0)
                    return fail(c, p, "listed twice");
        }
    }
    return true;
}

static bool group_exists(const json_t *groups, const char *id)
{
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
        if (strcmp(json_string_value(json_object_get(g, "id")), id) == 0)
            return true;
    return false;
}

static bool check_group_refs(checker_t *c, const char *path, const json_t *refs,
                             const json_t *groups, bool required)
{
    if (!json_is_array(refs))
        return fail(c, path, "must be a list of group ids");
    if (required && json_array_size(refs) == 0)
        return fail(c, path, "must name at least one group");
    size_t i;
    const json_t *r;
    json_array_foreach(refs, i, r) {
        char p[256];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(r))
            return fail(c, p, "must be a group id");
        if (!group_exists(groups, json_string_value(r)))
            return fail(c, p, "no group \"%.40s\"", json_string_value(r));
    }
    return true;
}

static bool check_match_value(checker_t *c, const char *path, const char *key, const json_t *v)
{
    if (!json_is_string(v))
        return fail(c, path, "must be a string or a list of strings");
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < 1 || n > SETTINGS_PATTERN_MAX)
        return fail(c, path, "must be 1 to %d bytes", SETTINGS_PATTERN_MAX);
    if (strcmp(key, "country") == 0) {
        bool letters = n == 2;
        for (size_t i = 0; i < n && letters; i++)
            letters = (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z');
        if (!letters)
            return fail(c, path, "must be a two-letter country code");
    }
    return true;
}

static bool check_match(checker_t *c, const char *path, const json_t *match)
{
    static const char *const keys[] = { "url", "referrer", "utm_source", "country", "city",
                                        "language", "survey", NULL };
    if (!json_is_object(match))
        return fail(c, path, "must be an object");
    if (!check_keys(c, path, match, keys))
        return false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *) match, key, v) {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, key);
        if (!json_is_array(v)) {
            if (!check_match_value(c, p, key, v))
                return false;
            continue;
        }
        if (json_array_size(v) < 1 || json_array_size(v) > SETTINGS_VALUES_MAX)
            return fail(c, p, "must list 1 to %d values", SETTINGS_VALUES_MAX);
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item) {
            char q[400];
            snprintf(q, sizeof q, "%s[%zu]", p, i);
            if (!check_match_value(c, q, key, item))
                return false;
        }
    }
    return true;
}

static bool check_hours(checker_t *c, const char *path, const json_t *hours)
{
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };
    if (!json_is_object(hours))
        return fail(c, path, "must be an object of weekdays");
    if (!check_keys(c, path, hours, days))
        return false;
    const char *day;
    const json_t *spans;
    json_object_foreach((json_t *) hours, day, spans) {
        char p[256];
        snprintf(p, sizeof p, "%s.%s", path, day);
        if (!json_is_array(spans))
            return fail(c, p, "must be a list of [\"HH:MM\",\"HH:MM\"]");
        if (json_array_size(spans) > SETTINGS_INTERVALS_MAX)
            return fail(c, p, "at most %d intervals", SETTINGS_INTERVALS_MAX);
        size_t i;
        const json_t *span;
        json_array_foreach(spans, i, span) {
            char q[400];
            snprintf(q, sizeof q, "%s[%zu]", p, i);
            if (!json_is_array(span) || json_array_size(span) != 2)
                return fail(c, q, "must be [\"HH:MM\",\"HH:MM\"]");
            int start = route_parse_hhmm(json_string_value(json_array_get(span, 0)), false);
            int end = route_parse_hhmm(json_string_value(json_array_get(span, 1)), true);
            if (start < 0)
                return fail(c, q, "bad start time (HH:MM, 00:00 to 23:59)");
            if (end < 0)
                return fail(c, q, "bad end time (HH:MM, 00:01 to 24:00)");
            if (end <= start)
                return fail(c, q, "end before start");
        }
    }
    return true;
}

static bool check_uint(checker_t *c, const char *path, const json_t *v, long long min, long long max)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return fail(c, path, "must be a whole number from %lld to %lld", min, max);
    return true;
}

static bool check_rule(checker_t *c, size_t index, const json_t *rule, const json_t *groups)
{
    static const char *const keys[] = { "name", "match", "groups", "fallback_groups", "mode",
                                        "notify", "response_limit_s", "hours", NULL };
    char path[64], p[128];
    snprintf(path, sizeof path, "rules[%zu]", index);
    if (!json_is_object(rule))
        return fail(c, path, "must be an object");
    if (!check_keys(c, path, rule, keys))
        return false;
    snprintf(p, sizeof p, "%s.name", path);
    if (!check_string(c, p, json_object_get(rule, "name"), 1, 100))
        return false;
    const json_t *v;
    snprintf(p, sizeof p, "%s.match", path);
    if ((v = json_object_get(rule, "match")) && !check_match(c, p, v))
        return false;
    snprintf(p, sizeof p, "%s.groups", path);
    if (!check_group_refs(c, p, json_object_get(rule, "groups"), groups, true))
        return false;
    snprintf(p, sizeof p, "%s.fallback_groups", path);
    if ((v = json_object_get(rule, "fallback_groups")) && !check_group_refs(c, p, v, groups, false))
        return false;
    snprintf(p, sizeof p, "%s.mode", path);
    if ((v = json_object_get(rule, "mode"))
        && !(json_is_string(v) && (strcmp(json_string_value(v), "auto") == 0
                                   || strcmp(json_string_value(v), "ring") == 0)))
        return fail(c, p, "must be \"auto\" or \"ring\"");
    snprintf(p, sizeof p, "%s.notify", path);
    if ((v = json_object_get(rule, "notify")) && !check_uint(c, p, v, 1, 50))
        return false;
    snprintf(p, sizeof p, "%s.response_limit_s", path);
    if ((v = json_object_get(rule, "response_limit_s"))
        && !(json_is_integer(v) && json_integer_value(v) == 0) && !check_uint(c, p, v, 5, 86400))
        return fail(c, p, "must be 0 or 5 to 86400");
    snprintf(p, sizeof p, "%s.hours", path);
    if ((v = json_object_get(rule, "hours")) && !check_hours(c, p, v))
        return false;
    return true;
}

static bool check_routing(checker_t *c, const json_t *doc)
{
    static const char *const keys[] = { "timezone", "groups", "rules", NULL };
    if (!check_keys(c, "", doc, keys))
        return false;
    const json_t *tz = json_object_get(doc, "timezone");
    int offset;
    if (tz && !(json_is_string(tz) && (settings_tz_offset(json_string_value(tz), &offset)
                                       || tz_name_form(json_string_value(tz)))))
        return fail(c, "timezone", "must be a time zone name or UTC, UTC+HH:MM, UTC-HH:MM");
    if (tz && strncmp(json_string_value(tz), "UTC", 3) == 0
        && !settings_tz_offset(json_string_value(tz), &offset))
        return fail(c, "timezone", "a fixed offset is written UTC+HH:MM (at most 14:00)");
    json_t *empty = json_array();
    const json_t *groups = json_object_get(doc, "groups");
    bool ok = !groups || check_groups(c, groups);
    if (!groups)
        groups = empty;
    const json_t *rules = json_object_get(doc, "rules");
    if (ok && rules) {
        if (!json_is_array(rules))
            ok = fail(c, "rules", "must be a list");
        else if (json_array_size(rules) > SETTINGS_RULES_MAX)
            ok = fail(c, "rules", "at most %d rules", SETTINGS_RULES_MAX);
        size_t i;
        const json_t *rule;
        json_array_foreach(rules, i, rule)
            if (ok && !check_rule(c, i, rule, groups))
                ok = false;
    }
    json_decref(empty);
    return ok;
}

/* ----------------------------------------------------------------- survey */

static bool check_field_mode(checker_t *c, const char *key, const json_t *v)
{
    if (!v)
        return true;
    const char *s = json_string_value(v);
    if (!s || (strcmp(s, "off") != 0 && strcmp(s, "optional") != 0 && strcmp(s, "required") != 0))
        return fail(c, key, "must be \"off\", \"optional\" or \"required\"");
    return true;
}

static bool check_survey(checker_t *c, const json_t *doc)
{
    static const char *const keys[] = { "enabled", "name", "email", "phone", "question",
                                        "choices", "question_required", NULL };
    if (!check_keys(c, "", doc, keys))
        return false;
    const json_t *v;
    if ((v = json_object_get(doc, "enabled")) && !json_is_boolean(v))
        return fail(c, "enabled", "must be true or false");
    if ((v = json_object_get(doc, "question_required")) && !json_is_boolean(v))
        return fail(c, "question_required", "must be true or false");
    if (!check_field_mode(c, "name", json_object_get(doc, "name"))
        || !check_field_mode(c, "email", json_object_get(doc, "email"))
        || !check_field_mode(c, "phone", json_object_get(doc, "phone")))
        return false;
    if ((v = json_object_get(doc, "question")) && !check_string(c, "question", v, 0, 200))
        return false;
    const json_t *choices = json_object_get(doc, "choices");
    if (choices) {
        if (!json_is_array(choices) || json_array_size(choices) > SETTINGS_CHOICES_MAX)
            return fail(c, "choices", "must be a list of at most %d answers", SETTINGS_CHOICES_MAX);
        size_t i;
        json_array_foreach(choices, i, v) {
            char p[32];
            snprintf(p, sizeof p, "choices[%zu]", i);
            if (!check_string(c, p, v, 1, 200))
                return false;
            for (size_t j = 0; j < i; j++)
                if (strcmp(json_string_value(json_array_get(choices, j)), json_string_value(v)) == 0)
                    return fail(c, p, "listed twice");
        }
    }
    const char *question = json_string_value(json_object_get(doc, "question"));
    if (json_is_true(json_object_get(doc, "question_required")) && (!question || !*question))
        return fail(c, "question_required", "needs a question");
    if (choices && json_array_size(choices) > 0 && (!question || !*question))
        return fail(c, "choices", "need a question");
    return true;
}

/* ---------------------------------------------------------------- offline */

static bool check_offline(checker_t *c, const json_t *doc)
{
    static const char *const keys[] = { "smtp_url", "smtp_user", "smtp_password", "from", "to", NULL };
    if (!check_keys(c, "", doc, keys))
        return false;
    const json_t *v;
    if ((v = json_object_get(doc, "smtp_url"))) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) > 500)
            return fail(c, "smtp_url", "must be a string of at most 500 bytes");
        if (*s && strncmp(s, "smtp://", 7) != 0 && strncmp(s, "smtps://", 8) != 0)
            return fail(c, "smtp_url", "must start with smtp:// or smtps://");
        for (const char *p = s; *p; p++)
            if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                return fail(c, "smtp_url", "must be printable ASCII without spaces");
    }
    if ((v = json_object_get(doc, "smtp_user")) && !check_string(c, "smtp_user", v, 0, 200))
        return false;
    if ((v = json_object_get(doc, "smtp_password")) && !check_string(c, "smtp_password", v, 0, 200))
        return false;
    if ((v = json_object_get(doc, "from"))) {
        const char *s = json_string_value(v);
        if (!s || (*s && !settings_valid_email(s)))
            return fail(c, "from", "must be an e-mail address");
    }
    if ((v = json_object_get(doc, "to"))) {
        if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > SETTINGS_RECIPIENTS_MAX)
            return fail(c, "to", "must list 1 to %d e-mail addresses", SETTINGS_RECIPIENTS_MAX);
        size_t i;
        const json_t *to;
        json_array_foreach(v, i, to) {
            char p[32];
            snprintf(p, sizeof p, "to[%zu]", i);
            if (!settings_valid_email(json_string_value(to)))
                return fail(c, p, "must be an e-mail address");
        }
    }
    return true;
}

/* ------------------------------------------------------------------ entry */

/* Operator ids are kept in lower case, as every other id: Redis keys,
 * topics and the console compare them as text, so "ABC…" in a group would
 * be an operator who is never online (no group transfer, no ring). */
static void lower_operator_ids(json_t *routing)
{
    size_t i, k;
    json_t *g, *op;
    json_array_foreach(json_object_get(routing, "groups"), i, g) {
        json_array_foreach(json_object_get(g, "operators"), k, op) {
            char id[40];
            snprintf(id, sizeof id, "%s", json_string_value(op));
            for (char *p = id; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char) (*p - 'A' + 'a');
            json_string_set(op, id);
        }
    }
}

bool settings_section_known(const char *section)
{
    return section && (strcmp(section, "routing") == 0 || strcmp(section, "survey") == 0
                       || strcmp(section, "offline") == 0);
}

json_t *settings_check(const char *section, const json_t *doc, const json_t *stored,
                       char *err, size_t cap)
{
    checker_t c = { err, cap };
    if (!settings_section_known(section)) {
        fail(&c, section ? section : "", "unknown section");
        return NULL;
    }
    if (!json_is_object(doc)) {
        fail(&c, section, "must be a JSON object");
        return NULL;
    }
    bool ok = strcmp(section, "routing") == 0 ? check_routing(&c, doc)
            : strcmp(section, "survey") == 0 ? check_survey(&c, doc)
            : check_offline(&c, doc);
    if (!ok)
        return NULL;
    json_t *out = json_deep_copy(doc);
    if (out && strcmp(section, "routing") == 0)
        lower_operator_ids(out);
    if (out && strcmp(section, "offline") == 0 && !json_object_get(doc, "smtp_password")) {
        const json_t *kept = json_object_get(stored, "smtp_password");
        if (json_is_string(kept))
            json_object_set_new(out, "smtp_password", json_string(json_string_value(kept)));
    }
    return out;
}

json_t *settings_public(const json_t *routing, const json_t *survey, const json_t *offline,
                        long long version)
{
    json_t *r = json_is_object(routing) ? json_deep_copy(routing) : json_object();
    if (!json_object_get(r, "timezone"))
        json_object_set_new(r, "timezone", json_string("UTC"));
    if (!json_object_get(r, "groups"))
        json_object_set_new(r, "groups", json_array());
    if (!json_object_get(r, "rules"))
        json_object_set_new(r, "rules", json_array());
    json_t *o = json_is_object(offline) ? json_deep_copy(offline) : json_object();
    const char *pw = json_string_value(json_object_get(o, "smtp_password"));
    bool set = pw && *pw;                /* read before the delete frees it */
    json_object_del(o, "smtp_password");
    json_object_set_new(o, "smtp_password_set", json_boolean(set));
    return json_pack("{s:I, s:o, s:o, s:o}", "version", (json_int_t) version, "routing", r,
                     "survey", json_is_object(survey) ? json_deep_copy(survey) : json_object(),
                     "offline", o);
}
