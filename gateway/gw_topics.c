/* Topic -> connection ids. A topic has few connections (a conversation: the
 * visitor's tabs and one operator) except "s:<site>" (every visitor of a
 * site), so a plain array per topic with linear search is enough. */
#include "gw_topics.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t *conns;
    size_t count;
    size_t cap;
} entry_t;

struct gw_topics_t {
    zhashx_t *map;   /* topic -> entry_t */
};

static void entry_free(void **item)
{
    entry_t *e = *item;
    if (e) {
        free(e->conns);
        free(e);
    }
    *item = NULL;
}

gw_topics_t *gw_topics_new(void)
{
    gw_topics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->map = zhashx_new();
    if (!self->map) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->map, entry_free);
    return self;
}

void gw_topics_destroy(gw_topics_t **self_p)
{
    gw_topics_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->map);
    free(self);
    *self_p = NULL;
}

static ssize_t find(const entry_t *e, uint64_t conn_id)
{
    for (size_t i = 0; i < e->count; i++)
        if (e->conns[i] == conn_id)
            return (ssize_t) i;
    return -1;
}

int gw_topics_add(gw_topics_t *self, const char *topic, uint64_t conn_id)
{
    entry_t *e = zhashx_lookup(self->map, topic);
    int first = 0;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || zhashx_insert(self->map, topic, e) != 0) {
            free(e);
            return -1;
        }
        first = 1;
    } else if (find(e, conn_id) >= 0)
        return 0;
    if (e->count == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        uint64_t *grown = realloc(e->conns, cap * sizeof *grown);
        if (!grown) {
            if (first)
                zhashx_delete(self->map, topic);
            return -1;
        }
        e->conns = grown;
        e->cap = cap;
    }
    e->conns[e->count++] = conn_id;
    return first;
}

int gw_topics_remove(gw_topics_t *self, const char *topic, uint64_t conn_id)
{
    entry_t *e = zhashx_lookup(self->map, topic);
    if (!e)
        return 0;
    ssize_t i = find(e, conn_id);
    if (i < 0)
        return 0;
    e->conns[i] = e->conns[--e->count];
    if (e->count > 0)
        return 0;
    zhashx_delete(self->map, topic);
    return 1;
}

int gw_topics_has(gw_topics_t *self, const char *topic, uint64_t conn_id)
{
    entry_t *e = zhashx_lookup(self->map, topic);
    return e && find(e, conn_id) >= 0;
}

uint64_t *gw_topics_conns(gw_topics_t *self, const char *topic, size_t *count)
{
    *count = 0;
    entry_t *e = zhashx_lookup(self->map, topic);
    if (!e || e->count == 0)
        return NULL;
    uint64_t *copy = malloc(e->count * sizeof *copy);
    if (!copy)
        return NULL;
    memcpy(copy, e->conns, e->count * sizeof *copy);
    *count = e->count;
    return copy;
}

size_t gw_topics_size(gw_topics_t *self)
{
    return zhashx_size(self->map);
}
