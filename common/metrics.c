/* See metrics.h. Series are allocated one by one and linked into their
 * family, so a pointer handed out never moves; the registry frees them all
 * at the end. Relaxed atomics are enough: each value is independent and a
 * scrape only needs each number to be one that was true at some instant. */
#include "metrics.h"
#include "util.h"
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double METRICS_LATENCY_MS_BOUNDS[METRICS_LATENCY_MS_COUNT] = {
    0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000
};
const double METRICS_SIZE_BOUNDS[METRICS_SIZE_COUNT] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

struct beseda_counter_t { _Atomic uint64_t value; };
struct beseda_gauge_t { _Atomic int64_t value; };
struct beseda_histogram_t {
    const double *bounds;             /* the family's */
    size_t nbounds;
    _Atomic uint64_t buckets[METRICS_MAX_BUCKETS + 1];   /* not cumulative; last = +Inf */
    _Atomic uint64_t sum_bits;        /* a double, updated by compare-and-swap */
};

typedef struct series_t {
    struct series_t *next;
    char *value;                      /* label value, NULL without label */
    union {
        beseda_counter_t counter;
        beseda_gauge_t gauge;
        beseda_histogram_t histogram;
    } u;
} series_t;

typedef struct family_t {
    struct family_t *next;
    char *name;
    char *help;
    char *label;                      /* NULL: no label */
    kind_t kind;
    double bounds[METRICS_MAX_BUCKETS];
    size_t nbounds;
    series_t *first, *last;
    size_t nseries;
} family_t;

struct beseda_metrics_t {
    pthread_mutex_t lock;
    family_t *first, *last;
    _Atomic int64_t last_beat_ms;
};

beseda_metrics_t *beseda_metrics_new(void)
{
    beseda_metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    return self;
}

static void family_free(family_t *f)
{
    for (series_t *s = f->first, *next; s; s = next) {
        next = s->next;
        free(s->value);
        free(s);
    }
    free(f->name);
    free(f->help);
    free(f->label);
    free(f);
}

void beseda_metrics_destroy(beseda_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    beseda_metrics_t *self = *self_p;
    for (family_t *f = self->first, *next; f; f = next) {
        next = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names without ':'. */
static int valid_name(const char *s, int is_label)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                 || c == '_' || (c == ':' && !is_label);
        if (!ok)
            return 0;
    }
    return 1;
}

static int same_label(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static family_t *family_find(beseda_metrics_t *self, const char *name)
{
    for (family_t *f = self->first; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static family_t *family_add(beseda_metrics_t *self, const char *name, const char *help,
                            const char *label, kind_t kind, const double *bounds, size_t nbounds)
{
    family_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->name = strdup(name);
    f->help = strdup(help ? help : "");
    f->label = label ? strdup(label) : NULL;
    f->kind = kind;
    f->nbounds = nbounds;
    if (nbounds)
        memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
    if (!f->name || !f->help || (label && !f->label)) {
        family_free(f);
        return NULL;
    }
    if (self->last)
        self->last->next = f;
    else
        self->first = f;
    self->last = f;
    return f;
}

static int bounds_valid(const double *bounds, size_t n)
{
    if (n > METRICS_MAX_BUCKETS || (n && !bounds))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
            return 0;
    return 1;
}

static series_t *series_add(family_t *f, const char *value)
{
    if (f->nseries >= METRICS_MAX_SERIES_PER_FAMILY)
        return NULL;
    series_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (f->label && !(s->value = strdup(value ? value : ""))) {
        free(s);
        return NULL;
    }
    if (f->kind == KIND_HISTOGRAM) {
        s->u.histogram.bounds = f->bounds;
        s->u.histogram.nbounds = f->nbounds;
    }
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    f->nseries++;
    return s;
}

/* Finds or creates the series; the caller holds the lock. */
static series_t *lookup(beseda_metrics_t *self, const char *name, const char *help,
                        const char *label, const char *value, kind_t kind,
                        const double *bounds, size_t nbounds)
{
    family_t *f = family_find(self, name);
    if (!f)
        f = family_add(self, name, help, label, kind, bounds, nbounds);
    else if (f->kind != kind || !same_label(f->label, label))
        return NULL;
    if (!f)
        return NULL;
    if (!f->label)
        return f->first ? f->first : series_add(f, NULL);
    for (series_t *s = f->first; s; s = s->next)
        if (strcmp(s->value, value ? value : "") == 0)
            return s;
    return series_add(f, value);
}

static series_t *register_series(beseda_metrics_t *self, const char *name, const char *help,
                                 const char *label, const char *value, kind_t kind,
                                 const double *bounds, size_t nbounds)
{
    if (!self || !valid_name(name, 0) || (label && !valid_name(label, 1))
        || (label && strcmp(label, "le") == 0))
        return NULL;
    if (kind == KIND_HISTOGRAM && !bounds_valid(bounds, nbounds))
        return NULL;
    pthread_mutex_lock(&self->lock);
    series_t *s = lookup(self, name, help, label, value, kind, bounds, nbounds);
    pthread_mutex_unlock(&self->lock);
    return s;
}

beseda_counter_t *beseda_metrics_counter(beseda_metrics_t *self, const char *name, const char *help,
                                         const char *label, const char *value)
{
    series_t *s = register_series(self, name, help, label, value, KIND_COUNTER, NULL, 0);
    return s ? &s->u.counter : NULL;
}

beseda_gauge_t *beseda_metrics_gauge(beseda_metrics_t *self, const char *name, const char *help,
                                     const char *label, const char *value)
{
    series_t *s = register_series(self, name, help, label, value, KIND_GAUGE, NULL, 0);
    return s ? &s->u.gauge : NULL;
}

beseda_histogram_t *beseda_metrics_histogram(beseda_metrics_t *self, const char *name,
                                             const char *help, const char *label,
                                             const char *value, const double *bounds,
                                             size_t nbounds)
{
    series_t *s = register_series(self, name, help, label, value, KIND_HISTOGRAM, bounds, nbounds);
    return s ? &s->u.histogram : NULL;
}

void beseda_counter_inc(beseda_counter_t *c)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, 1, memory_order_relaxed);
}

void beseda_counter_add(beseda_counter_t *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

uint64_t beseda_counter_get(const beseda_counter_t *c)
{
    return c ? atomic_load_explicit(&((beseda_counter_t *) c)->value, memory_order_relaxed) : 0;
}

void beseda_gauge_set(beseda_gauge_t *g, int64_t v)
{
    if (g)
        atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

void beseda_gauge_add(beseda_gauge_t *g, int64_t delta)
{
    if (g)
        atomic_fetch_add_explicit(&g->value, delta, memory_order_relaxed);
}

int64_t beseda_gauge_get(const beseda_gauge_t *g)
{
    return g ? atomic_load_explicit(&((beseda_gauge_t *) g)->value, memory_order_relaxed) : 0;
}

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

void beseda_histogram_observe(beseda_histogram_t *h, double v)
{
    if (!h || isnan(v))
        return;
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
    uint64_t old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old,
                                                  double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

uint64_t beseda_histogram_count(const beseda_histogram_t *h)
{
    if (!h)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i <= h->nbounds; i++)
        n += atomic_load_explicit(&((beseda_histogram_t *) h)->buckets[i], memory_order_relaxed);
    return n;
}

void beseda_metrics_beat(beseda_metrics_t *self)
{
    if (self)
        atomic_store_explicit(&self->last_beat_ms, beseda_mono_ms(), memory_order_relaxed);
}

int64_t beseda_metrics_last_beat_ms(beseda_metrics_t *self)
{
    return self ? atomic_load_explicit(&self->last_beat_ms, memory_order_relaxed) : 0;
}

/* ---- rendering ---------------------------------------------------------- */

/* HELP text escapes backslash and newline; label values also the quote. */
static void put_escaped(FILE *out, const char *s, int is_label_value)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", out);
        else if (*s == '\n')
            fputs("\\n", out);
        else if (*s == '"' && is_label_value)
            fputs("\\\"", out);
        else
            fputc(*s, out);
    }
}

/* {label="value"} or {label="value",le="x"} or {le="x"} or nothing. */
static void put_labels(FILE *out, const family_t *f, const series_t *s, const char *le)
{
    if (!f->label && !le)
        return;
    fputc('{', out);
    if (f->label) {
        fprintf(out, "%s=\"", f->label);
        put_escaped(out, s->value, 1);
        fputc('"', out);
    }
    if (le)
        fprintf(out, "%sle=\"%s\"", f->label ? "," : "", le);
    fputc('}', out);
}

static void render_histogram(FILE *out, const family_t *f, series_t *s)
{
    beseda_histogram_t *h = &s->u.histogram;
    uint64_t cumulative = 0;
    char le[32];
    for (size_t i = 0; i <= h->nbounds; i++) {
        cumulative += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
        if (i < h->nbounds)
            snprintf(le, sizeof le, "%g", h->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        fprintf(out, "%s_bucket", f->name);
        put_labels(out, f, s, le);
        fprintf(out, " %llu\n", (unsigned long long) cumulative);
    }
    fprintf(out, "%s_sum", f->name);
    put_labels(out, f, s, NULL);
    fprintf(out, " %.17g\n", bits_to_double(atomic_load_explicit(&h->sum_bits, memory_order_relaxed)));
    fprintf(out, "%s_count", f->name);
    put_labels(out, f, s, NULL);
    fprintf(out, " %llu\n", (unsigned long long) cumulative);
}

static void render_family(FILE *out, const family_t *f)
{
    static const char *TYPES[] = { "counter", "gauge", "histogram" };
    fprintf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, 0);
    fprintf(out, "\n# TYPE %s %s\n", f->name, TYPES[f->kind]);
    for (series_t *s = f->first; s; s = s->next) {
        if (f->kind == KIND_HISTOGRAM) {
            render_histogram(out, f, s);
            continue;
        }
        fputs(f->name, out);
        put_labels(out, f, s, NULL);
        if (f->kind == KIND_COUNTER)
            fprintf(out, " %llu\n", (unsigned long long) beseda_counter_get(&s->u.counter));
        else
            fprintf(out, " %lld\n", (long long) beseda_gauge_get(&s->u.gauge));
    }
}

char *beseda_metrics_render(beseda_metrics_t *self)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    if (self) {
        pthread_mutex_lock(&self->lock);
        for (family_t *f = self->first; f; f = f->next)
            render_family(out, f);
        pthread_mutex_unlock(&self->lock);
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---------------------------------------------------------------- request kinds */

void beseda_request_kinds_init(beseda_request_kinds_t *self, beseda_metrics_t *r,
                               const ProtobufCMessageDescriptor *d,
                               const beseda_request_kinds_names_t *names)
{
    memset(self, 0, sizeof *self);
    self->descriptor = d;
    for (unsigned i = 0; i < d->n_fields && i < METRICS_MAX_KINDS; i++) {
        if (names->oneof_only && !(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;          /* site_id, operator_id, ...: not a request kind */
        const char *kind = d->fields[i].name;
        self->requests[i] = beseda_metrics_counter(r, names->counter, names->counter_help,
                                                   "kind", kind);
        self->latency[i] = beseda_metrics_histogram(r, names->histogram, names->histogram_help,
                                                    "kind", kind, METRICS_LATENCY_MS_BOUNDS,
                                                    METRICS_LATENCY_MS_COUNT);
    }
    self->undecodable = beseda_metrics_counter(r, names->counter, names->counter_help,
                                               "kind", "undecodable");
}

static int kind_index(const ProtobufCMessageDescriptor *d, int body_case)
{
    const ProtobufCFieldDescriptor *f =
        d ? protobuf_c_message_descriptor_get_field(d, (unsigned) body_case) : NULL;
    if (!f)
        return -1;
    long i = f - d->fields;
    return i >= 0 && i < METRICS_MAX_KINDS ? (int) i : -1;
}

void beseda_request_kinds_observe(beseda_request_kinds_t *self, int body_case, double ms)
{
    int i = kind_index(self->descriptor, body_case);
    if (i < 0) {
        beseda_counter_inc(self->undecodable);
        return;
    }
    beseda_counter_inc(self->requests[i]);
    beseda_histogram_observe(self->latency[i], ms);
}
