/* The store's one PostgreSQL connection: connect with backoff, notice when it
 * broke, reconnect later; run a query and classify its failure as "retry
 * later" (connection lost, deadlock, shutdown) or "internal". */
#ifndef STORE_DB_H
#define STORE_DB_H

#include "metrics.h"
#include <libpq-fe.h>
#include <signal.h>
#include <stdint.h>

#define DB_BACKOFF_MIN_MS     100
#define DB_BACKOFF_MAX_MS    2000
#define DB_CONNECT_TIMEOUT_S "2"   /* libpq connect_timeout; keeps the bus loop beating */

typedef struct store_db_t store_db_t;

typedef enum { DB_OK = 0, DB_RETRY = 1, DB_FAILED = 2 } db_status_t;

store_db_t *store_db_new(const char *conninfo);
void store_db_destroy(store_db_t **self_p);
/* The live connection, reconnecting first if it is down and the backoff
 * allows; NULL while PostgreSQL is unreachable. */
PGconn *store_db_conn(store_db_t *self);
/* Connects, retrying with backoff until it works, *stop becomes non-zero, or
 * max_wait_ms (<0: forever) has passed. Returns the connection or NULL. */
PGconn *store_db_connect_wait(store_db_t *self, volatile sig_atomic_t *stop, int max_wait_ms);
/* Keeps up (1 connected, 0 not) and counts every successful connection. */
void store_db_set_metrics(store_db_t *self, beseda_gauge_t *up, beseda_counter_t *connects);
/* For an idle moment: notices a connection the server closed (a restart, a
 * shutdown) by reading what it sent, so that readiness is true without
 * waiting for the next request; reconnects when due. */
void store_db_idle(store_db_t *self);
/* Milliseconds until the next reconnection attempt is due (0 if connected). */
int store_db_retry_in_ms(store_db_t *self);
/* Call after a failed call on the connection: drops it if it is broken. */
void store_db_check(store_db_t *self);
/* Closes the connection now (it is in a state we cannot use); the next
 * store_db_conn() reconnects. */
void store_db_drop(store_db_t *self);
/* Runs one statement with text parameters. On success *out holds the result
 * (caller clears it). On failure logs why, returns DB_RETRY when retrying
 * later can work (connection gone, deadlock, shutdown), else DB_FAILED. */
db_status_t store_db_query(store_db_t *self, const char *sql, int nparams,
                           const char *const *params, PGresult **out);
/* Like store_db_query for statements whose result is not needed. */
db_status_t store_db_exec(store_db_t *self, const char *sql, int nparams, const char *const *params);
/* BEGIN. */
db_status_t store_db_begin(store_db_t *self);
/* COMMIT if ok, else ROLLBACK (when the connection still works). Returns the
 * COMMIT's status, or DB_OK after a rollback. */
db_status_t store_db_end(store_db_t *self, int ok);
/* SQLSTATE of a failed result, "" if none. */
const char *store_db_sqlstate(const PGresult *res);
/* Whether a failed result's SQLSTATE means "try again later". */
int store_db_retryable(const char *sqlstate);

#endif
