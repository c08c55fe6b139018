/* Numbered SQL migrations: files named NNNN_what.sql in one directory,
 * applied in numeric order, each once, each in its own transaction, under a
 * PostgreSQL advisory lock so that stores starting together do not race.
 * Only schema changes: functions live in store/sql/ (sql_functions.h). */
#ifndef STORE_MIGRATIONS_H
#define STORE_MIGRATIONS_H

#include <libpq-fe.h>
#include <stddef.h>

#define MIGRATION_NAME_MAX   128
#define MIGRATION_MAX_BYTES  (1024 * 1024)
#define MIGRATIONS_LOCK_KEY  "7310293815"   /* pg_advisory_lock key, arbitrary but fixed */

typedef struct {
    long version;
    char name[MIGRATION_NAME_MAX];     /* file name, e.g. "0001_init.sql" */
} store_migration_t;

/* Version of a migration file name ("0007_x.sql" -> 7), or -1 if the name is
 * not one (digits, '_', something, ".sql"). */
long store_migration_version(const char *file_name);
/* Sorts by version and rejects two files with one version. Returns 0 or -1. */
int store_migrations_sort(store_migration_t *list, size_t count);
/* Lists the migrations in dir, sorted. Returns their count (and a malloc'ed
 * *list) or -1 with a logged reason. */
int store_migrations_list(const char *dir, store_migration_t **list);
/* Picks the migrations directory: the configured one if not empty, else the
 * first that exists of <binary dir>/../store/migrations (a build tree),
 * <binary dir>/../share/beseda/migrations (an install), ./store/migrations.
 * Writes it to buf; returns 0, or -1 if none exists. */
int store_migrations_locate(const char *configured, char *buf, size_t len);
/* Applies what is missing, then (re)applies every SQL function file
 * (sql_functions.h), all under the advisory lock. Returns 0, or -1 with a logged reason (the caller
 * looks at PQstatus to tell a lost connection from a broken migration). */
int store_migrations_apply(PGconn *conn, const char *dir);

#endif
