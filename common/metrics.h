/* Process metrics, rendered in the Prometheus text exposition format 0.0.4.
 *
 * A registry (one per process, made in main and passed down in the context
 * structs) holds metric families; a family has a name, a help text, a type,
 * and at most one label (e.g. "service" or "kind") whose values are its
 * series. Registering returns a series pointer that stays valid until the
 * registry is destroyed; asking again for the same name and label value
 * returns the same series, so a caller may register lazily.
 *
 * The hot path is lock-free: counters, gauges and histogram buckets are C11
 * atomics, updates allocate nothing, and every update accepts NULL (metrics
 * off, a unit test without a registry, or a family that hit its series cap)
 * and then does nothing. Registration and rendering take the registry's
 * mutex; they are rare (start-up, new label value, scrape). */
#ifndef BESEDA_METRICS_H
#define BESEDA_METRICS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERIES_PER_FAMILY 64   /* a label value beyond this is refused (NULL) */
#define METRICS_MAX_BUCKETS           24   /* histogram bounds, +Inf not counted */

typedef struct beseda_metrics_t beseda_metrics_t;
typedef struct beseda_counter_t beseda_counter_t;
typedef struct beseda_gauge_t beseda_gauge_t;
typedef struct beseda_histogram_t beseda_histogram_t;

/* Bucket bounds shared by the processes: latencies in milliseconds, and
 * sizes (batch lengths). Each ends with its count constant. */
extern const double METRICS_LATENCY_MS_BOUNDS[];
#define METRICS_LATENCY_MS_COUNT 14
extern const double METRICS_SIZE_BOUNDS[];
#define METRICS_SIZE_COUNT 10

beseda_metrics_t *beseda_metrics_new(void);
void beseda_metrics_destroy(beseda_metrics_t **self_p);

/* Registration. label NULL: a family without labels (value is ignored).
 * Returns NULL on a bad name, a type or label clash with an earlier
 * registration of the same name, the series cap, or out of memory. */
beseda_counter_t *beseda_metrics_counter(beseda_metrics_t *self, const char *name, const char *help,
                                         const char *label, const char *value);
beseda_gauge_t *beseda_metrics_gauge(beseda_metrics_t *self, const char *name, const char *help,
                                     const char *label, const char *value);
/* bounds: strictly increasing upper bounds (le), at most METRICS_MAX_BUCKETS;
 * the +Inf bucket is implied. */
beseda_histogram_t *beseda_metrics_histogram(beseda_metrics_t *self, const char *name,
                                             const char *help, const char *label,
                                             const char *value, const double *bounds,
                                             size_t nbounds);

/* Updates: lock-free, allocation-free, NULL-safe. */
void beseda_counter_inc(beseda_counter_t *c);
void beseda_counter_add(beseda_counter_t *c, uint64_t n);
uint64_t beseda_counter_get(const beseda_counter_t *c);
void beseda_gauge_set(beseda_gauge_t *g, int64_t v);
void beseda_gauge_add(beseda_gauge_t *g, int64_t delta);
int64_t beseda_gauge_get(const beseda_gauge_t *g);
void beseda_histogram_observe(beseda_histogram_t *h, double v);
uint64_t beseda_histogram_count(const beseda_histogram_t *h);

/* The process loop calls this every iteration; /healthz compares the time
 * of the last beat with now (monotonic ms) to tell a live loop from a stuck
 * one. 0 = never beaten. */
void beseda_metrics_beat(beseda_metrics_t *self);
int64_t beseda_metrics_last_beat_ms(beseda_metrics_t *self);

/* The whole registry as exposition text (malloc'd, caller frees), or NULL
 * when out of memory. Families in registration order, series in label-value
 * registration order; histogram buckets cumulative, _count equal to the
 * +Inf bucket. */
char *beseda_metrics_render(beseda_metrics_t *self);

/* Requests counted by kind, the kinds read from a protobuf request
 * message's descriptor (RouterRequest, StoreRequest): one counter and one
 * latency histogram per field, so a new kind gets its series without
 * touching the process. Zeroed (no registry): every update does nothing. */
#define METRICS_MAX_KINDS 32   /* fields of a request message counted */

typedef struct {
    const ProtobufCMessageDescriptor *descriptor;
    beseda_counter_t *requests[METRICS_MAX_KINDS];    /* by field index in the descriptor */
    beseda_histogram_t *latency[METRICS_MAX_KINDS];
    beseda_counter_t *undecodable;                    /* no kind (body_case 0 or unknown) */
} beseda_request_kinds_t;

typedef struct {
    const char *counter, *counter_help;               /* label "kind" */
    const char *histogram, *histogram_help;
    int oneof_only;                                   /* fields outside a oneof are no kind */
} beseda_request_kinds_names_t;

void beseda_request_kinds_init(beseda_request_kinds_t *self, beseda_metrics_t *registry,
                               const ProtobufCMessageDescriptor *descriptor,
                               const beseda_request_kinds_names_t *names);
/* One request of kind body_case (a field number) answered after ms. */
void beseda_request_kinds_observe(beseda_request_kinds_t *self, int body_case, double ms);

#endif
