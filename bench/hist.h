/* A log-linear latency histogram in the manner of HdrHistogram: values below
 * HIST_SUB_COUNT are counted exactly, larger ones in buckets whose width is
 * 1/HIST_HALF_COUNT of their magnitude, so every recorded value is known to
 * within 0.8%. Fixed size (about 35 KiB), no allocation while recording:
 * the load generator records hundreds of thousands of values per second. */
#ifndef BESEDA_BENCH_HIST_H
#define BESEDA_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS    8
#define HIST_SUB_COUNT   (1 << HIST_SUB_BITS)        /* exact below this */
#define HIST_HALF_COUNT  (HIST_SUB_COUNT / 2)
#define HIST_MAX_SHIFT   34                          /* values up to ~2^42 */
#define HIST_BUCKETS     ((HIST_MAX_SHIFT + 1) * HIST_HALF_COUNT + HIST_HALF_COUNT)
#define HIST_MAX_VALUE   ((((int64_t) HIST_SUB_COUNT) << HIST_MAX_SHIFT) - 1)

typedef struct {
    uint64_t counts[HIST_BUCKETS];
    uint64_t total;
    uint64_t clamped;      /* values outside 0..HIST_MAX_VALUE, recorded at the edge */
    int64_t min, max;
    double sum;
} hist_t;

hist_t *hist_new(void);
void hist_destroy(hist_t **self_p);
void hist_reset(hist_t *self);
void hist_record(hist_t *self, int64_t value);
/* Adds every count of `from` into self. */
void hist_merge(hist_t *self, const hist_t *from);
/* The smallest recorded-bucket upper bound at or below which `percent` % of
 * the values lie (HdrHistogram's "highest equivalent value"); 0 if empty. */
int64_t hist_percentile(const hist_t *self, double percent);
double hist_mean(const hist_t *self);

/* Bucket arithmetic, exposed for the tests. */
int hist_index(int64_t value);
int64_t hist_bucket_low(int idx);
int64_t hist_bucket_high(int idx);

#endif
