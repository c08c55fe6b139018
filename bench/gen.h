/* The load generator's shared state: one libwebsockets context holding every
 * visitor and operator connection, the message ledger, the Poisson scheduler
 * and the command being run. One thread, one event loop: nothing is locked.
 *
 * Files by responsibility:
 *   conn.c          connections: open/retry, output queue, input assembly
 *   proto_beseda.c  the beseda visitor and operator protocol (JSON)
 *   proto_mqtt.c    the same chat spoken as MQTT 3.1.1 (the baselines)
 *   steps.c         the commands: connect, open, warm, step; scheduler; reports
 *   loadgen.c       main: options, context, the loop */
#ifndef BESEDA_BENCH_GEN_H
#define BESEDA_BENCH_GEN_H

#include "hist.h"
#include "ledger.h"

struct ev_loop;
#include <libwebsockets.h>
#include <stdint.h>

#define GEN_MAX_ERROR_KINDS     48
#define GEN_MAX_QUEUE_FRAMES    50000   /* per connection; beyond: error queue_full */
#define GEN_MAX_RX_BYTES        (1024 * 1024)
#define GEN_CONNECT_ATTEMPTS    5
#define GEN_RETRY_DELAY_US      (300 * 1000)
#define GEN_PING_IDLE_US        (25 * 1000 * 1000)
#define GEN_TEXT_MAX_BYTES      4096
#define GEN_MAX_HELLOS          10      /* hello/login retries after `unavailable` */
#define GEN_REHELLO_DELAY_US    (500 * 1000)

typedef enum { GEN_BESEDA, GEN_MQTT } gen_mode_t;
typedef enum { CONN_IDLE, CONN_CONNECTING, CONN_OPEN, CONN_READY, CONN_FAILED } conn_state_t;
typedef enum { PHASE_IDLE, PHASE_CONNECT, PHASE_WARM, PHASE_STEP, PHASE_DRAIN, PHASE_OPEN } gen_phase_t;

typedef struct gen gen_t;
typedef struct conn conn_t;

typedef struct out_frame {
    struct out_frame *next;
    size_t len;
    int binary;
    unsigned char data[];        /* LWS_PRE bytes of room, then the payload */
} out_frame_t;

struct conn {
    gen_t *gen;
    struct lws *wsi;
    int is_operator;
    uint32_t index;              /* visitor or operator number */
    conn_state_t state;
    int attempts;
    int64_t retry_at_us;
    int64_t connect_start_us;
    int64_t last_tx_us;
    int64_t rehello_at_us;       /* beseda: say hello/login again then (0: no) */
    int hellos;
    out_frame_t *out_head, *out_tail;
    uint32_t out_count;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    char conversation[64];       /* beseda visitor: its conversation id */
    uint16_t next_packet_id;     /* MQTT: the operator's own packet ids */
};

/* What differs between beseda and MQTT. */
typedef struct {
    const char *subprotocol;
    int stream;                  /* 1: input is a byte stream (MQTT), 0: one message per frame */
    void (*on_open)(conn_t *conn);
    /* Consumes whole messages from buf; returns the bytes used or -1 on a protocol error. */
    long (*on_input)(conn_t *conn, const uint8_t *buf, size_t len);
    int (*send_message)(conn_t *conn, uint32_t msgno, int64_t sched_us);
    void (*ping)(conn_t *conn);
} gen_proto_t;

typedef struct {
    char name[48];
    uint64_t count;
} gen_error_t;

struct gen {
    /* options */
    gen_mode_t mode;
    const gen_proto_t *proto;
    const char *host;
    int port;
    const char *visitor_path, *operator_path;
    const char *origin;
    const char *site;
    char **op_logins;            /* beseda: "email\tpassword" per operator */
    uint32_t n_visitors, n_operators;
    int text_bytes;
    int clean_session;
    int replies;                 /* operators answer every visitor message */
    int connect_concurrency;
    int login_concurrency;
    char run_id[24];
    char padding[GEN_TEXT_MAX_BYTES + 1];

    struct ev_loop *loop;
    struct lws_context *ctx;
    conn_t *visitors, *operators;
    ledger_t *ledger;
    hist_t *connect_hist;        /* hello -> welcome, per visitor */
    hist_t *lag;                 /* generator lateness: actual - scheduled send */
    gen_error_t errors[GEN_MAX_ERROR_KINDS];
    int n_errors;
    uint64_t rng;

    /* the command in progress */
    gen_phase_t phase;
    int64_t phase_start_us, phase_deadline_us;
    uint32_t want_visitors, open_cursor, in_flight, ready_visitors, ready_operators;
    double rate;
    int64_t next_send_us, send_end_us, step_seconds_us;
    uint32_t warm_cursor;
    /* open: conversations opened `open_batch` visitors at a time */
    uint32_t open_batch, open_first, open_end, open_batches;
    int64_t open_visitors_start_us, open_batch_start_us, open_operators_us;
    hist_t *batch_hist;          /* wall time of each batch */
    int64_t last_sweep_us;
    lws_sorted_usec_list_t tick;
    char cmd[256];
    size_t cmd_len;
    int stdin_eof;
    int quit;
};

int64_t gen_now_us(void);
void gen_error(gen_t *gen, const char *kind);
uint64_t gen_random(gen_t *gen);

/* conn.c */
extern const struct lws_protocols gen_lws_protocols[];
int conn_open(conn_t *conn);
/* Queues one frame; returns 0 or -1 (counted as an error). */
int conn_send(conn_t *conn, const void *data, size_t len, int binary);
void conn_set_ready(conn_t *conn);
void conn_free_queues(conn_t *conn);

/* proto_beseda.c, proto_mqtt.c */
extern const gen_proto_t gen_proto_beseda;
extern const gen_proto_t gen_proto_mqtt;

/* steps.c */
void steps_tick(gen_t *gen);
void steps_command(gen_t *gen, const char *line);
unsigned steps_tick_interval_us(const gen_t *gen);

#endif
