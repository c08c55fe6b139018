/* Start-up steps shared by the worker and the admin subcommands: connect
 * and bring the schema up to date. */
#ifndef STORE_SETUP_H
#define STORE_SETUP_H

#include "db.h"
#include <signal.h>

/* Connects (retrying with backoff for up to wait_ms, <0 = until *stop) and
 * applies missing migrations from migrations_dir (empty: located, see
 * migrations.h), retrying if the connection drops meanwhile. Returns 0, or -1
 * with the reason logged (unreachable, or a migration that fails). */
int store_setup(store_db_t *db, const char *migrations_dir, volatile sig_atomic_t *stop, int wait_ms);

#endif
