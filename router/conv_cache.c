/* Conversation cache: see conv_cache.h. */
#include "conv_cache.h"
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conv_cache_t {
    zhashx_t *entries;        /* conversation id -> conv_entry_t (owned) */
    size_t max_entries;
    int64_t ttl_ms;
};

static void entry_free(void **item)
{
    free(*item);
    *item = NULL;
}

conv_cache_t *conv_cache_new(size_t max_entries, int64_t ttl_ms)
{
    conv_cache_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->entries = zhashx_new();
    if (!self->entries) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->entries, entry_free);
    self->max_entries = max_entries;
    self->ttl_ms = ttl_ms;
    return self;
}

void conv_cache_destroy(conv_cache_t **self_p)
{
    conv_cache_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->entries);
    free(self);
    *self_p = NULL;
}

/* Keeps the cache bounded: drop expired entries, and if that is not enough,
 * everything (a cold cache only costs store lookups). */
static void conv_cache_make_room(conv_cache_t *self, int64_t now_ms)
{
    if (zhashx_size(self->entries) < self->max_entries)
        return;
    zlistx_t *keys = zhashx_keys(self->entries);
    if (keys) {
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
            conv_entry_t *e = zhashx_lookup(self->entries, k);
            if (e && e->expires_ms <= now_ms)
                zhashx_delete(self->entries, k);
        }
        zlistx_destroy(&keys);
    }
    if (zhashx_size(self->entries) >= self->max_entries)
        zhashx_purge(self->entries);
}

static int copy_id(char *out, size_t size, const char *in)
{
    in = in ? in : "";
    if (strlen(in) >= size)
        return -1;
    memcpy(out, in, strlen(in) + 1);
    return 0;
}

int conv_entry_from_info(conv_entry_t *entry, const Beseda__ConversationInfo *info)
{
    memset(entry, 0, sizeof *entry);
    if (!info || !info->id || !*info->id || strlen(info->id) > CONV_ID_MAX_CHARS)
        return -1;
    if (copy_id(entry->site_id, sizeof entry->site_id, info->site_id) != 0
        || copy_id(entry->visitor_id, sizeof entry->visitor_id, info->visitor_id) != 0
        || copy_id(entry->operator_id, sizeof entry->operator_id, info->operator_id) != 0
        || copy_id(entry->state, sizeof entry->state, info->state) != 0)
        return -1;
    return 0;
}

void conv_cache_put(conv_cache_t *self, const Beseda__ConversationInfo *info, int64_t now_ms)
{
    conv_entry_t fresh;
    if (conv_entry_from_info(&fresh, info) != 0)
        return;
    fresh.expires_ms = now_ms + self->ttl_ms;
    conv_entry_t *e = zhashx_lookup(self->entries, info->id);
    if (e) {
        *e = fresh;
        return;
    }
    conv_cache_make_room(self, now_ms);
    e = malloc(sizeof *e);
    if (!e)
        return;
    *e = fresh;
    if (zhashx_insert(self->entries, info->id, e) != 0)
        free(e);
}

const conv_entry_t *conv_cache_get(conv_cache_t *self, const char *conv_id, int64_t now_ms)
{
    conv_entry_t *e = zhashx_lookup(self->entries, conv_id);
    if (e && e->expires_ms <= now_ms) {
        zhashx_delete(self->entries, conv_id);
        return NULL;
    }
    return e;
}

size_t conv_cache_size(conv_cache_t *self)
{
    return zhashx_size(self->entries);
}

bool conv_may_access(const conv_entry_t *conv, const char *site_id, const char *visitor_id,
                     const char *operator_id, conv_access_t access)
{
    if (!conv || !site_id || !*site_id || strcmp(conv->site_id, site_id) != 0)
        return false;
    if (operator_id && *operator_id) {
        if (access == CONV_READ)
            return true;
        return strcmp(conv->operator_id, operator_id) == 0;
    }
    return visitor_id && *visitor_id && strcmp(conv->visitor_id, visitor_id) == 0;
}
