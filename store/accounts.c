/* See accounts.h. E-mail uniqueness is a unique index on lower(email);
 * inserts use ON CONFLICT DO NOTHING and read "no row" as "taken", because
 * store_db_query keeps no SQLSTATE for its caller. */
#include "accounts.h"
#include "log.h"
#include "rows.h"
#include "validate.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

const char *store_accounts_check_password(const char *pw)
{
    size_t len = pw ? strlen(pw) : 0;
    if (len < ACCOUNT_PASSWORD_MIN_BYTES)
        return "the password must be at least 8 bytes long";
    if (len > ACCOUNT_PASSWORD_MAX_BYTES || !store_valid_utf8(pw, len))
        return "the password must be valid UTF-8 of at most 1024 bytes";
    return NULL;
}

const char *store_accounts_check_operator(const store_new_operator_t *op)
{
    if (!store_valid_uuid(op->site_id))
        return "the site must be a site id (UUID)";
    const char *at = op->email ? strchr(op->email, '@') : NULL;
    if (!at || at == op->email || !at[1] || !store_valid_text(op->email, STORE_FIELD_MAX_BYTES))
        return "the e-mail must look like name@domain";
    if (!op->name || !*op->name || !store_valid_text(op->name, ACCOUNT_NAME_MAX_BYTES))
        return "the name must be 1 to 200 bytes of UTF-8";
    if (op->role && *op->role && strcmp(op->role, "operator") != 0 && strcmp(op->role, "admin") != 0)
        return "the role must be operator or admin";
    if (op->max_chats < 0 || op->max_chats > ACCOUNT_MAX_CHATS_LIMIT)
        return "max chats must be 0 to 1000000";
    return store_accounts_check_password(op->password);
}

const char *store_accounts_check_site(const char *name, const char *origins_csv)
{
    if (!name || !*name || !store_valid_text(name, ACCOUNT_NAME_MAX_BYTES))
        return "the site name must be 1 to 200 bytes of UTF-8";
    if (origins_csv && !store_valid_text(origins_csv, ACCOUNT_ORIGINS_MAX_BYTES))
        return "the origins must be UTF-8, at most 4096 bytes in all";
    return NULL;
}

/* Runs a query returning one row whose first column is an id (or NULL);
 * copies it. STORE_OK with "" in id_out when the row has NULL. */
static store_err_t query_id(store_db_t *db, const char *sql, int n, const char *const *params,
                            char id_out[UUID_STR_LEN], int *first_int)
{
    PGresult *res;
    db_status_t st = store_db_query(db, sql, n, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    store_err_t err = STORE_INTERNAL;
    if (PQntuples(res) == 1) {
        snprintf(id_out, UUID_STR_LEN, "%s", PQgetvalue(res, 0, 0));
        if (first_int && PQnfields(res) > 1)
            *first_int = atoi(PQgetvalue(res, 0, 1));
        err = STORE_OK;
    }
    PQclear(res);
    return err;
}

store_err_t store_accounts_create_site(store_db_t *db, const char *name, const char *origins_csv,
                                       char id_out[UUID_STR_LEN])
{
    const char *params[] = { name, origins_csv ? origins_csv : "" };
    return query_id(db,
        "INSERT INTO sites (name, allowed_origins)"
        " VALUES ($1, ARRAY(SELECT btrim(o) FROM unnest(string_to_array($2, ',')) o"
        "                   WHERE btrim(o) <> '')) RETURNING id", 2, params, id_out, NULL);
}

/* argon2id with libsodium's interactive limits: what login verifies. */
static int hash_password(const char *password, char hash[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        log_error("cannot hash a password (out of memory)");
        return -1;
    }
    return 0;
}

store_err_t store_accounts_create_operator(store_db_t *db, const store_new_operator_t *op,
                                           char id_out[UUID_STR_LEN])
{
    char hash[crypto_pwhash_STRBYTES];
    if (hash_password(op->password, hash) < 0)
        return STORE_INTERNAL;
    char max_chats[24];
    snprintf(max_chats, sizeof max_chats, "%ld", op->max_chats);
    const char *params[] = { op->site_id, op->email, op->name, hash, max_chats,
                             op->role && *op->role ? op->role : "operator" };
    int site_found = 0;
    store_err_t err = query_id(db,
        "WITH s AS (SELECT id FROM sites WHERE id = $1::uuid),"
        " ins AS (INSERT INTO operators (site_id, email, name, password_hash, max_chats, role)"
        "         SELECT s.id, $2, $3, $4, $5::int, $6 FROM s ON CONFLICT DO NOTHING RETURNING id)"
        " SELECT coalesce((SELECT id::text FROM ins), ''), (SELECT count(*) FROM s)",
        6, params, id_out, &site_found);
    sodium_memzero(hash, sizeof hash);
    if (err != STORE_OK)
        return err;
    if (!site_found)
        return STORE_NOT_FOUND;
    return *id_out ? STORE_OK : STORE_CONFLICT;
}

store_err_t store_accounts_reset_password(store_db_t *db, const char *email, const char *password,
                                          char id_out[UUID_STR_LEN])
{
    char hash[crypto_pwhash_STRBYTES];
    if (hash_password(password, hash) < 0)
        return STORE_INTERNAL;
    const char *params[] = { email, hash };
    /* One statement, so the new hash and the end of the old sessions
     * commit together. */
    store_err_t err = query_id(db,
        "WITH op AS (UPDATE operators SET password_hash = $2 WHERE lower(email) = lower($1)"
        "            RETURNING id),"
        " gone AS (DELETE FROM operator_sessions WHERE operator_id IN (SELECT id FROM op))"
        " SELECT coalesce((SELECT id::text FROM op), '')", 2, params, id_out, NULL);
    sodium_memzero(hash, sizeof hash);
    if (err == STORE_OK && !*id_out)
        return STORE_NOT_FOUND;
    return err;
}
