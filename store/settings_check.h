/* Validation of a site's settings sections (docs/ROUTING.md tables): every
 * field, its limits, unknown keys refused. Pure (jansson only): what needs
 * PostgreSQL (operators belong to the site, the time zone name exists) is
 * checked by store/settings.c around this. */
#ifndef STORE_SETTINGS_CHECK_H
#define STORE_SETTINGS_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define SETTINGS_GROUPS_MAX        100
#define SETTINGS_GROUP_OPS_MAX     500
#define SETTINGS_RULES_MAX         100
#define SETTINGS_VALUES_MAX         50   /* values of one match condition */
#define SETTINGS_PATTERN_MAX      1000   /* bytes of one match value */
#define SETTINGS_INTERVALS_MAX      10   /* per weekday */
#define SETTINGS_CHOICES_MAX        20
#define SETTINGS_RECIPIENTS_MAX     10
#define SETTINGS_DOC_MAX_BYTES   65536

/* "routing", "survey", "offline"; false for anything else. */
bool settings_section_known(const char *section);

/* Checks doc as the new value of section. stored: that section as stored now
 * (for offline: an absent smtp_password keeps the stored one), may be NULL.
 * Returns the value to store (a new reference), or NULL with err set to
 * "<path>: <problem>" (e.g. "rules[1].hours.mon[0]: end before start"). */
json_t *settings_check(const char *section, const json_t *doc, const json_t *stored,
                       char *err, size_t cap);

/* "UTC+03:00" -> +180, "UTC-05:30" -> -330, "UTC" -> 0; false when tz is not
 * of that form (it may still be an IANA name). */
bool settings_tz_offset(const char *tz, int *minutes);

/* An e-mail address as the settings and the survey take it: ASCII, printable,
 * no spaces, one @ with text on both sides, at most 254 bytes. */
bool settings_valid_email(const char *s);

/* A phone number: 3..32 bytes of digits, spaces and + - ( ) . with a digit. */
bool settings_valid_phone(const char *s);

/* The document as GET shows it: offline.smtp_password replaced by
 * smtp_password_set. Returns a new object. */
json_t *settings_public(const json_t *routing, const json_t *survey, const json_t *offline,
                        long long version);

#endif
