/* The message book; see ledger.h. One record per message (16 bytes), in a
 * growing array per visitor, so every event is found in O(1) from its
 * client id. */
#include "ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_FIRST_CAP 16

ledger_t *ledger_new(uint32_t n_visitors)
{
    ledger_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->visitors = calloc(n_visitors ? n_visitors : 1, sizeof *self->visitors);
    self->ack = hist_new();
    self->delivery = hist_new();
    self->reply = hist_new();
    if (!self->visitors || !self->ack || !self->delivery || !self->reply) {
        ledger_destroy(&self);
        return NULL;
    }
    self->n_visitors = n_visitors;
    for (uint32_t i = 0; i < n_visitors; i++) {
        ledger_visitor_t *v = &self->visitors[i];
        v->max_seq[0] = v->max_seq[1] = -1;
        for (int s = 0; s < 2; s++)
            v->max_msgno[s][0] = v->max_msgno[s][1] = -1;
    }
    self->window_end_us = INT64_MAX;
    return self;
}

void ledger_destroy(ledger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ledger_t *self = *self_p;
    if (self->visitors)
        for (uint32_t i = 0; i < self->n_visitors; i++)
            free(self->visitors[i].msgs);
    free(self->visitors);
    hist_destroy(&self->ack);
    hist_destroy(&self->delivery);
    hist_destroy(&self->reply);
    free(self);
    *self_p = NULL;
}

void ledger_step_begin(ledger_t *self, int64_t window_end_us)
{
    memset(&self->c, 0, sizeof self->c);
    hist_reset(self->ack);
    hist_reset(self->delivery);
    hist_reset(self->reply);
    for (uint32_t i = 0; i < self->n_visitors; i++)
        self->visitors[i].step_first = self->visitors[i].n;
    self->window_end_us = window_end_us;
}

int64_t ledger_add(ledger_t *self, uint32_t vidx, int64_t sched_us)
{
    if (vidx >= self->n_visitors)
        return -1;
    ledger_visitor_t *v = &self->visitors[vidx];
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : LEDGER_FIRST_CAP;
        ledger_msg_t *msgs = realloc(v->msgs, cap * sizeof *msgs);
        if (!msgs)
            return -1;
        v->msgs = msgs;
        v->cap = cap;
    }
    v->msgs[v->n].sched_us = sched_us;
    v->msgs[v->n].flags = LEDGER_SENT;
    self->c.sent++;
    return v->n++;
}

/* The record of (vidx, msgno), or NULL (counted as unknown). */
static ledger_msg_t *find(ledger_t *self, uint32_t vidx, uint32_t msgno)
{
    if (vidx >= self->n_visitors || msgno >= self->visitors[vidx].n) {
        self->c.unknown++;
        return NULL;
    }
    return &self->visitors[vidx].msgs[msgno];
}

static int is_current(const ledger_t *self, uint32_t vidx, uint32_t msgno)
{
    return msgno >= self->visitors[vidx].step_first;
}

/* Order check for a first-seen message: its seq must be above every seq this
 * side saw, and its msgno above every msgno of the same kind. */
static void check_order(ledger_t *self, uint32_t vidx, int side, int kind, uint32_t msgno, int64_t seq)
{
    ledger_visitor_t *v = &self->visitors[vidx];
    int bad = 0;
    if (seq >= 0) {
        if (seq <= v->max_seq[side])
            bad = 1;
        else
            v->max_seq[side] = seq;
    }
    if ((int64_t) msgno <= v->max_msgno[side][kind])
        bad = 1;
    else
        v->max_msgno[side][kind] = msgno;
    if (bad)
        self->c.out_of_order++;
}

/* Sets flag on the record; returns 1 if new, 0 if it was set (dup), -1 unknown. */
static int mark(ledger_t *self, uint32_t vidx, uint32_t msgno, uint8_t flag, uint64_t *dup_counter)
{
    ledger_msg_t *m = find(self, vidx, msgno);
    if (!m)
        return -1;
    if (m->flags & flag) {
        (*dup_counter)++;
        return 0;
    }
    m->flags |= flag;
    if (!is_current(self, vidx, msgno))
        self->c.late++;
    return 1;
}

int ledger_on_ack(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t now_us)
{
    int r = mark(self, vidx, msgno, LEDGER_ACKED, &self->c.dup_ack);
    if (r == 1 && is_current(self, vidx, msgno)) {
        self->c.acked++;
        hist_record(self->ack, now_us - self->visitors[vidx].msgs[msgno].sched_us);
    }
    ledger_visitor_t *v = &self->visitors[vidx];
    while (r >= 0 && v->oldest_unacked < v->n && (v->msgs[v->oldest_unacked].flags & LEDGER_ACKED))
        v->oldest_unacked++;
    return r;
}

int ledger_on_delivered(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq, int64_t now_us)
{
    int r = mark(self, vidx, msgno, LEDGER_DELIVERED, &self->c.dup_delivery);
    if (r != 1)
        return r;
    check_order(self, vidx, LEDGER_SIDE_OPERATOR, 0, msgno, seq);
    if (is_current(self, vidx, msgno)) {
        self->c.delivered++;
        if (now_us <= self->window_end_us)
            self->c.delivered_in_window++;
        hist_record(self->delivery, now_us - self->visitors[vidx].msgs[msgno].sched_us);
    }
    return 1;
}

int ledger_on_synced(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t now_us)
{
    ledger_msg_t *m = find(self, vidx, msgno);
    if (!m || (m->flags & LEDGER_DELIVERED))
        return m ? 0 : -1;
    m->flags |= LEDGER_DELIVERED;
    if (!is_current(self, vidx, msgno)) {
        self->c.late++;
        return 1;
    }
    self->c.delivered++;
    if (now_us <= self->window_end_us)
        self->c.delivered_in_window++;
    hist_record(self->delivery, now_us - m->sched_us);
    return 1;
}

int ledger_on_reply_sent(ledger_t *self, uint32_t vidx, uint32_t msgno)
{
    uint64_t ignored = 0;
    int r = mark(self, vidx, msgno, LEDGER_REPLY_SENT, &ignored);
    if (r == 1 && is_current(self, vidx, msgno))
        self->c.replies_sent++;
    return r;
}

int ledger_on_reply_received(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq,
                             int64_t reply_sched_us, int64_t now_us)
{
    int r = mark(self, vidx, msgno, LEDGER_REPLY_RECEIVED, &self->c.dup_reply);
    if (r != 1)
        return r;
    check_order(self, vidx, LEDGER_SIDE_VISITOR, 1, msgno, seq);
    if (is_current(self, vidx, msgno)) {
        self->c.replies_received++;
        if (now_us <= self->window_end_us)
            self->c.replies_in_window++;
        hist_record(self->reply, now_us - reply_sched_us);
    }
    return 1;
}

int ledger_on_rejected(ledger_t *self, uint32_t vidx, uint32_t msgno)
{
    uint64_t dup = 0;
    int r = mark(self, vidx, msgno, LEDGER_REJECTED, &dup);
    if (r == 1 && is_current(self, vidx, msgno))
        self->c.rejected++;
    return r;
}

int ledger_on_echo(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq)
{
    int r = mark(self, vidx, msgno, LEDGER_ECHOED, &self->c.dup_echo);
    if (r != 1)
        return r;
    check_order(self, vidx, LEDGER_SIDE_VISITOR, 0, msgno, seq);
    if (is_current(self, vidx, msgno))
        self->c.echoed++;
    return 1;
}

void ledger_on_operator_echo(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq)
{
    if (vidx >= self->n_visitors)
        return;
    check_order(self, vidx, LEDGER_SIDE_OPERATOR, 1, msgno, seq);
}

uint16_t ledger_packet_id(uint32_t msgno)
{
    return (uint16_t) (msgno % 65535 + 1);
}

int64_t ledger_msgno_for_packet(ledger_t *self, uint32_t vidx, uint16_t packet_id)
{
    if (vidx >= self->n_visitors || packet_id == 0)
        return -1;
    ledger_visitor_t *v = &self->visitors[vidx];
    uint32_t base = v->oldest_unacked;
    uint32_t delta = (uint32_t) ((packet_id - 1) + 65535 - base % 65535) % 65535;
    uint32_t msgno = base + delta;
    return msgno < v->n ? (int64_t) msgno : -1;
}

/* Counts the messages of the current step that miss an event. */
static ledger_lost_t count_missing(const ledger_t *self, int with_replies)
{
    ledger_lost_t lost = {0, 0, 0, 0};
    for (uint32_t i = 0; i < self->n_visitors; i++) {
        const ledger_visitor_t *v = &self->visitors[i];
        for (uint32_t m = v->step_first; m < v->n; m++) {
            uint8_t f = v->msgs[m].flags;
            int refused = (f & LEDGER_REJECTED) && !(f & LEDGER_ACKED);
            if (refused)
                lost.rejected++;
            else if (!(f & LEDGER_ACKED))
                lost.ack++;
            if (!(f & LEDGER_DELIVERED) && !refused)
                lost.delivery++;
            if (with_replies && (f & LEDGER_REPLY_SENT) && !(f & LEDGER_REPLY_RECEIVED))
                lost.reply++;
        }
    }
    return lost;
}

/* Whether message flags f has every event it is waiting for. */
static int msg_settled(uint8_t f, int with_replies)
{
    if ((f & LEDGER_REJECTED) && !(f & LEDGER_ACKED))
        return 1;
    if (!(f & LEDGER_ACKED) || !(f & LEDGER_DELIVERED))
        return 0;
    if (with_replies && (!(f & LEDGER_REPLY_SENT) || !(f & LEDGER_REPLY_RECEIVED)))
        return 0;
    return 1;
}

int ledger_visitor_settled(const ledger_t *self, uint32_t vidx, int with_replies)
{
    if (vidx >= self->n_visitors)
        return 0;
    const ledger_visitor_t *v = &self->visitors[vidx];
    if (v->n <= v->step_first)
        return 0;
    for (uint32_t m = v->step_first; m < v->n; m++)
        if (!msg_settled(v->msgs[m].flags, with_replies))
            return 0;
    return 1;
}

int ledger_visitor_delivered(const ledger_t *self, uint32_t vidx)
{
    if (vidx >= self->n_visitors)
        return 0;
    const ledger_visitor_t *v = &self->visitors[vidx];
    return v->n > v->step_first && (v->msgs[v->step_first].flags & LEDGER_DELIVERED);
}

int ledger_step_complete(const ledger_t *self, int with_replies)
{
    /* Cheap test first: the counters say whether anything is missing. */
    if (self->c.acked + self->c.rejected < self->c.sent || self->c.delivered + self->c.rejected < self->c.sent)
        return 0;
    if (with_replies && self->c.replies_received < self->c.replies_sent)
        return 0;
    if (with_replies && self->c.replies_sent < self->c.delivered)
        return 0;
    return 1;
}

ledger_lost_t ledger_step_lost(const ledger_t *self, int with_replies)
{
    return count_missing(self, with_replies);
}

int ledger_format_id(char *out, size_t cap, char kind, uint32_t vidx, uint32_t msgno, int64_t sched_us)
{
    int n = snprintf(out, cap, "%c%" PRIu32 ".%" PRIu32 ".%" PRId64, kind, vidx, msgno, sched_us);
    return (n < 0 || (size_t) n >= cap) ? -1 : n;
}

/* Reads a decimal number of at most 19 digits from s[*at..len). */
static int read_num(const char *s, size_t len, size_t *at, int64_t *out)
{
    int64_t v = 0;
    size_t start = *at;
    while (*at < len && s[*at] >= '0' && s[*at] <= '9' && *at - start < 19)
        v = v * 10 + (s[(*at)++] - '0');
    if (*at == start)
        return -1;
    *out = v;
    return 0;
}

int ledger_parse_id(const char *s, size_t len, char *kind, uint32_t *vidx, uint32_t *msgno, int64_t *sched_us)
{
    int64_t a, b, c;
    size_t at = 1;
    if (len < 6 || (s[0] != 'v' && s[0] != 'o'))
        return -1;
    if (read_num(s, len, &at, &a) < 0 || at >= len || s[at++] != '.')
        return -1;
    if (read_num(s, len, &at, &b) < 0 || at >= len || s[at++] != '.')
        return -1;
    if (read_num(s, len, &at, &c) < 0 || at != len)
        return -1;
    if (a > UINT32_MAX || b > UINT32_MAX)
        return -1;
    *kind = s[0];
    *vidx = (uint32_t) a;
    *msgno = (uint32_t) b;
    *sched_us = c;
    return 0;
}
