/* The metrics registry and its exposition text: counters, gauges and
 * histograms render as Prometheus 0.0.4 says; labels are escaped; bad
 * registrations are refused without a crash; updates from several threads
 * are all counted; the admin listener serves /metrics, /healthz, /readyz. */
#include "admin_http.h"
#include "beseda.pb-c.h"
#include "check.h"
#include "metrics.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int contains(const char *text, const char *line)
{
    return text && strstr(text, line) != NULL;
}

static void test_counter_and_gauge(void)
{
    beseda_metrics_t *m = beseda_metrics_new();
    beseda_counter_t *c = beseda_metrics_counter(m, "beseda_test_total", "Things done.", NULL, NULL);
    beseda_gauge_t *g = beseda_metrics_gauge(m, "beseda_test_open", "Open things.", NULL, NULL);
    beseda_counter_inc(c);
    beseda_counter_add(c, 41);
    beseda_gauge_set(g, 5);
    beseda_gauge_add(g, -7);
    CHECK(beseda_counter_get(c) == 42, "counter adds");
    CHECK(beseda_gauge_get(g) == -2, "gauge sets and adds, may go negative");
    CHECK(beseda_metrics_counter(m, "beseda_test_total", "x", NULL, NULL) == c,
          "registering again returns the same series");
    char *text = beseda_metrics_render(m);
    CHECK(contains(text, "# HELP beseda_test_total Things done.\n# TYPE beseda_test_total counter\n"
                         "beseda_test_total 42\n"), "counter renders with HELP and TYPE");
    CHECK(contains(text, "# TYPE beseda_test_open gauge\nbeseda_test_open -2\n"), "gauge renders");
    free(text);
    beseda_metrics_destroy(&m);
    CHECK(m == NULL, "destroy nulls the pointer");
}

static void test_labels(void)
{
    beseda_metrics_t *m = beseda_metrics_new();
    beseda_counter_t *a = beseda_metrics_counter(m, "beseda_req_total", "Requests.", "service", "router");
    beseda_counter_t *b = beseda_metrics_counter(m, "beseda_req_total", "Requests.", "service", "store");
    beseda_counter_t *q = beseda_metrics_counter(m, "beseda_req_total", "Requests.", "service", "a\"b\\c\nd");
    CHECK(a && b && a != b, "one series per label value");
    beseda_counter_inc(a);
    beseda_counter_add(b, 3);
    beseda_counter_inc(q);
    char *text = beseda_metrics_render(m);
    CHECK(contains(text, "beseda_req_total{service=\"router\"} 1\nbeseda_req_total{service=\"store\"} 3\n"),
          "labelled series in registration order");
    CHECK(contains(text, "beseda_req_total{service=\"a\\\"b\\\\c\\nd\"} 1\n"), "label values are escaped");
    const char *first = text ? strstr(text, "# TYPE beseda_req_total counter") : NULL;
    CHECK(first && !strstr(first + 1, "# TYPE beseda_req_total"), "one TYPE line per family");
    free(text);
    CHECK(beseda_metrics_gauge(m, "beseda_req_total", "x", "service", "router") == NULL,
          "a name registered as a counter cannot become a gauge");
    CHECK(beseda_metrics_counter(m, "beseda_req_total", "x", "kind", "router") == NULL,
          "a family keeps its label name");
    CHECK(beseda_metrics_counter(m, "9bad", "x", NULL, NULL) == NULL, "a name cannot start with a digit");
    CHECK(beseda_metrics_counter(m, "bad-name", "x", NULL, NULL) == NULL, "a name has no dash");
    CHECK(beseda_metrics_counter(m, "beseda_x", "x", "le", "1") == NULL, "le is not a label name");
    int refused = 0;
    for (int i = 0; i < METRICS_MAX_SERIES_PER_FAMILY + 5; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        if (!beseda_metrics_counter(m, "beseda_many_total", "Many.", "kind", v))
            refused++;
    }
    CHECK(refused == 5, "label values beyond the cap are refused");
    beseda_counter_inc(NULL);
    beseda_gauge_set(NULL, 1);
    beseda_histogram_observe(NULL, 1);
    CHECK(beseda_counter_get(NULL) == 0, "updates on NULL do nothing");
    beseda_metrics_destroy(&m);
}

static void test_histogram(void)
{
    beseda_metrics_t *m = beseda_metrics_new();
    static const double bounds[] = { 1, 5, 10 };
    beseda_histogram_t *h = beseda_metrics_histogram(m, "beseda_lat_ms", "Latency.", "kind", "fetch",
                                                     bounds, 3);
    double values[] = { 0.5, 1, 3, 7, 100 };
    for (size_t i = 0; i < 5; i++)
        beseda_histogram_observe(h, values[i]);
    CHECK(beseda_histogram_count(h) == 5, "count is every observation");
    char *text = beseda_metrics_render(m);
    CHECK(contains(text, "# TYPE beseda_lat_ms histogram\n"), "histogram type");
    CHECK(contains(text, "beseda_lat_ms_bucket{kind=\"fetch\",le=\"1\"} 2\n"
                         "beseda_lat_ms_bucket{kind=\"fetch\",le=\"5\"} 3\n"
                         "beseda_lat_ms_bucket{kind=\"fetch\",le=\"10\"} 4\n"
                         "beseda_lat_ms_bucket{kind=\"fetch\",le=\"+Inf\"} 5\n"),
          "buckets are cumulative, a value on a bound counts in it");
    CHECK(contains(text, "beseda_lat_ms_sum{kind=\"fetch\"} 111.5\n"), "sum of observations");
    CHECK(contains(text, "beseda_lat_ms_count{kind=\"fetch\"} 5\n"), "count equals the +Inf bucket");
    free(text);
    static const double bad[] = { 5, 1 };
    CHECK(beseda_metrics_histogram(m, "beseda_bad_ms", "x", NULL, NULL, bad, 2) == NULL,
          "bounds must increase");
    beseda_histogram_t *plain = beseda_metrics_histogram(m, "beseda_plain", "P.", NULL, NULL,
                                                         METRICS_SIZE_BOUNDS, METRICS_SIZE_COUNT);
    beseda_histogram_observe(plain, 3);
    text = beseda_metrics_render(m);
    CHECK(contains(text, "beseda_plain_bucket{le=\"4\"} 1\n") && contains(text, "beseda_plain_count 1\n"),
          "histogram without label");
    free(text);
    beseda_metrics_destroy(&m);
}

#define THREADS 4
#define PER_THREAD 100000

typedef struct {
    beseda_counter_t *c;
    beseda_histogram_t *h;
} hammer_t;

static void *hammer(void *arg)
{
    hammer_t *t = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        beseda_counter_inc(t->c);
        beseda_histogram_observe(t->h, 1);
    }
    return NULL;
}

static void test_threads(void)
{
    beseda_metrics_t *m = beseda_metrics_new();
    hammer_t t = { beseda_metrics_counter(m, "beseda_hits_total", "Hits.", NULL, NULL),
                   beseda_metrics_histogram(m, "beseda_hit_ms", "Hit.", NULL, NULL,
                                            METRICS_LATENCY_MS_BOUNDS, METRICS_LATENCY_MS_COUNT) };
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, hammer, &t);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK(beseda_counter_get(t.c) == THREADS * PER_THREAD, "no increment lost across threads");
    CHECK(beseda_histogram_count(t.h) == THREADS * PER_THREAD, "no observation lost across threads");
    char *text = beseda_metrics_render(m);
    CHECK(contains(text, "beseda_hit_ms_sum 400000\n"), "the sum is exact under contention");
    free(text);
    beseda_metrics_destroy(&m);
}

static int ready_flag;
static int ready(void *arg, char *reason, size_t size)
{
    (void) arg;
    if (!ready_flag)
        snprintf(reason, size, "test says no");
    return ready_flag;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *) &sa, sizeof sa) == 0
        && getsockname(fd, (struct sockaddr *) &sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void test_admin_listener(void)
{
    CHECK(beseda_admin_addr_valid("127.0.0.1:9100") && beseda_admin_addr_valid(":9100")
          && beseda_admin_addr_valid("[::1]:9100"), "host:port forms accepted");
    CHECK(!beseda_admin_addr_valid("9100") && !beseda_admin_addr_valid("host:") &&
          !beseda_admin_addr_valid("host:99999") && !beseda_admin_addr_valid("h:12x"),
          "bad addresses refused");
    beseda_metrics_t *m = beseda_metrics_new();
    beseda_counter_inc(beseda_metrics_counter(m, "beseda_probe_total", "Probe.", NULL, NULL));
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    beseda_admin_t *admin = beseda_admin_new(addr, m, ready, NULL);
    CHECK(admin != NULL, "admin listener starts");
    fflush(stdout);
    CHECK(beseda_admin_probe(addr, "/healthz") == 0, "healthz is 200 while starting");
    beseda_metrics_beat(m);
    CHECK(beseda_admin_probe(addr, "/healthz") == 0, "healthz is 200 once the loop beats");
    ready_flag = 0;
    CHECK(beseda_admin_probe(addr, "/readyz") == 1, "readyz is 503 when not ready");
    ready_flag = 1;
    CHECK(beseda_admin_probe(addr, "/readyz") == 0, "readyz is 200 when ready");
    CHECK(beseda_admin_probe(addr, "/metrics") == 0, "metrics is 200");
    CHECK(beseda_admin_probe(addr, "/nothing") == 1, "unknown path is not 200");
    beseda_admin_destroy(&admin);
    CHECK(beseda_admin_probe(addr, "/healthz") == 1, "probe of a closed port fails");
    CHECK(beseda_admin_new("nonsense", m, NULL, NULL) == NULL, "bad address: no listener");
    beseda_metrics_destroy(&m);
}

/* Request kinds from a descriptor: a series per field (per oneof field
 * with oneof_only), each request counted under its kind, the rest under
 * "undecodable". */
static void test_request_kinds(void)
{
    static const beseda_request_kinds_names_t names = {
        "beseda_test_requests_total", "Requests.", "beseda_test_request_duration_ms", "Time.", 1,
    };
    beseda_metrics_t *m = beseda_metrics_new();
    beseda_request_kinds_t k;
    beseda_request_kinds_init(&k, m, &beseda__store_request__descriptor, &names);
    beseda_request_kinds_observe(&k, BESEDA__STORE_REQUEST__BODY_APPEND, 3);
    beseda_request_kinds_observe(&k, BESEDA__STORE_REQUEST__BODY_APPEND, 5);
    beseda_request_kinds_observe(&k, 0, 1);
    beseda_request_kinds_observe(&k, 9999, 1);
    char *text = beseda_metrics_render(m);
    CHECK(contains(text, "beseda_test_requests_total{kind=\"append\"} 2\n"), "a kind counts its requests");
    CHECK(contains(text, "beseda_test_request_duration_ms_count{kind=\"append\"} 2\n"),
          "and times them");
    CHECK(contains(text, "beseda_test_requests_total{kind=\"fetch\"} 0\n"), "every kind has its series up front");
    CHECK(contains(text, "beseda_test_requests_total{kind=\"undecodable\"} 2\n"),
          "no body and an unknown field number are undecodable");
    CHECK(!contains(text, "kind=\"ttl_ms\""), "oneof_only: a field outside the oneof is no kind");
    free(text);
    beseda_metrics_destroy(&m);

    m = beseda_metrics_new();
    beseda_request_kinds_names_t all = names;
    all.oneof_only = 0;
    beseda_request_kinds_init(&k, m, &beseda__store_request__descriptor, &all);
    text = beseda_metrics_render(m);
    CHECK(contains(text, "beseda_test_requests_total{kind=\"ttl_ms\"} 0\n"), "without oneof_only every field is a kind");
    free(text);
    beseda_metrics_destroy(&m);
}

int main(void)
{
    test_request_kinds();
    test_counter_and_gauge();
    test_labels();
    test_histogram();
    test_threads();
    test_admin_listener();
    return CHECK_DONE();
}
