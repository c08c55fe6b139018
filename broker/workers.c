/* Worker registry. Services are few (router, store) and workers per service
 * tens at most, so a pick scans the service's list: O(workers) hashing per
 * request, cheaper than keeping a ring in sync. */
#include "workers.h"
#include "bus.h"
#include "log.h"
#include "rendezvous.h"
#include "util.h"

#define MAX_WORKERS_PER_SERVICE 256
/* Requests name their service; an unknown name makes an empty service (so
 * that its no_worker replies are counted under its name). The cap keeps a
 * confused client from growing the table and the metrics without bound. */
#define MAX_SERVICES 32

typedef struct {
    char *name;
    uint64_t epoch;
    zlistx_t *workers;        /* worker_t*, not owned */
    workers_stats_t stats;    /* series of the registry, or all NULL */
} service_t;

struct workers_t {
    zhashx_t *by_route;       /* route hex -> worker_t (owned) */
    zhashx_t *services;       /* name -> service_t (owned) */
    beseda_metrics_t *metrics;   /* not owned; NULL: no metrics */
};

static void worker_free(void **item)
{
    worker_t *w = (worker_t *) *item;
    if (!w)
        return;
    zframe_destroy(&w->route);
    free(w->name);
    free(w->service);
    free(w->route_key);
    free(w);
    *item = NULL;
}

static void service_free(void **item)
{
    service_t *s = (service_t *) *item;
    if (!s)
        return;
    zlistx_destroy(&s->workers);
    free(s->name);
    free(s);
    *item = NULL;
}

workers_t *workers_new(void)
{
    workers_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_route = zhashx_new();
    self->services = zhashx_new();
    if (!self->by_route || !self->services) {
        workers_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->by_route, worker_free);
    zhashx_set_destructor(self->services, service_free);
    return self;
}

void workers_destroy(workers_t **self_p)
{
    workers_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->services);   /* lists first: they point into by_route */
    zhashx_destroy(&self->by_route);
    free(self);
    *self_p = NULL;
}

char *workers_route_key(zframe_t *route)
{
    return zframe_strhex(route);
}

/* An epoch only grows, also across broker restarts: it is at least the wall
 * clock in milliseconds, so a restarted broker never reissues an old epoch. */
static void bump_epoch(service_t *s)
{
    uint64_t now = (uint64_t) beseda_now_ms();
    s->epoch = now > s->epoch ? now : s->epoch + 1;
}

void workers_set_metrics(workers_t *self, beseda_metrics_t *metrics)
{
    self->metrics = metrics;
}

static void stats_register(workers_stats_t *st, beseda_metrics_t *m, const char *service)
{
    st->workers = beseda_metrics_gauge(m, "beseda_broker_workers", "Live workers of the service.",
                                       "service", service);
    st->epoch = beseda_metrics_gauge(m, "beseda_broker_epoch",
                                     "Current epoch of the service (changes with its membership).",
                                     "service", service);
    st->joins = beseda_metrics_counter(m, "beseda_broker_worker_joins_total",
                                       "Workers that joined the service.", "service", service);
    st->leaves = beseda_metrics_counter(m, "beseda_broker_worker_leaves_total",
                                        "Workers that left the service (bye, lost, replaced).",
                                        "service", service);
    st->routed = beseda_metrics_counter(m, "beseda_broker_requests_routed_total",
                                        "Requests handed to a worker of the service.", "service", service);
    st->no_worker = beseda_metrics_counter(m, "beseda_broker_no_worker_total",
                                           "Requests answered no_worker: the service had no live worker.",
                                           "service", service);
}

static service_t *service_get(workers_t *self, const char *name)
{
    service_t *s = zhashx_lookup(self->services, name);
    if (s)
        return s;
    if (zhashx_size(self->services) >= MAX_SERVICES)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = strdup(name);
    s->workers = zlistx_new();
    if (!s->name || !s->workers) {
        void *item = s;
        service_free(&item);
        return NULL;
    }
    if (self->metrics)
        stats_register(&s->stats, self->metrics, name);
    zhashx_insert(self->services, name, s);
    return s;
}

workers_stats_t *workers_stats(workers_t *self, const char *service)
{
    service_t *s = service_get(self, service);
    return s ? &s->stats : NULL;
}

static void stats_membership(service_t *s)
{
    beseda_gauge_set(s->stats.workers, (int64_t) zlistx_size(s->workers));
    beseda_gauge_set(s->stats.epoch, (int64_t) s->epoch);
}

int workers_heartbeat(workers_t *self, zframe_t *route, const char *service, const char *name,
                      int64_t now_ms)
{
    char *key = workers_route_key(route);
    if (!key)
        return -1;
    worker_t *w = zhashx_lookup(self->by_route, key);
    if (w) {
        free(key);
        w->expiry_ms = now_ms + BUS_DEAD_AFTER_MS;
        w->last_hb_ms = now_ms;
        return 0;
    }
    service_t *s = service_get(self, service);
    if (!s || zlistx_size(s->workers) >= MAX_WORKERS_PER_SERVICE) {
        log_warn("worker refused: service full", "service", service, "worker", name);
        free(key);
        return -1;
    }
    /* A worker restarted under the same name replaces its old entry at once
     * instead of waiting for it to expire. */
    for (worker_t *o = zlistx_first(s->workers); o; o = zlistx_next(s->workers))
        if (strcmp(o->name, name) == 0) {
            char *old_key = strdup(o->route_key);
            workers_remove(self, old_key, "replaced");
            free(old_key);
            break;
        }
    w = calloc(1, sizeof *w);
    if (!w) {
        free(key);
        return -1;
    }
    w->name = strdup(name);
    w->service = strdup(service);
    w->route = zframe_dup(route);
    w->route_key = key;
    if (!w->name || !w->service || !w->route) {
        void *item = w;
        worker_free(&item);
        return -1;
    }
    w->expiry_ms = now_ms + BUS_DEAD_AFTER_MS;
    w->last_hb_ms = now_ms;
    zhashx_insert(self->by_route, key, w);
    zlistx_add_end(s->workers, w);
    bump_epoch(s);
    stats_membership(s);
    beseda_counter_inc(s->stats.joins);
    char n[24];
    snprintf(n, sizeof n, "%zu", zlistx_size(s->workers));
    log_info("worker joined", "service", service, "worker", name, "workers", n);
    return 1;
}

void workers_remove(workers_t *self, const char *route_key, const char *why)
{
    worker_t *w = zhashx_lookup(self->by_route, route_key);
    if (!w)
        return;
    service_t *s = zhashx_lookup(self->services, w->service);
    if (s) {
        void *handle = zlistx_find(s->workers, w);
        if (handle)
            zlistx_delete(s->workers, handle);
        bump_epoch(s);
        stats_membership(s);
        beseda_counter_inc(s->stats.leaves);
    }
    log_info("worker left", "service", w->service, "worker", w->name, "why", why);
    zhashx_delete(self->by_route, route_key);
}

worker_t *workers_pick(workers_t *self, const char *service, const char *key)
{
    service_t *s = zhashx_lookup(self->services, service);
    if (!s || zlistx_size(s->workers) == 0)
        return NULL;
    worker_t *best = NULL;
    uint64_t best_weight = 0;
    for (worker_t *w = zlistx_first(s->workers); w; w = zlistx_next(s->workers)) {
        uint64_t weight = rendezvous_weight(w->name, key);
        if (!best || weight > best_weight) {
            best = w;
            best_weight = weight;
        }
    }
    return best;
}

uint64_t workers_epoch(workers_t *self, const char *service)
{
    service_t *s = zhashx_lookup(self->services, service);
    return s ? s->epoch : 0;
}

int workers_expire(workers_t *self, int64_t now_ms)
{
    zlistx_t *dead = zlistx_new();
    if (!dead)
        return 0;
    zlistx_set_destructor(dead, (zlistx_destructor_fn *) zstr_free);
    for (worker_t *w = zhashx_first(self->by_route); w; w = zhashx_next(self->by_route))
        if (w->expiry_ms <= now_ms)
            zlistx_add_end(dead, strdup(w->route_key));
    int n = (int) zlistx_size(dead);
    for (char *key = zlistx_first(dead); key; key = zlistx_next(dead))
        workers_remove(self, key, "heartbeat lost");
    zlistx_destroy(&dead);
    return n;
}

worker_t *workers_first(workers_t *self) { return zhashx_first(self->by_route); }
worker_t *workers_next(workers_t *self) { return zhashx_next(self->by_route); }
worker_t *workers_lookup(workers_t *self, const char *route_key)
{
    return zhashx_lookup(self->by_route, route_key);
}

worker_t *workers_find_name(workers_t *self, const char *name)
{
    for (worker_t *w = zhashx_first(self->by_route); w; w = zhashx_next(self->by_route))
        if (strcmp(w->name, name) == 0)
            return w;
    return NULL;
}
