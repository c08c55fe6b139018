/* See gateways.h. A hash by name: a restarted gateway with the same name
 * simply overwrites its entry. */
#include "gateways.h"
#include <czmq.h>

struct gateways_t {
    zhashx_t *by_name;        /* name -> gateway_stat_t (owned) */
};

static void stat_free(void **item)
{
    gateway_stat_t *g = (gateway_stat_t *) *item;
    if (!g)
        return;
    free(g->name);
    free(g);
    *item = NULL;
}

gateways_t *gateways_new(void)
{
    gateways_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_name = zhashx_new();
    if (!self->by_name) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->by_name, stat_free);
    return self;
}

void gateways_destroy(gateways_t **self_p)
{
    gateways_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->by_name);
    free(self);
    *self_p = NULL;
}

int gateways_report(gateways_t *self, const char *name, uint32_t visitors, uint32_t operators,
                    int64_t now_ms)
{
    if (!name || !*name)
        return -1;
    gateway_stat_t *g = zhashx_lookup(self->by_name, name);
    if (!g) {
        if (zhashx_size(self->by_name) >= GATEWAYS_MAX)
            return -1;
        g = calloc(1, sizeof *g);
        if (!g || !(g->name = strdup(name))) {
            free(g);
            return -1;
        }
        zhashx_insert(self->by_name, name, g);
    }
    g->visitors = visitors;
    g->operators = operators;
    g->seen_ms = now_ms;
    return 0;
}

void gateways_expire(gateways_t *self, int64_t now_ms)
{
    zlistx_t *gone = zlistx_new();
    if (!gone)
        return;
    zlistx_set_destructor(gone, (zlistx_destructor_fn *) zstr_free);
    for (gateway_stat_t *g = zhashx_first(self->by_name); g; g = zhashx_next(self->by_name))
        if (now_ms - g->seen_ms >= GATEWAYS_FORGET_MS) {
            char *name = strdup(g->name);
            if (name)
                zlistx_add_end(gone, name);
        }
    for (char *name = zlistx_first(gone); name; name = zlistx_next(gone))
        zhashx_delete(self->by_name, name);
    zlistx_destroy(&gone);
}

size_t gateways_size(gateways_t *self) { return zhashx_size(self->by_name); }
gateway_stat_t *gateways_first(gateways_t *self) { return zhashx_first(self->by_name); }
gateway_stat_t *gateways_next(gateways_t *self) { return zhashx_next(self->by_name); }
