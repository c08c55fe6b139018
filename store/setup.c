#include "setup.h"
#include "log.h"
#include "migrations.h"
#include <limits.h>

int store_setup(store_db_t *db, const char *migrations_dir, volatile sig_atomic_t *stop, int wait_ms)
{
    char dir[PATH_MAX];
    if (store_migrations_locate(migrations_dir, dir, sizeof dir) < 0) {
        log_error("migrations directory not found (set BESEDA_MIGRATIONS)",
                  "configured", migrations_dir ? migrations_dir : "");
        return -1;
    }
    log_info("using migrations", "dir", dir);
    for (;;) {
        PGconn *conn = store_db_connect_wait(db, stop, wait_ms);
        if (!conn) {
            log_error("postgres unreachable; giving up");
            return -1;
        }
        if (store_migrations_apply(conn, dir) == 0)
            return 0;
        if (PQstatus(conn) == CONNECTION_OK)
            return -1;          /* the migration itself fails: retrying will not help */
        store_db_check(db);
    }
}
