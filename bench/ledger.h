/* The load generator's book of every message it sent: when each was
 * scheduled, and which of its events (ack, delivery to the operator, the
 * operator's reply reaching the visitor) have been seen. From it come the
 * latency histograms and the counts of lost, duplicated and out-of-order
 * messages of a step.
 *
 * Every message is named by a client id "<kind><visitor>.<msgno>.<sched_us>"
 * (kind 'v' for a visitor's message, 'o' for the operator's reply to message
 * <msgno>): whoever receives it can find its record and the time it was
 * *scheduled* to be sent, so latency counts any time the generator itself was
 * late (no coordinated omission). */
#ifndef BESEDA_BENCH_LEDGER_H
#define BESEDA_BENCH_LEDGER_H

#include "hist.h"

#include <stddef.h>
#include <stdint.h>

#define LEDGER_ID_MAX 64           /* the protocol's client_id limit */

enum {
    LEDGER_SENT = 1,               /* the visitor's message went out */
    LEDGER_ACKED = 2,              /* its ack (PUBACK for MQTT) came back */
    LEDGER_DELIVERED = 4,          /* an operator received it */
    LEDGER_REPLY_SENT = 8,         /* the operator sent the reply */
    LEDGER_REPLY_RECEIVED = 16,    /* the visitor received the reply */
    LEDGER_ECHOED = 32,            /* the visitor saw its own message come back */
    LEDGER_REJECTED = 64,          /* the server answered with an error instead of an ack */
};

/* Which connection saw a message: ordering is checked per side. */
enum { LEDGER_SIDE_OPERATOR = 0, LEDGER_SIDE_VISITOR = 1 };

typedef struct {
    int64_t sched_us;
    uint8_t flags;
} ledger_msg_t;

typedef struct {
    ledger_msg_t *msgs;            /* indexed by msgno */
    uint32_t n, cap;
    uint32_t step_first;           /* first msgno of the current step */
    uint32_t oldest_unacked;       /* for MQTT packet id -> msgno */
    int64_t max_seq[2];            /* per side: highest seq seen (beseda) */
    int64_t max_msgno[2][2];       /* per side and kind (0 'v', 1 'o') */
} ledger_visitor_t;

typedef struct {
    uint64_t sent, acked, delivered, replies_sent, replies_received, echoed;
    uint64_t delivered_in_window;  /* deliveries before the step's sending ended */
    uint64_t replies_in_window;    /* replies received before the step's sending ended */
    uint64_t dup_ack, dup_delivery, dup_reply, dup_echo;
    uint64_t rejected;             /* error instead of ack (e.g. `unavailable`) */
    uint64_t out_of_order, late, unknown;
} ledger_counts_t;

typedef struct {
    ledger_visitor_t *visitors;
    uint32_t n_visitors;
    ledger_counts_t c;
    hist_t *ack, *delivery, *reply;
    int64_t window_end_us;         /* sending of the current step ends here */
} ledger_t;

ledger_t *ledger_new(uint32_t n_visitors);
void ledger_destroy(ledger_t **self_p);

/* Starts a step: counts and histograms restart; events for messages of
 * earlier steps count as `late` from now on. */
void ledger_step_begin(ledger_t *self, int64_t window_end_us);

/* Records a new message of visitor vidx; returns its msgno, or -1. */
int64_t ledger_add(ledger_t *self, uint32_t vidx, int64_t sched_us);

/* The events. `seq` is the conversation's sequence number, or -1 when the
 * protocol has none (MQTT). Each returns 1 if this is the first time the
 * event was seen for that message, 0 for a duplicate, -1 for an unknown message. */
int ledger_on_ack(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t now_us);
int ledger_on_delivered(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq, int64_t now_us);
/* The operator fetched the message with `sync` (after `assigned`): what it
 * already had is expected overlap, not a duplicate, and a fetched message
 * may be older than live ones, so order is not checked. Returns 1 if new. */
int ledger_on_synced(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t now_us);
int ledger_on_reply_sent(ledger_t *self, uint32_t vidx, uint32_t msgno);
int ledger_on_reply_received(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq,
                             int64_t reply_sched_us, int64_t now_us);
/* The server refused the message (an error frame naming its client id). */
int ledger_on_rejected(ledger_t *self, uint32_t vidx, uint32_t msgno);
int ledger_on_echo(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq);
/* The operator sees its own reply come back: only its order is checked. */
void ledger_on_operator_echo(ledger_t *self, uint32_t vidx, uint32_t msgno, int64_t seq);

/* MQTT: the msgno that PUBLISH packet id `packet_id` of visitor vidx carried,
 * or -1. Packet ids are msgno % 65535 + 1. */
int64_t ledger_msgno_for_packet(ledger_t *self, uint32_t vidx, uint16_t packet_id);
uint16_t ledger_packet_id(uint32_t msgno);

/* True when every message visitor vidx sent in the current step has all its
 * events (or was refused), and it sent at least one. */
int ledger_visitor_settled(const ledger_t *self, uint32_t vidx, int with_replies);
/* True when visitor vidx's first message of the current step reached an operator. */
int ledger_visitor_delivered(const ledger_t *self, uint32_t vidx);

/* True when every message of the step has all its events. */
int ledger_step_complete(const ledger_t *self, int with_replies);

typedef struct {
    uint64_t ack, delivery, reply;
    uint64_t rejected;             /* refused and never acked: not counted as lost */
} ledger_lost_t;
/* Messages of the current step still missing an event. A message the server
 * refused (and that was not delivered after all) is `rejected`, not lost:
 * the sender was told. */
ledger_lost_t ledger_step_lost(const ledger_t *self, int with_replies);

/* Client ids: format returns the length or -1; parse returns 0 or -1. */
int ledger_format_id(char *out, size_t cap, char kind, uint32_t vidx, uint32_t msgno, int64_t sched_us);
int ledger_parse_id(const char *s, size_t len, char *kind, uint32_t *vidx, uint32_t *msgno, int64_t *sched_us);

#endif
