/* Sites and operator accounts: creating them, resetting a password. Shared
 * by the beseda-store subcommands (admin.c) and the bus requests besedactl
 * sends (admin_requests.c), so both apply the same rules and SQL. */
#ifndef STORE_ACCOUNTS_H
#define STORE_ACCOUNTS_H

#include "store.h"
#include "util.h"

#define ACCOUNT_PASSWORD_MIN_BYTES    8
#define ACCOUNT_PASSWORD_MAX_BYTES 1024
#define ACCOUNT_MAX_CHATS_LIMIT 1000000
#define ACCOUNT_NAME_MAX_BYTES     200
#define ACCOUNT_ORIGINS_MAX_BYTES 4096   /* the comma list */

typedef struct {
    const char *site_id;
    const char *email;
    const char *name;
    const char *password;          /* plain text; stored as an argon2id hash */
    const char *role;              /* "operator" | "admin"; NULL or "": operator */
    long max_chats;
} store_new_operator_t;

/* NULL if the password may be used, else why not (a sentence). */
const char *store_accounts_check_password(const char *password);
/* NULL if the operator's fields are acceptable, else why not. */
const char *store_accounts_check_operator(const store_new_operator_t *op);
/* NULL if the site's name and origins (comma list) are acceptable. */
const char *store_accounts_check_site(const char *name, const char *origins_csv);

/* Each returns STORE_OK with the new or changed row's id in id_out, or:
 * STORE_NOT_FOUND (no such site / operator), STORE_CONFLICT (e-mail taken),
 * STORE_UNAVAILABLE (PostgreSQL), STORE_INTERNAL (hashing, memory).
 * Arguments must have passed the checks above. */
store_err_t store_accounts_create_site(store_db_t *db, const char *name, const char *origins_csv,
                                       char id_out[UUID_STR_LEN]);
store_err_t store_accounts_create_operator(store_db_t *db, const store_new_operator_t *op,
                                           char id_out[UUID_STR_LEN]);
/* Sets the password of the operator with this e-mail (any case) and ends
 * all of their sessions, in one transaction. */
store_err_t store_accounts_reset_password(store_db_t *db, const char *email, const char *password,
                                          char id_out[UUID_STR_LEN]);

#endif
