/* A site's settings document (site_settings, migration 0012) as the other
 * handlers read it: fresh from PostgreSQL on every request (no cache that
 * could outlive a change made through another store). */
#ifndef STORE_SETTINGS_H
#define STORE_SETTINGS_H

#include "store.h"
#include <jansson.h>

typedef struct {
    json_t *routing;        /* {} when the site has none; never NULL after a load */
    json_t *survey;
    json_t *offline;
    long long version;
    bool site_exists;
} store_settings_t;

/* Loads the site's settings (all sections {} when it has no row). */
store_err_t store_settings_load(store_ctx_t *ctx, const char *site_id, store_settings_t *out);
void store_settings_free(store_settings_t *s);

/* Parses a section's text as stored (jsonb output); {} for NULL or bad text. */
json_t *store_settings_parse(const char *text);

/* The groups of a routing document as GroupInfo messages in mem. */
store_err_t store_settings_groups(store_mem_t *mem, const json_t *routing,
                                  Beseda__GroupInfo ***out, size_t *count);

/* The survey section as a SurveyConfig in mem; NULL when it is not enabled. */
Beseda__SurveyConfig *store_settings_survey_config(store_mem_t *mem, const json_t *survey);

#endif
