/* Why files and not SQL compiled in: operators can read and audit them, and
 * later migrations are added without touching C. (The SQL functions are the
 * other way round, compiled in: they go with the C that calls them, see
 * sql_functions.h.) The directory is found
 * relative to the binary (via /proc/self/exe), so both `build/beseda-store`
 * in the source tree and an installed `bin/beseda-store` with
 * `share/beseda/migrations` work from any working directory;
 * BESEDA_MIGRATIONS overrides all of it. */
#include "migrations.h"
#include "log.h"
#include "sql_functions.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

long store_migration_version(const char *name)
{
    size_t len = strlen(name);
    if (len >= MIGRATION_NAME_MAX || len < 6 || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    size_t digits = 0;
    while (isdigit((unsigned char) name[digits]))
        digits++;
    if (digits == 0 || digits > 9 || name[digits] != '_' || digits + 1 >= len - 4)
        return -1;
    return strtol(name, NULL, 10);
}

static int by_version(const void *a, const void *b)
{
    long va = ((const store_migration_t *) a)->version;
    long vb = ((const store_migration_t *) b)->version;
    return va < vb ? -1 : va > vb;
}

int store_migrations_sort(store_migration_t *list, size_t count)
{
    if (count > 1)
        qsort(list, count, sizeof *list, by_version);
    for (size_t i = 1; i < count; i++)
        if (list[i].version == list[i - 1].version) {
            log_error("two migrations have one number", "first", list[i - 1].name,
                      "second", list[i].name);
            return -1;
        }
    return 0;
}

int store_migrations_list(const char *dir, store_migration_t **list)
{
    *list = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        log_error("cannot open migrations directory", "dir", dir, "error", strerror(errno));
        return -1;
    }
    size_t count = 0, cap = 0;
    store_migration_t *items = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long version = store_migration_version(e->d_name);
        if (version < 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            store_migration_t *bigger = realloc(items, cap * sizeof *items);
            if (!bigger) {
                free(items);
                closedir(d);
                return -1;
            }
            items = bigger;
        }
        items[count].version = version;
        /* store_migration_version() accepted it: shorter than the buffer. */
        memcpy(items[count].name, e->d_name, strlen(e->d_name) + 1);
        count++;
    }
    closedir(d);
    if (store_migrations_sort(items, count) < 0) {
        free(items);
        return -1;
    }
    *list = items;
    return (int) count;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int store_migrations_locate(const char *configured, char *buf, size_t len)
{
    if (configured && *configured) {
        snprintf(buf, len, "%s", configured);
        return is_dir(buf) ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *bindir = dirname(exe);
        const char *relative[] = { "../store/migrations", "../share/beseda/migrations" };
        for (size_t i = 0; i < 2; i++) {
            snprintf(buf, len, "%s/%s", bindir, relative[i]);
            if (is_dir(buf))
                return 0;
        }
    }
    snprintf(buf, len, "%s", "./store/migrations");
    return is_dir(buf) ? 0 : -1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = malloc(MIGRATION_MAX_BYTES + 1);
    size_t n = text ? fread(text, 1, MIGRATION_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f) || n > MIGRATION_MAX_BYTES;
    fclose(f);
    if (!text || bad) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

static int exec_ok(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    /* Empty: a migration left with only comments, its function moved to
     * store/sql/ (its number stays, a record of when the change came). */
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
    if (!ok) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        reason[strcspn(reason, "\n")] = '\0';
        log_error("migration step failed", "step", what, "error", reason);
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static int is_applied(PGconn *conn, long version, int *applied)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", version);
    const char *params[] = { v };
    PGresult *res = PQexecParams(conn, "SELECT 1 FROM schema_migrations WHERE version = $1",
                                 1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (ok)
        *applied = PQntuples(res) > 0;
    PQclear(res);
    return ok ? 0 : -1;
}

static int apply_one(PGconn *conn, const char *dir, const store_migration_t *m)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, m->name);
    char *sql = read_file(path);
    if (!sql) {
        log_error("cannot read migration", "file", path);
        return -1;
    }
    char v[24];
    snprintf(v, sizeof v, "%ld", m->version);
    const char *params[] = { v, m->name };
    int rc = exec_ok(conn, "BEGIN", m->name);
    if (rc == 0)
        rc = exec_ok(conn, sql, m->name);
    if (rc == 0) {
        PGresult *res = PQexecParams(conn,
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            2, NULL, params, NULL, NULL, 0);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        PQclear(res);
    }
    if (rc == 0)
        rc = exec_ok(conn, "COMMIT", m->name);
    if (rc < 0 && PQstatus(conn) == CONNECTION_OK)
        PQclear(PQexec(conn, "ROLLBACK"));
    free(sql);
    if (rc == 0)
        log_info("migration applied", "file", m->name);
    return rc;
}

static int apply_missing(PGconn *conn, const char *dir, store_migration_t *list, int count)
{
    for (int i = 0; i < count; i++) {
        int applied = 0;
        if (is_applied(conn, list[i].version, &applied) < 0)
            return -1;
        if (!applied && apply_one(conn, dir, &list[i]) < 0)
            return -1;
    }
    return 0;
}

/* Every function file, in one transaction: a start sees all of this
 * binary's functions or (on failure) none of them replaced. After the
 * migrations, so each body finds the tables and columns it reads; no
 * migration needs a function (trigger creation lives in the function files,
 * CREATE OR REPLACE TRIGGER). */
static int apply_functions(PGconn *conn)
{
    size_t count;
    const store_sql_file_t *files = store_sql_files(&count);
    int rc = exec_ok(conn, "BEGIN", "sql functions");
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = exec_ok(conn, files[i].sql, files[i].file);
    if (rc == 0)
        rc = exec_ok(conn, "COMMIT", "sql functions");
    if (rc < 0 && PQstatus(conn) == CONNECTION_OK)
        PQclear(PQexec(conn, "ROLLBACK"));
    return rc;
}

int store_migrations_apply(PGconn *conn, const char *dir)
{
    store_migration_t *list;
    int count = store_migrations_list(dir, &list);
    if (count < 0)
        return -1;
    /* Session-level lock: held across the per-migration transactions and
     * released explicitly (or by the server if we die). */
    if (exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATIONS_LOCK_KEY ")", "lock") < 0) {
        free(list);
        return -1;
    }
    int rc = exec_ok(conn,
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version bigint PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())", "schema_migrations");
    if (rc == 0)
        rc = apply_missing(conn, dir, list, count);
    if (rc == 0)
        rc = apply_functions(conn);
    if (PQstatus(conn) == CONNECTION_OK)
        exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATIONS_LOCK_KEY ")", "unlock");
    free(list);
    return rc;
}
