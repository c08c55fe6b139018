/* See admin.h. Replies are built from protobuf-c structs on the heap and
 * packed at once; the registries are only read here (drain is carried out
 * by the caller, which owns the socket). */
#include "admin.h"
#include "beseda.pb-c.h"
#include <czmq.h>

static uint32_t age_ms(int64_t now, int64_t then)
{
    int64_t age = now - then;
    return age < 0 ? 0 : age > UINT32_MAX ? UINT32_MAX : (uint32_t) age;
}

static void fill_worker(Beseda__WorkerStatus *out, const broker_admin_view_t *view, worker_t *w)
{
    beseda__worker_status__init(out);
    out->service = w->service;
    out->name = w->name;
    out->epoch = workers_epoch(view->workers, w->service);
    out->heartbeat_age_ms = age_ms(view->now_ms, w->last_hb_ms);
    out->requests = w->requests;
}

static uint8_t *pack_reply(Beseda__BrokerAdminReply *reply, size_t *out_len)
{
    size_t len = beseda__broker_admin_reply__get_packed_size(reply);
    uint8_t *buf = malloc(len ? len : 1);
    if (buf)
        beseda__broker_admin_reply__pack(reply, buf);
    *out_len = len;
    return buf;
}

/* Every service that has a live worker, once each (names borrowed). */
static zlistx_t *live_services(workers_t *workers)
{
    zhashx_t *seen = zhashx_new();
    zlistx_t *list = zlistx_new();
    if (!seen || !list) {
        zhashx_destroy(&seen);
        zlistx_destroy(&list);
        return NULL;
    }
    for (worker_t *w = workers_first(workers); w; w = workers_next(workers))
        if (zhashx_insert(seen, w->service, w) == 0)
            zlistx_add_end(list, w->service);
    zhashx_destroy(&seen);
    return list;
}

/* Arrays of the status; freed by free_status. */
typedef struct {
    Beseda__ClusterStatus status;
    Beseda__WorkerStatus *workers;
    Beseda__WorkerStatus **worker_ptrs;
    Beseda__KeyOwner *owners;
    Beseda__KeyOwner **owner_ptrs;
    Beseda__GatewayStatus *gateways;
    Beseda__GatewayStatus **gateway_ptrs;
} status_parts_t;

static void free_status(status_parts_t *p)
{
    free(p->workers);
    free(p->worker_ptrs);
    free(p->owners);
    free(p->owner_ptrs);
    free(p->gateways);
    free(p->gateway_ptrs);
}

static int fill_workers(status_parts_t *p, const broker_admin_view_t *view)
{
    size_t n = 0;
    for (worker_t *w = workers_first(view->workers); w; w = workers_next(view->workers))
        n++;
    p->workers = calloc(n + 1, sizeof *p->workers);
    p->worker_ptrs = calloc(n + 1, sizeof *p->worker_ptrs);
    if (!p->workers || !p->worker_ptrs)
        return -1;
    size_t i = 0;
    for (worker_t *w = workers_first(view->workers); w && i < n; w = workers_next(view->workers)) {
        fill_worker(&p->workers[i], view, w);
        p->worker_ptrs[i] = &p->workers[i];
        i++;
    }
    p->status.n_workers = i;
    p->status.workers = p->worker_ptrs;
    return 0;
}

static int fill_owners(status_parts_t *p, const broker_admin_view_t *view,
                       const Beseda__BrokerStatusQuery *q)
{
    zlistx_t *services = live_services(view->workers);
    if (!services)
        return -1;
    size_t keys = q->n_keys < BROKER_ADMIN_MAX_KEYS ? q->n_keys : BROKER_ADMIN_MAX_KEYS;
    size_t n = keys * zlistx_size(services);
    p->owners = calloc(n + 1, sizeof *p->owners);
    p->owner_ptrs = calloc(n + 1, sizeof *p->owner_ptrs);
    size_t i = 0;
    for (size_t k = 0; k < keys && p->owners && p->owner_ptrs; k++)
        for (char *svc = zlistx_first(services); svc && i < n; svc = zlistx_next(services)) {
            worker_t *owner = workers_pick(view->workers, svc, q->keys[k]);
            if (!owner)
                continue;
            beseda__key_owner__init(&p->owners[i]);
            p->owners[i].key = q->keys[k];
            p->owners[i].service = svc;
            p->owners[i].worker = owner->name;
            p->owner_ptrs[i] = &p->owners[i];
            i++;
        }
    zlistx_destroy(&services);
    if (!p->owners || !p->owner_ptrs)
        return -1;
    p->status.n_owners = i;
    p->status.owners = p->owner_ptrs;
    return 0;
}

static int fill_gateways(status_parts_t *p, const broker_admin_view_t *view)
{
    gateways_expire(view->gateways, view->now_ms);
    size_t n = gateways_size(view->gateways);
    p->gateways = calloc(n + 1, sizeof *p->gateways);
    p->gateway_ptrs = calloc(n + 1, sizeof *p->gateway_ptrs);
    if (!p->gateways || !p->gateway_ptrs)
        return -1;
    size_t i = 0;
    for (gateway_stat_t *g = gateways_first(view->gateways); g && i < n;
         g = gateways_next(view->gateways)) {
        Beseda__GatewayStatus *out = &p->gateways[i];
        beseda__gateway_status__init(out);
        out->name = g->name;
        out->visitors = g->visitors;
        out->operators = g->operators;
        out->connections = g->visitors + g->operators;
        out->report_age_ms = age_ms(view->now_ms, g->seen_ms);
        p->gateway_ptrs[i++] = out;
    }
    p->status.n_gateways = i;
    p->status.gateways = p->gateway_ptrs;
    return 0;
}

static uint8_t *answer_status(const broker_admin_view_t *view, const Beseda__BrokerStatusQuery *q,
                              size_t *out_len)
{
    status_parts_t p;
    memset(&p, 0, sizeof p);
    beseda__cluster_status__init(&p.status);
    p.status.requests_routed = view->requests_routed;
    p.status.uptime_ms = view->now_ms - view->started_ms;
    uint8_t *buf = NULL;
    if (fill_workers(&p, view) == 0 && fill_owners(&p, view, q) == 0 && fill_gateways(&p, view) == 0) {
        Beseda__BrokerAdminReply reply = BESEDA__BROKER_ADMIN_REPLY__INIT;
        reply.body_case = BESEDA__BROKER_ADMIN_REPLY__BODY_STATUS;
        reply.status = &p.status;
        buf = pack_reply(&reply, out_len);
    }
    free_status(&p);
    return buf;
}

static uint8_t *answer_error(const char *code, const char *message, size_t *out_len)
{
    Beseda__BrokerAdminReply reply = BESEDA__BROKER_ADMIN_REPLY__INIT;
    reply.error_code = (char *) code;
    reply.error_message = (char *) message;
    return pack_reply(&reply, out_len);
}

static uint8_t *answer_drain(const broker_admin_view_t *view, const Beseda__BrokerDrain *d,
                             worker_t **drain, size_t *out_len)
{
    worker_t *w = d->worker && *d->worker ? workers_find_name(view->workers, d->worker) : NULL;
    if (!w)
        return answer_error("no_such_worker", "no live worker has that name", out_len);
    Beseda__WorkerStatus status;
    fill_worker(&status, view, w);
    Beseda__BrokerAdminReply reply = BESEDA__BROKER_ADMIN_REPLY__INIT;
    reply.body_case = BESEDA__BROKER_ADMIN_REPLY__BODY_DRAINED;
    reply.drained = &status;
    *drain = w;
    return pack_reply(&reply, out_len);
}

uint8_t *broker_admin_answer(const broker_admin_view_t *view, const uint8_t *body, size_t len,
                             worker_t **drain, size_t *out_len)
{
    *drain = NULL;
    Beseda__BrokerAdminRequest *req = beseda__broker_admin_request__unpack(NULL, len, body);
    uint8_t *buf;
    if (req && req->body_case == BESEDA__BROKER_ADMIN_REQUEST__BODY_STATUS)
        buf = answer_status(view, req->status, out_len);
    else if (req && req->body_case == BESEDA__BROKER_ADMIN_REQUEST__BODY_DRAIN)
        buf = answer_drain(view, req->drain, drain, out_len);
    else
        buf = answer_error("bad_request", "not a BrokerAdminRequest with status or drain", out_len);
    if (req)
        beseda__broker_admin_request__free_unpacked(req, NULL);
    return buf;
}
