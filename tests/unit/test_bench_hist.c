/* The load generator's latency histogram: exact below 256, within 1/128
 * above, percentiles agree with a sorted array, merge and reset work. */
#include "check.h"
#include "hist.h"

#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static void test_buckets_are_continuous_and_tight(void)
{
    int ok_cont = 1, ok_width = 1;
    for (int i = 1; i < HIST_BUCKETS; i++) {
        if (hist_bucket_low(i) != hist_bucket_high(i - 1) + 1)
            ok_cont = 0;
        int64_t low = hist_bucket_low(i), width = hist_bucket_high(i) - low + 1;
        if (i >= HIST_SUB_COUNT && width * HIST_HALF_COUNT > low)
            ok_width = 0;
    }
    CHECK(ok_cont, "bucket ranges follow each other without gaps");
    CHECK(ok_width, "every bucket is at most 1/128 of its value wide");
    CHECK(hist_bucket_high(HIST_BUCKETS - 1) == HIST_MAX_VALUE, "the last bucket ends at the maximum");
}

static void test_index_roundtrip(void)
{
    int ok = 1;
    int64_t values[] = {0, 1, 255, 256, 257, 511, 512, 1000, 12345, 999999, 1LL << 33, HIST_MAX_VALUE};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        int idx = hist_index(values[i]);
        if (values[i] < hist_bucket_low(idx) || values[i] > hist_bucket_high(idx))
            ok = 0;
    }
    CHECK(ok, "a value lies inside the bucket its index names");
    CHECK(hist_index(-5) == 0, "negative values go to the first bucket");
    CHECK(hist_index(HIST_MAX_VALUE * 2) == HIST_BUCKETS - 1, "huge values go to the last bucket");
}

static void test_exact_small_values(void)
{
    hist_t *h = hist_new();
    for (int v = 1; v <= 100; v++)
        hist_record(h, v);
    CHECK(hist_percentile(h, 50) == 50, "p50 of 1..100 is 50");
    CHECK(hist_percentile(h, 99) == 99, "p99 of 1..100 is 99");
    CHECK(hist_percentile(h, 100) == 100, "p100 is the maximum");
    CHECK(hist_percentile(h, 0) == 1, "p0 is the minimum");
    CHECK(h->min == 1 && h->max == 100 && h->total == 100, "min, max, count");
    CHECK(hist_mean(h) > 50.49 && hist_mean(h) < 50.51, "mean of 1..100 is 50.5");
    hist_destroy(&h);
    CHECK(h == NULL, "destroy nulls the pointer");
}

static void test_percentiles_match_sorted(void)
{
    enum { N = 200000 };
    int64_t *vals = malloc(N * sizeof *vals);
    hist_t *h = hist_new();
    if (!vals || !h) {
        CHECK(0, "allocation");
        return;
    }
    srand(42);
    for (int i = 0; i < N; i++) {
        /* Latency-like: mostly ~1 ms with a long tail up to seconds. */
        int64_t v = 200 + rand() % 2000;
        if (rand() % 100 == 0)
            v *= 1 + rand() % 1000;
        vals[i] = v;
        hist_record(h, v);
    }
    qsort(vals, N, sizeof *vals, cmp_i64);
    double ps[] = {50, 90, 99, 99.9, 99.99};
    int ok = 1;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        size_t rank = (size_t) (ps[i] / 100.0 * N + 0.5);
        int64_t exact = vals[rank - 1];
        int64_t got = hist_percentile(h, ps[i]);
        if (got < exact || (double) (got - exact) > (double) exact / HIST_HALF_COUNT + 1)
            ok = 0;
    }
    CHECK(ok, "percentiles are within 1/128 above the exact ones");
    CHECK(hist_percentile(h, 100) == vals[N - 1], "p100 is the exact maximum");
    free(vals);
    hist_destroy(&h);
}

static void test_merge_and_reset(void)
{
    hist_t *a = hist_new(), *b = hist_new();
    if (!a || !b) {
        CHECK(0, "allocation");
        return;
    }
    for (int v = 1; v <= 50; v++)
        hist_record(a, v);
    for (int v = 51; v <= 100; v++)
        hist_record(b, v);
    hist_merge(a, b);
    CHECK(a->total == 100 && hist_percentile(a, 50) == 50 && a->max == 100 && a->min == 1,
          "merge adds counts, min and max");
    hist_record(a, -1);
    hist_record(a, HIST_MAX_VALUE + 1);
    CHECK(a->clamped == 2, "out-of-range values are counted as clamped");
    hist_reset(a);
    CHECK(a->total == 0 && hist_percentile(a, 99) == 0, "reset empties; percentile of empty is 0");
    hist_destroy(&a);
    hist_destroy(&b);
}

int main(void)
{
    test_buckets_are_continuous_and_tight();
    test_index_roundtrip();
    test_exact_small_values();
    test_percentiles_match_sorted();
    test_merge_and_reset();
    return CHECK_DONE();
}
