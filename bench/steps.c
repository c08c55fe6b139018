/* The commands the runner gives on stdin, one per line, and their reports,
 * one JSON object per line on stdout:
 *   connect N            open visitors up to N (and every operator); report when all are ready
 *   warm RATE TIMEOUT    each visitor sends its first message, RATE per second; wait for all events
 *   step RATE SECS DRAIN Poisson arrivals at RATE msg/s for SECS, then wait up to DRAIN s
 *   open N BATCH TIMEOUT open visitors' conversations up to N (operators first), BATCH at
 *                        a time: each visitor connects, is welcomed and sends one message;
 *                        the next batch starts once every message of this one is acked,
 *                        delivered to an operator (assigned) and answered; report the time
 *   quit
 * Every wait is bounded by a deadline; a phase that hits it reports what is
 * missing instead of waiting longer. */
#include "gen.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_SENDING_US    500
#define TICK_IDLE_US       5000
#define SWEEP_EVERY_US     (250 * 1000)
#define CONNECT_TIMEOUT_US (180LL * 1000 * 1000)
#define OPEN_BATCH_TIMEOUT_US (30LL * 1000 * 1000)   /* a batch stuck longer: go on without it */
#define US_PER_S           1000000.0

static void emit(json_t *report)
{
    if (!report)
        return;
    char *text = json_dumps(report, JSON_COMPACT);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        free(text);
    }
    json_decref(report);
}

static json_t *hist_json(const hist_t *h)
{
    return json_pack("{s:I,s:f,s:I,s:I,s:I,s:I,s:I}", "n", (json_int_t) h->total, "mean_us", hist_mean(h),
                     "p50_us", (json_int_t) hist_percentile(h, 50), "p90_us", (json_int_t) hist_percentile(h, 90),
                     "p99_us", (json_int_t) hist_percentile(h, 99), "p999_us", (json_int_t) hist_percentile(h, 99.9),
                     "max_us", (json_int_t) (h->total ? h->max : 0));
}

static json_t *errors_json(gen_t *gen)
{
    json_t *o = json_object();
    for (int i = 0; o && i < gen->n_errors; i++)
        json_object_set_new(o, gen->errors[i].name, json_integer((json_int_t) gen->errors[i].count));
    gen->n_errors = 0;
    return o;
}

static const char *mode_name(const gen_t *gen)
{
    return gen->mode == GEN_MQTT ? "mqtt" : "beseda";
}

static int settled(const conn_t *c)
{
    return c->state == CONN_READY || c->state == CONN_FAILED;
}

/* Opens connections while fewer than the allowed number are in flight.
 * Operators first, and visitors only once every operator is in: staff come
 * online before the visitors, and logins (password hashing) are the slow part. */
static void pump_connects(gen_t *gen, int64_t now)
{
    uint32_t total = gen->n_operators;
    for (uint32_t i = 0; i < gen->n_operators; i++)
        if (!settled(&gen->operators[i]))
            total = 0;
    total = total ? gen->n_operators + gen->want_visitors : gen->n_operators;
    for (uint32_t i = 0; i < total; i++) {
        /* Logins are few at a time: each costs the store a password hash. */
        uint32_t limit = (uint32_t) (i < gen->n_operators ? gen->login_concurrency : gen->connect_concurrency);
        if (gen->in_flight >= limit)
            break;
        conn_t *c = i < gen->n_operators ? &gen->operators[i] : &gen->visitors[i - gen->n_operators];
        if (c->state == CONN_IDLE && c->retry_at_us <= now)
            conn_open(c);
    }
}

static uint32_t count_failed(const conn_t *conns, uint32_t n)
{
    uint32_t failed = 0;
    for (uint32_t i = 0; i < n; i++)
        failed += conns[i].state == CONN_FAILED;
    return failed;
}

static void finish_connect(gen_t *gen, int64_t now)
{
    uint32_t failed = count_failed(gen->visitors, gen->want_visitors) + count_failed(gen->operators, gen->n_operators);
    json_t *r = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:o}", "type", "connected", "mode", mode_name(gen),
                          "visitors", (json_int_t) gen->want_visitors, "ready_visitors", (json_int_t) gen->ready_visitors,
                          "operators", (json_int_t) gen->n_operators, "ready_operators", (json_int_t) gen->ready_operators,
                          "failed", (json_int_t) failed, "seconds", (double) (now - gen->phase_start_us) / US_PER_S,
                          "connect_latency", hist_json(gen->connect_hist), "errors", errors_json(gen));
    emit(r);
    gen->phase = PHASE_IDLE;
}

static void tick_connect(gen_t *gen, int64_t now)
{
    pump_connects(gen, now);
    uint32_t n = 0;
    for (uint32_t i = 0; i < gen->want_visitors; i++)
        n += settled(&gen->visitors[i]);
    for (uint32_t i = 0; i < gen->n_operators; i++)
        n += settled(&gen->operators[i]);
    if (n == gen->want_visitors + gen->n_operators || now >= gen->phase_deadline_us)
        finish_connect(gen, now);
}

static void send_one(gen_t *gen, uint32_t vidx, int64_t sched_us, int64_t now);

static void finish_open(gen_t *gen, int64_t now)
{
    ledger_t *l = gen->ledger;
    uint32_t opened = 0;
    for (uint32_t i = 0; i < gen->want_visitors; i++)
        opened += (uint32_t) ledger_visitor_delivered(l, i);
    uint32_t failed = count_failed(gen->visitors, gen->want_visitors);
    int64_t vstart = gen->open_visitors_start_us ? gen->open_visitors_start_us : now;
    double secs = (double) (now - vstart) / US_PER_S;
    ledger_lost_t lost = ledger_step_lost(l, gen->replies);
    json_t *r = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:f}", "type", "opened", "mode", mode_name(gen),
                          "visitors", (json_int_t) gen->want_visitors, "opened", (json_int_t) opened,
                          "failed", (json_int_t) failed, "batch_size", (json_int_t) gen->open_batch,
                          "batches", (json_int_t) gen->open_batches, "operators", (json_int_t) gen->n_operators,
                          "ready_operators", (json_int_t) gen->ready_operators,
                          "operators_seconds", (double) gen->open_operators_us / US_PER_S, "seconds", secs);
    if (!r)
        return;
    json_object_set_new(r, "conversations_per_s", json_real(secs > 0 ? opened / secs : 0));
    json_object_set_new(r, "ready_visitors", json_integer((json_int_t) gen->ready_visitors));
    json_object_set_new(r, "sent", json_integer((json_int_t) l->c.sent));
    json_object_set_new(r, "batch", hist_json(gen->batch_hist));
    json_object_set_new(r, "connect_latency", hist_json(gen->connect_hist));
    json_object_set_new(r, "ack", hist_json(l->ack));
    json_object_set_new(r, "delivery", hist_json(l->delivery));
    json_object_set_new(r, "reply", hist_json(l->reply));
    json_object_set_new(r, "lost", json_pack("{s:I,s:I,s:I}", "ack", (json_int_t) lost.ack, "delivery",
                                             (json_int_t) lost.delivery, "reply", (json_int_t) lost.reply));
    json_object_set_new(r, "rejected", json_integer((json_int_t) lost.rejected));
    json_object_set_new(r, "duplicated", json_pack("{s:I,s:I,s:I,s:I}", "ack", (json_int_t) l->c.dup_ack, "delivery",
                                                   (json_int_t) l->c.dup_delivery, "reply", (json_int_t) l->c.dup_reply,
                                                   "echo", (json_int_t) l->c.dup_echo));
    json_object_set_new(r, "errors", errors_json(gen));
    emit(r);
    gen->phase = PHASE_IDLE;
}

static void start_open_batch(gen_t *gen, int64_t now)
{
    gen->open_first = gen->open_end;
    gen->open_end = gen->open_first + gen->open_batch < gen->want_visitors ? gen->open_first + gen->open_batch
                                                                            : gen->want_visitors;
    gen->open_batch_start_us = now;
    gen->open_batches++;
}

/* Operators log in first; then one batch of visitors at a time: connect,
 * and once welcomed send the one message that opens the conversation. */
static void tick_open(gen_t *gen, int64_t now)
{
    if (now >= gen->phase_deadline_us) {
        finish_open(gen, now);
        return;
    }
    if (!gen->open_visitors_start_us) {
        uint32_t settled_ops = 0;
        for (uint32_t i = 0; i < gen->n_operators; i++) {
            conn_t *c = &gen->operators[i];
            settled_ops += (uint32_t) settled(c);
            if (c->state == CONN_IDLE && c->retry_at_us <= now && gen->in_flight < (uint32_t) gen->login_concurrency)
                conn_open(c);
        }
        if (settled_ops < gen->n_operators)
            return;
        gen->open_operators_us = now - gen->phase_start_us;
        gen->open_visitors_start_us = now;
        gen->open_end = 0;
        start_open_batch(gen, now);
    }
    int done = 1;
    for (uint32_t i = gen->open_first; i < gen->open_end; i++) {
        conn_t *c = &gen->visitors[i];
        if (c->state == CONN_IDLE && c->retry_at_us <= now)
            conn_open(c);
        else if (c->state == CONN_READY && gen->ledger->visitors[i].n == gen->ledger->visitors[i].step_first)
            send_one(gen, i, now, now);
        if (c->state != CONN_FAILED && !ledger_visitor_settled(gen->ledger, i, gen->replies))
            done = 0;
    }
    if (!done && now - gen->open_batch_start_us < OPEN_BATCH_TIMEOUT_US)
        return;
    hist_record(gen->batch_hist, now - gen->open_batch_start_us);
    if (gen->open_end >= gen->want_visitors)
        finish_open(gen, now);
    else
        start_open_batch(gen, now);
}

/* Sends one message for visitor vidx, scheduled at sched_us. */
static void send_one(gen_t *gen, uint32_t vidx, int64_t sched_us, int64_t now)
{
    conn_t *c = &gen->visitors[vidx];
    if (c->state != CONN_READY) {
        gen_error(gen, "visitor_not_connected");
        return;
    }
    hist_record(gen->lag, now - sched_us);
    uint32_t msgno = c->gen->ledger->visitors[vidx].n;
    if (gen->proto->send_message(c, msgno, sched_us) < 0)
        return;
    if (ledger_add(gen->ledger, vidx, sched_us) < 0)
        gen_error(gen, "ledger_full");
}

/* Exponential inter-arrival time for a Poisson process of `rate` per second. */
static int64_t next_gap_us(gen_t *gen)
{
    double u = ((double) (gen_random(gen) >> 11) + 1.0) / 9007199254740993.0;   /* (0, 1] */
    return (int64_t) (-log(u) / gen->rate * US_PER_S);
}

static void report_step(gen_t *gen, const char *type, int64_t now)
{
    ledger_t *l = gen->ledger;
    ledger_lost_t lost = ledger_step_lost(l, gen->replies);
    double secs = (double) gen->step_seconds_us / US_PER_S;
    json_t *r = json_pack("{s:s,s:s,s:f,s:f,s:I,s:I,s:I}", "type", type, "mode", mode_name(gen), "rate", gen->rate,
                          "seconds", secs, "visitors", (json_int_t) gen->want_visitors,
                          "operators", (json_int_t) gen->n_operators, "sent", (json_int_t) l->c.sent);
    if (!r)
        return;
    json_object_set_new(r, "offered_per_s", json_real(secs > 0 ? (double) l->c.sent / secs : 0));
    json_object_set_new(r, "delivered_per_s", json_real(secs > 0 ? (double) l->c.delivered_in_window / secs : 0));
    /* goodput: chat messages (visitor messages and replies) that reached the
     * other side while the step was sending, per second */
    json_object_set_new(r, "replies_in_window", json_integer((json_int_t) l->c.replies_in_window));
    json_object_set_new(r, "goodput_per_s",
                        json_real(secs > 0 ? (double) (l->c.delivered_in_window + l->c.replies_in_window) / secs : 0));
    json_object_set_new(r, "acked", json_integer((json_int_t) l->c.acked));
    json_object_set_new(r, "delivered", json_integer((json_int_t) l->c.delivered));
    json_object_set_new(r, "replies_sent", json_integer((json_int_t) l->c.replies_sent));
    json_object_set_new(r, "replies_received", json_integer((json_int_t) l->c.replies_received));
    json_object_set_new(r, "drain_seconds", json_real((double) (now - gen->send_end_us) / US_PER_S));
    json_object_set_new(r, "ack", hist_json(l->ack));
    json_object_set_new(r, "delivery", hist_json(l->delivery));
    json_object_set_new(r, "reply", hist_json(l->reply));
    json_object_set_new(r, "generator_lag", hist_json(gen->lag));
    json_object_set_new(r, "lost", json_pack("{s:I,s:I,s:I}", "ack", (json_int_t) lost.ack, "delivery",
                                             (json_int_t) lost.delivery, "reply", (json_int_t) lost.reply));
    json_object_set_new(r, "rejected", json_integer((json_int_t) lost.rejected));
    json_object_set_new(r, "duplicated", json_pack("{s:I,s:I,s:I,s:I}", "ack", (json_int_t) l->c.dup_ack, "delivery",
                                                   (json_int_t) l->c.dup_delivery, "reply", (json_int_t) l->c.dup_reply,
                                                   "echo", (json_int_t) l->c.dup_echo));
    json_object_set_new(r, "out_of_order", json_integer((json_int_t) l->c.out_of_order));
    json_object_set_new(r, "late_from_earlier_steps", json_integer((json_int_t) l->c.late));
    json_object_set_new(r, "unknown", json_integer((json_int_t) l->c.unknown));
    json_object_set_new(r, "connected_visitors", json_integer((json_int_t) gen->ready_visitors));
    json_object_set_new(r, "connected_operators", json_integer((json_int_t) gen->ready_operators));
    json_object_set_new(r, "errors", errors_json(gen));
    emit(r);
    gen->phase = PHASE_IDLE;
}

static void tick_send(gen_t *gen, int64_t now)
{
    if (gen->phase == PHASE_WARM) {
        while (gen->warm_cursor < gen->want_visitors && gen->next_send_us <= now) {
            send_one(gen, gen->warm_cursor++, gen->next_send_us, now);
            gen->next_send_us += (int64_t) (US_PER_S / gen->rate);
        }
        if (gen->warm_cursor >= gen->want_visitors && gen->send_end_us > now) {
            gen->send_end_us = now;
            gen->ledger->window_end_us = now;
        }
    } else {
        while (gen->next_send_us <= now && gen->next_send_us < gen->send_end_us) {
            send_one(gen, (uint32_t) (gen_random(gen) % gen->want_visitors), gen->next_send_us, now);
            gen->next_send_us += next_gap_us(gen);
        }
    }
    if (now < gen->send_end_us)
        return;
    int done = ledger_step_complete(gen->ledger, gen->replies);
    if (done || now >= gen->phase_deadline_us)
        report_step(gen, gen->phase == PHASE_WARM ? "warm" : "step", now);
}

/* Pings connections that have been quiet, as the widget and console do. */
static void sweep(gen_t *gen, int64_t now)
{
    if (now - gen->last_sweep_us < SWEEP_EVERY_US)
        return;
    gen->last_sweep_us = now;
    for (uint32_t i = 0; i < gen->n_visitors + gen->n_operators; i++) {
        conn_t *c = i < gen->n_operators ? &gen->operators[i] : &gen->visitors[i - gen->n_operators];
        if (c->state == CONN_READY && now - c->last_tx_us > GEN_PING_IDLE_US)
            gen->proto->ping(c);
        else if (c->state == CONN_OPEN && c->rehello_at_us && c->rehello_at_us <= now)
            gen->proto->on_open(c);
    }
}

/* Runs the buffered command lines while no command is in progress. */
static void run_buffered(gen_t *gen)
{
    char *nl;
    while (gen->phase == PHASE_IDLE && !gen->quit && (nl = memchr(gen->cmd, '\n', gen->cmd_len))) {
        *nl = 0;
        steps_command(gen, gen->cmd);
        size_t used = (size_t) (nl - gen->cmd) + 1;
        memmove(gen->cmd, nl + 1, gen->cmd_len - used);
        gen->cmd_len -= used;
    }
}

static void read_commands(gen_t *gen)
{
    run_buffered(gen);
    for (int guard = 0; guard < 16 && gen->phase == PHASE_IDLE && !gen->stdin_eof; guard++) {
        ssize_t n = read(0, gen->cmd + gen->cmd_len, sizeof gen->cmd - 1 - gen->cmd_len);
        if (n == 0)
            gen->stdin_eof = 1;
        if (n <= 0)
            break;               /* EOF, or EAGAIN: nothing yet */
        gen->cmd_len += (size_t) n;
        run_buffered(gen);
        if (gen->cmd_len == sizeof gen->cmd - 1) {
            gen_error(gen, "command_too_long");
            gen->cmd_len = 0;
        }
    }
    /* The runner went away and every command it gave is done. */
    if (gen->stdin_eof && gen->phase == PHASE_IDLE)
        gen->quit = 1;
}

void steps_tick(gen_t *gen)
{
    int64_t now = gen_now_us();
    if (gen->phase == PHASE_IDLE)
        read_commands(gen);
    if (gen->phase == PHASE_CONNECT)
        tick_connect(gen, now);
    else if (gen->phase == PHASE_OPEN)
        tick_open(gen, now);
    else if (gen->phase == PHASE_WARM || gen->phase == PHASE_STEP)
        tick_send(gen, now);
    sweep(gen, now);
}

static void start_send_phase(gen_t *gen, gen_phase_t phase, double rate, double secs, double drain)
{
    int64_t now = gen_now_us();
    gen->phase = phase;
    gen->rate = rate;
    gen->phase_start_us = now;
    gen->next_send_us = now;
    gen->step_seconds_us = (int64_t) (secs * US_PER_S);
    gen->send_end_us = phase == PHASE_WARM ? INT64_MAX : now + gen->step_seconds_us;
    gen->phase_deadline_us = now + (int64_t) ((secs + drain) * US_PER_S);
    gen->warm_cursor = 0;
    gen->n_errors = 0;
    hist_reset(gen->lag);
    ledger_step_begin(gen->ledger, gen->send_end_us);
}

void steps_command(gen_t *gen, const char *line)
{
    double a = 0, b = 0, c = 0;
    char verb[16] = "";
    int n = sscanf(line, "%15s %lf %lf %lf", verb, &a, &b, &c);
    if (n >= 2 && !strcmp(verb, "connect") && a >= 0 && a <= gen->n_visitors) {
        gen->want_visitors = (uint32_t) a;
        gen->phase = PHASE_CONNECT;
        gen->phase_start_us = gen_now_us();
        gen->phase_deadline_us = gen->phase_start_us + CONNECT_TIMEOUT_US;
        hist_reset(gen->connect_hist);
    } else if (n >= 3 && !strcmp(verb, "warm") && a > 0 && b > 0 && gen->want_visitors > 0) {
        /* step_seconds: the time the warm-up needs at RATE, for the report */
        start_send_phase(gen, PHASE_WARM, a, (double) gen->want_visitors / a, b);
    } else if (n >= 4 && !strcmp(verb, "step") && a > 0 && b > 0 && c >= 0 && gen->want_visitors > 0) {
        start_send_phase(gen, PHASE_STEP, a, b, c);
    } else if (n >= 4 && !strcmp(verb, "open") && a >= 1 && a <= gen->n_visitors && b >= 1 && c > 0) {
        int64_t now = gen_now_us();
        gen->want_visitors = (uint32_t) a;
        gen->open_batch = (uint32_t) b;
        gen->open_batches = 0;
        gen->open_first = gen->open_end = 0;
        gen->open_visitors_start_us = 0;
        gen->open_operators_us = 0;
        gen->phase = PHASE_OPEN;
        gen->phase_start_us = now;
        gen->phase_deadline_us = now + (int64_t) (c * US_PER_S);
        gen->n_errors = 0;
        hist_reset(gen->connect_hist);
        hist_reset(gen->batch_hist);
        hist_reset(gen->lag);
        ledger_step_begin(gen->ledger, INT64_MAX);
    } else if (n >= 1 && !strcmp(verb, "quit")) {
        gen->quit = 1;
    } else if (n >= 1) {
        emit(json_pack("{s:s,s:s}", "type", "bad_command", "line", line));
    }
}


unsigned steps_tick_interval_us(const gen_t *gen)
{
    return (gen->phase == PHASE_WARM || gen->phase == PHASE_STEP || gen->phase == PHASE_OPEN) ? TICK_SENDING_US
                                                                                              : TICK_IDLE_US;
}
