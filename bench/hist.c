/* Log-linear histogram; see hist.h for the layout.
 *
 * Index of a value v >= HIST_SUB_COUNT: keep its top HIST_SUB_BITS bits.
 * With shift = msb(v) - (HIST_SUB_BITS - 1), v >> shift lies in
 * [HIST_HALF_COUNT, HIST_SUB_COUNT), and idx = shift * HIST_HALF_COUNT + (v >> shift)
 * continues exactly where the linear part (idx = v) ends. */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

hist_t *hist_new(void)
{
    hist_t *self = calloc(1, sizeof *self);
    if (self)
        hist_reset(self);
    return self;
}

void hist_destroy(hist_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

void hist_reset(hist_t *self)
{
    memset(self, 0, sizeof *self);
    self->min = INT64_MAX;
    self->max = INT64_MIN;
}

int hist_index(int64_t value)
{
    if (value < 0)
        value = 0;
    if (value > HIST_MAX_VALUE)
        value = HIST_MAX_VALUE;
    if (value < HIST_SUB_COUNT)
        return (int) value;
    int msb = 63 - __builtin_clzll((unsigned long long) value);
    int shift = msb - (HIST_SUB_BITS - 1);
    return shift * HIST_HALF_COUNT + (int) (value >> shift);
}

int64_t hist_bucket_low(int idx)
{
    if (idx < HIST_SUB_COUNT)
        return idx;
    int shift = idx / HIST_HALF_COUNT - 1;
    int64_t mantissa = idx - shift * HIST_HALF_COUNT;
    return mantissa << shift;
}

int64_t hist_bucket_high(int idx)
{
    if (idx < HIST_SUB_COUNT)
        return idx;
    int shift = idx / HIST_HALF_COUNT - 1;
    return hist_bucket_low(idx) + ((int64_t) 1 << shift) - 1;
}

void hist_record(hist_t *self, int64_t value)
{
    if (value < 0 || value > HIST_MAX_VALUE)
        self->clamped++;
    self->counts[hist_index(value)]++;
    self->total++;
    self->sum += (double) value;
    if (value < self->min)
        self->min = value;
    if (value > self->max)
        self->max = value;
}

void hist_merge(hist_t *self, const hist_t *from)
{
    for (int i = 0; i < HIST_BUCKETS; i++)
        self->counts[i] += from->counts[i];
    self->total += from->total;
    self->clamped += from->clamped;
    self->sum += from->sum;
    if (from->min < self->min)
        self->min = from->min;
    if (from->max > self->max)
        self->max = from->max;
}

int64_t hist_percentile(const hist_t *self, double percent)
{
    if (self->total == 0)
        return 0;
    if (percent < 0)
        percent = 0;
    if (percent > 100)
        percent = 100;
    /* The rank of the wanted value, 1-based: at least the first value. */
    uint64_t rank = (uint64_t) (percent / 100.0 * (double) self->total + 0.5);
    if (rank < 1)
        rank = 1;
    if (rank > self->total)
        rank = self->total;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += self->counts[i];
        if (seen >= rank) {
            int64_t high = hist_bucket_high(i);
            /* Never report more than was recorded. */
            return high > self->max ? self->max : high;
        }
    }
    return self->max;
}

double hist_mean(const hist_t *self)
{
    return self->total ? self->sum / (double) self->total : 0.0;
}
