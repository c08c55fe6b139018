/* The store's SQL functions: one file per function in store/sql/, beside the
 * C that calls it (store/sql/append.sql for store/append.c), holding its
 * current definition as CREATE OR REPLACE FUNCTION (a trigger function also
 * its CREATE OR REPLACE TRIGGER). They are compiled into the binary, so a
 * binary always runs with the function bodies it was built against, and
 * store_migrations_apply() re-applies them on every start, after the
 * migrations. Schema changes stay in store/migrations/ (docs/STORE.md). */
#ifndef STORE_SQL_FUNCTIONS_H
#define STORE_SQL_FUNCTIONS_H

#include <stddef.h>

typedef struct {
    const char *file;   /* name in store/sql/, e.g. "append.sql" */
    const char *sql;    /* its whole text, NUL-terminated */
} store_sql_file_t;

/* The files in the order they are applied; *count gets their number. */
const store_sql_file_t *store_sql_files(size_t *count);

#endif
