/* See admin.h. Each subcommand applies pending migrations first, so seeding
 * a fresh database works without starting the worker. Failures print one
 * plain sentence on stderr (these are run by people and scripts), besides
 * the JSON log lines of the connection code. */
#include "admin.h"
#include "accounts.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "setup.h"
#include "util.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ADMIN_CONNECT_WAIT_MS 10000
#define ADMIN_PG_DEFAULT "host=127.0.0.1 port=5432 dbname=beseda user=beseda"

#define ADMIN_COMMON_OPTS \
    { "pg", "BESEDA_PG", OPT_STRING, ADMIN_PG_DEFAULT, "libpq connection string", NULL }, \
    { "migrations", "BESEDA_MIGRATIONS", OPT_STRING, "", \
      "migrations directory (empty: next to the binary, see docs/STORE.md)", NULL }

typedef int (*admin_fn)(store_db_t *db, const beseda_opt_t *opts);

/* Connects, migrates, runs fn. */
static int with_database(const beseda_opt_t *opts, admin_fn fn)
{
    store_db_t *db = store_db_new(beseda_config_str(opts, "pg"));
    if (!db) {
        fprintf(stderr, "beseda-store: out of memory\n");
        return 1;
    }
    int rc = 1;
    if (store_setup(db, beseda_config_str(opts, "migrations"), NULL, ADMIN_CONNECT_WAIT_MS) < 0)
        fprintf(stderr, "beseda-store: cannot connect to PostgreSQL or apply migrations (see log)\n");
    else
        rc = fn ? fn(db, opts) : 0;
    store_db_destroy(&db);
    return rc;
}

/* Prints the id, or explains the usual failures in words. */
static int report(store_err_t err, const char *id, const char *what)
{
    switch (err) {
    case STORE_OK:
        printf("%s\n", id);
        return 0;
    case STORE_CONFLICT:
        fprintf(stderr, "beseda-store: %s already exists (e-mail taken)\n", what);
        break;
    case STORE_NOT_FOUND:
        fprintf(stderr, "beseda-store: no such site\n");
        break;
    default:
        fprintf(stderr, "beseda-store: cannot create %s (%s; see log)\n", what, store_err_code(err));
    }
    return 1;
}

static int create_site(store_db_t *db, const beseda_opt_t *opts)
{
    char id[UUID_STR_LEN];
    store_err_t err = store_accounts_create_site(db, beseda_config_str(opts, "name"),
                                                 beseda_config_str(opts, "origins"), id);
    return report(err, id, "site");
}

static void operator_from_opts(const beseda_opt_t *opts, store_new_operator_t *op)
{
    op->site_id = beseda_config_str(opts, "site");
    op->email = beseda_config_str(opts, "email");
    op->name = beseda_config_str(opts, "name");
    op->password = beseda_config_str(opts, "password");
    op->role = beseda_config_str(opts, "role");
    op->max_chats = beseda_config_int(opts, "max-chats");
}

static int create_operator(store_db_t *db, const beseda_opt_t *opts)
{
    store_new_operator_t op;
    operator_from_opts(opts, &op);
    char id[UUID_STR_LEN];
    return report(store_accounts_create_operator(db, &op, id), id, "operator");
}

/* Usage errors the option table cannot express. */
static int check_operator_args(const beseda_opt_t *opts)
{
    store_new_operator_t op;
    operator_from_opts(opts, &op);
    const char *why = store_accounts_check_operator(&op);
    if (why) {
        fprintf(stderr, "beseda-store: %s\n", why);
        return -1;
    }
    return 0;
}

static int parse(beseda_opt_t *opts, const char *command, const char *summary, int argc, char **argv)
{
    char process[64];
    snprintf(process, sizeof process, "beseda-store %s", command);
    int rc = beseda_config_parse(opts, process, summary, argc - 1, argv + 1);
    return rc;   /* 0 go on, 1 help printed, -1 bad usage */
}

static int run_migrate(int argc, char **argv)
{
    beseda_opt_t opts[] = { ADMIN_COMMON_OPTS, { NULL, NULL, OPT_STRING, NULL, NULL, NULL } };
    int rc = parse(opts, "migrate", "Applies pending migrations and exits.", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    return with_database(opts, NULL);
}

static int run_create_site(int argc, char **argv)
{
    beseda_opt_t opts[] = {
        ADMIN_COMMON_OPTS,
        { "name", "", OPT_STRING, NULL, "site name", NULL },
        { "origins", "", OPT_STRING, "", "allowed origins, comma-separated", NULL },
        { NULL, NULL, OPT_STRING, NULL, NULL, NULL }
    };
    int rc = parse(opts, "create-site", "Creates a site and prints its id.", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    const char *why = store_accounts_check_site(beseda_config_str(opts, "name"),
                                                beseda_config_str(opts, "origins"));
    if (why) {
        fprintf(stderr, "beseda-store: %s\n", why);
        return 2;
    }
    return with_database(opts, create_site);
}

static int run_create_operator(int argc, char **argv)
{
    beseda_opt_t opts[] = {
        ADMIN_COMMON_OPTS,
        { "site", "", OPT_STRING, NULL, "site id", NULL },
        { "email", "", OPT_STRING, NULL, "login e-mail (unique across all sites)", NULL },
        { "password", "BESEDA_ADMIN_PASSWORD", OPT_STRING, NULL,
          "password, stored as an argon2id hash (the variable keeps it out of `ps`)", NULL },
        { "name", "", OPT_STRING, NULL, "name shown to visitors", NULL },
        { "max-chats", "", OPT_INT, "5", "chats at once", NULL },
        { "role", "", OPT_STRING, "operator", "operator or admin (a site admin)", NULL },
        { NULL, NULL, OPT_STRING, NULL, NULL, NULL }
    };
    int rc = parse(opts, "create-operator", "Creates an operator and prints its id.", argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (check_operator_args(opts) < 0)
        return 2;
    return with_database(opts, create_operator);
}

int store_admin_is_command(int argc, char **argv)
{
    return argc > 1 && (strcmp(argv[1], "migrate") == 0 || strcmp(argv[1], "create-site") == 0
                        || strcmp(argv[1], "create-operator") == 0);
}

int store_admin_run(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "beseda-store: libsodium failed to initialise\n");
        return 1;
    }
    if (strcmp(argv[1], "migrate") == 0)
        return run_migrate(argc, argv);
    if (strcmp(argv[1], "create-site") == 0)
        return run_create_site(argc, argv);
    return run_create_operator(argc, argv);
}
