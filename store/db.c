/* Connection management. There is one connection per store process: requests
 * are handled one at a time (appends in batches), so a pool would buy nothing
 * but ordering questions. When PostgreSQL restarts, the next statement fails
 * and PQstatus turns CONNECTION_BAD; we drop the connection, answer
 * "unavailable" (callers retry), and reconnect with exponential backoff. */
#include "db.h"
#include "log.h"
#include "util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct store_db_t {
    char *conninfo;
    PGconn *conn;             /* NULL while disconnected */
    int backoff_ms;
    int64_t next_attempt_ms;  /* monotonic */
    beseda_gauge_t *up;
    beseda_counter_t *connects;
};

store_db_t *store_db_new(const char *conninfo)
{
    store_db_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->conninfo = strdup(conninfo);
    if (!self->conninfo) {
        free(self);
        return NULL;
    }
    self->backoff_ms = DB_BACKOFF_MIN_MS;
    return self;
}

void store_db_destroy(store_db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_db_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

/* PostgreSQL notices (e.g. "relation already exists, skipping") would go to
 * stderr as plain text and break the JSON log lines. */
static void log_notice(void *arg, const char *message)
{
    (void) arg;
    char line[512];
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\n")] = '\0';
    log_debug("postgres notice", "notice", line);
}

static void schedule_retry(store_db_t *self)
{
    self->next_attempt_ms = beseda_mono_ms() + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS
                                                                : self->backoff_ms * 2;
}

/* One attempt. Our connect_timeout comes first so that one given in the
 * user's conninfo (expanded from "dbname") wins. */
static int try_connect(store_db_t *self)
{
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *values[] = { DB_CONNECT_TIMEOUT_S, "beseda-store", self->conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        log_warn("postgres connect failed", "error", "out of memory");
        schedule_retry(self);
        return -1;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", PQerrorMessage(conn));
        reason[strcspn(reason, "\n")] = '\0';
        char retry[32];
        snprintf(retry, sizeof retry, "%d", self->backoff_ms);
        log_warn("postgres connect failed", "error", reason, "retry_in_ms", retry);
        PQfinish(conn);
        schedule_retry(self);
        return -1;
    }
    PQsetNoticeProcessor(conn, log_notice, NULL);
    self->conn = conn;
    self->backoff_ms = DB_BACKOFF_MIN_MS;
    beseda_gauge_set(self->up, 1);
    beseda_counter_inc(self->connects);
    log_info("postgres connected", "server_version", PQparameterStatus(conn, "server_version"));
    return 0;
}

void store_db_set_metrics(store_db_t *self, beseda_gauge_t *up, beseda_counter_t *connects)
{
    self->up = up;
    self->connects = connects;
    beseda_gauge_set(up, self->conn ? 1 : 0);
}

void store_db_idle(store_db_t *self)
{
    if (!self->conn) {
        store_db_conn(self);
        return;
    }
    /* Nothing is in flight when idle: input now is the server's goodbye. */
    if (!PQconsumeInput(self->conn) || PQstatus(self->conn) == CONNECTION_BAD) {
        log_warn("postgres connection lost while idle; reconnecting");
        store_db_drop(self);
    }
}

PGconn *store_db_conn(store_db_t *self)
{
    if (self->conn)
        return self->conn;
    if (beseda_mono_ms() < self->next_attempt_ms)
        return NULL;
    try_connect(self);
    return self->conn;
}

PGconn *store_db_connect_wait(store_db_t *self, volatile sig_atomic_t *stop, int max_wait_ms)
{
    int64_t give_up = max_wait_ms < 0 ? INT64_MAX : beseda_mono_ms() + max_wait_ms;
    while (!self->conn && !(stop && *stop)) {
        if (store_db_conn(self))
            break;
        int64_t now = beseda_mono_ms();
        if (now >= give_up)
            break;
        int64_t wait = self->next_attempt_ms - now;
        if (wait > give_up - now)
            wait = give_up - now;
        if (wait > 0)
            usleep((useconds_t) wait * 1000);
    }
    return self->conn;
}

int store_db_retry_in_ms(store_db_t *self)
{
    if (self->conn)
        return 0;
    int64_t wait = self->next_attempt_ms - beseda_mono_ms();
    return wait > 0 ? (int) wait : 0;
}

void store_db_check(store_db_t *self)
{
    if (self->conn && PQstatus(self->conn) == CONNECTION_BAD) {
        /* First retry at once: a restarted server is often back already. */
        log_warn("postgres connection lost; reconnecting");
        store_db_drop(self);
    }
}

void store_db_drop(store_db_t *self)
{
    if (!self->conn)
        return;
    log_warn("postgres connection dropped");
    PQfinish(self->conn);
    self->conn = NULL;
    beseda_gauge_set(self->up, 0);
    self->backoff_ms = DB_BACKOFF_MIN_MS;
    self->next_attempt_ms = 0;
}

const char *store_db_sqlstate(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state ? state : "";
}

/* Class 08: connection exception; 57: operator intervention (shutdown,
 * cannot connect now); 40: serialization failure / deadlock; 53: out of
 * resources. All of these may work a moment later. */
int store_db_retryable(const char *sqlstate)
{
    return strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "57", 2) == 0
        || strncmp(sqlstate, "40", 2) == 0 || strncmp(sqlstate, "53", 2) == 0;
}

db_status_t store_db_query(store_db_t *self, const char *sql, int nparams,
                           const char *const *params, PGresult **out)
{
    *out = NULL;
    PGconn *conn = store_db_conn(self);
    if (!conn)
        return DB_RETRY;
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        return DB_OK;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    reason[strcspn(reason, "\n")] = '\0';
    const char *sqlstate = store_db_sqlstate(res);
    int retry = PQstatus(conn) == CONNECTION_BAD || store_db_retryable(sqlstate);
    log_warn("postgres query failed", "error", reason, "sqlstate", sqlstate);
    PQclear(res);
    store_db_check(self);
    return retry ? DB_RETRY : DB_FAILED;
}

db_status_t store_db_exec(store_db_t *self, const char *sql, int nparams, const char *const *params)
{
    PGresult *res;
    db_status_t st = store_db_query(self, sql, nparams, params, &res);
    PQclear(res);
    return st;
}

db_status_t store_db_begin(store_db_t *self)
{
    return store_db_exec(self, "BEGIN", 0, NULL);
}

db_status_t store_db_end(store_db_t *self, int ok)
{
    if (ok)
        return store_db_exec(self, "COMMIT", 0, NULL);
    if (self->conn && PQstatus(self->conn) == CONNECTION_OK
        && PQtransactionStatus(self->conn) != PQTRANS_IDLE)
        store_db_exec(self, "ROLLBACK", 0, NULL);
    return DB_OK;
}
