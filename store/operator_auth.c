/* operator_login and operator_session. Passwords are argon2id strings from
 * crypto_pwhash_str. A session token is 32 random bytes in base64url; only
 * its SHA-256 is stored, so a leaked database holds no usable token. */
#include "route.h"
#include "rows.h"
#include "store.h"
#include "validate.h"
#include "log.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define SESSION_TOKEN_BYTES 32
#define OPERATOR_COLUMNS "o.id, o.site_id, o.name, o.email, o.max_chats, o.role"

/* A valid argon2id hash (same cost as crypto_pwhash_str's interactive
 * limits, which create-operator uses) of a password nobody has. It is
 * verified when the e-mail is unknown, so that a wrong e-mail costs as long
 * as a wrong password and timing does not tell which e-mails exist. */
#define DUMMY_HASH "$argon2id$v=19$m=65536,t=2,p=1$aCaV/XoiU8jh9XHGEyWKnw$" \
                   "tuWvkBLtFzR2hSTUyxpjhT/EDJe3jf5sXIFB2dPyRb0"

_Static_assert(sizeof(((store_login_t *) 0)->hash) >= crypto_pwhash_STRBYTES,
               "libsodium reads crypto_pwhash_STRBYTES bytes of a hash");

static Beseda__OperatorInfo *operator_from_row(store_mem_t *mem, const PGresult *res, int row)
{
    Beseda__OperatorInfo *op = store_mem_alloc(mem, sizeof *op);
    if (!op)
        return NULL;
    beseda__operator_info__init(op);
    op->id = rows_str(res, row, 0);
    op->site_id = rows_str(res, row, 1);
    op->name = rows_str(res, row, 2);
    op->email = rows_str(res, row, 3);
    op->max_chats = (uint32_t) rows_u64(res, row, 4);
    op->role = rows_str(res, row, 5);
    return op;
}

/* The operator's open conversations into the reply, with the chats ringing
 * for them and the site's groups (route.c). */
static store_err_t load_assigned(store_ctx_t *ctx, Beseda__StoreOperatorReply *r, store_mem_t *mem)
{
    const char *params[] = { r->operator_->site_id, r->operator_->id };
    store_err_t err = rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.operator_id = $2 AND c.state = 'assigned'"
        " ORDER BY c.updated_at", 2, params, &r->conversations, &r->n_conversations);
    return err == STORE_OK ? route_operator_extras(ctx, r, mem) : err;
}

static void token_hash_hex(const char *token, char out[2 + 2 * crypto_hash_sha256_BYTES + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) token, strlen(token));
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 2 * crypto_hash_sha256_BYTES + 1, digest, sizeof digest);
}

static store_err_t create_session(store_ctx_t *ctx, Beseda__StoreOperatorReply *r, store_mem_t *mem)
{
    unsigned char raw[SESSION_TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    size_t len = sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *token = store_mem_alloc(mem, len);
    if (!token)
        return STORE_INTERNAL;
    sodium_bin2base64(token, len, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char hash[2 + 2 * crypto_hash_sha256_BYTES + 1], ttl[24];
    token_hash_hex(token, hash);
    snprintf(ttl, sizeof ttl, "%ld", ctx->session_ttl_s);
    const char *params[] = { hash, r->operator_->id, ttl };
    store_err_t err = rows_err(store_db_exec(ctx->db,
        "INSERT INTO operator_sessions (token_hash, operator_id, expires_at)"
        " VALUES ($1::bytea, $2, now() + make_interval(secs => $3::bigint))", 3, params));
    if (err != STORE_OK)
        return err;
    r->session = token;
    /* Expired sessions are only dead weight; a login is a natural moment to
     * drop this operator's. Failure here costs nothing but space. */
    const char *who[] = { r->operator_->id };
    store_db_exec(ctx->db, "DELETE FROM operator_sessions WHERE operator_id = $1 AND expires_at < now()",
                  1, who);
    return STORE_OK;
}

static Beseda__StoreOperatorReply *new_reply(Beseda__StoreReply *reply, store_mem_t *mem)
{
    Beseda__StoreOperatorReply *r = store_mem_alloc(mem, sizeof *r);
    if (!r)
        return NULL;
    beseda__store_operator_reply__init(r);
    reply->body_case = BESEDA__STORE_REPLY__BODY_OPERATOR;
    reply->operator_ = r;
    return r;
}

store_err_t store_login_lookup(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                               Beseda__StoreReply *reply, store_mem_t *mem, store_login_t *login)
{
    login->row = NULL;
    snprintf(login->hash, sizeof login->hash, "%s", DUMMY_HASH);
    if (!new_reply(reply, mem))
        return STORE_INTERNAL;
    if (!store_valid_text(req->email, STORE_FIELD_MAX_BYTES) || !req->password
        || strlen(req->password) > STORE_FIELD_MAX_BYTES)
        return STORE_BAD_REQUEST;
    const char *params[] = { req->email };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT " OPERATOR_COLUMNS ", o.password_hash FROM operators o"
        " WHERE lower(o.email) = lower($1)", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) == 1) {
        login->row = res;
        snprintf(login->hash, sizeof login->hash, "%s", PQgetvalue(res, 0, 6));
    }
    return STORE_OK;
}

store_err_t store_login_finish(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                               Beseda__StoreReply *reply, store_mem_t *mem,
                               const store_login_t *login, bool password_ok)
{
    (void) req;                                 /* its e-mail is never logged */
    Beseda__StoreOperatorReply *r = reply->operator_;
    if (!r)
        return STORE_INTERNAL;
    if (!login->row || !password_ok) {
        /* No e-mail in the log: people type passwords into the e-mail
         * box, and a log is read by more eyes than the database. */
        log_info("operator login refused");
        return STORE_OK;                        /* ok = false */
    }
    if (!(r->operator_ = operator_from_row(mem, login->row, 0)))
        return STORE_INTERNAL;
    store_err_t err = create_session(ctx, r, mem);
    if (err == STORE_OK)
        err = load_assigned(ctx, r, mem);
    r->ok = err == STORE_OK;
    return err;
}

store_err_t store_operator_login(store_ctx_t *ctx, const Beseda__StoreOperatorLogin *req,
                                 Beseda__StoreReply *reply, store_mem_t *mem)
{
    store_login_t login;
    store_err_t err = store_login_lookup(ctx, req, reply, mem, &login);
    if (err != STORE_OK)
        return err;
    bool good = crypto_pwhash_str_verify(login.hash, req->password, strlen(req->password)) == 0;
    return store_login_finish(ctx, req, reply, mem, &login, good);
}

store_err_t store_operator_session(store_ctx_t *ctx, const Beseda__StoreOperatorSession *req,
                                   Beseda__StoreReply *reply, store_mem_t *mem)
{
    Beseda__StoreOperatorReply *r = new_reply(reply, mem);
    if (!r)
        return STORE_INTERNAL;
    if (!req->session || strlen(req->session) > STORE_FIELD_MAX_BYTES)
        return STORE_BAD_REQUEST;
    if (!*req->session)
        return STORE_OK;                        /* ok = false */
    char hash[2 + 2 * crypto_hash_sha256_BYTES + 1];
    token_hash_hex(req->session, hash);
    const char *params[] = { hash };
    PGresult *res;
    db_status_t st = store_db_query(ctx->db,
        "SELECT " OPERATOR_COLUMNS " FROM operator_sessions s JOIN operators o ON o.id = s.operator_id"
        " WHERE s.token_hash = $1::bytea AND s.expires_at > now()", 1, params, &res);
    if (st != DB_OK)
        return rows_err(st);
    if (!store_mem_keep(mem, res))
        return STORE_INTERNAL;
    if (PQntuples(res) != 1)
        return STORE_OK;                        /* unknown or expired */
    if (!(r->operator_ = operator_from_row(mem, res, 0)))
        return STORE_INTERNAL;
    r->session = req->session;
    store_err_t err = load_assigned(ctx, r, mem);
    r->ok = err == STORE_OK;
    return err;
}

/* Logout: the session row goes, so its token resumes nothing any more. Only
 * the operator's own session (a token of someone else's is left alone). */
store_err_t store_operator_logout(store_ctx_t *ctx, const Beseda__StoreOperatorLogout *req,
                                  Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!req->session || !*req->session || strlen(req->session) > STORE_FIELD_MAX_BYTES
        || !store_valid_uuid(req->operator_id))
        return STORE_BAD_REQUEST;
    Beseda__Empty *ok = store_mem_alloc(mem, sizeof *ok);
    if (!ok)
        return STORE_INTERNAL;
    beseda__empty__init(ok);
    char hash[2 + 2 * crypto_hash_sha256_BYTES + 1];
    token_hash_hex(req->session, hash);
    const char *params[] = { hash, req->operator_id };
    store_err_t err = rows_err(store_db_exec(ctx->db,
        "DELETE FROM operator_sessions WHERE token_hash = $1::bytea AND operator_id = $2::uuid",
        2, params));
    if (err != STORE_OK)
        return err;
    reply->body_case = BESEDA__STORE_REPLY__BODY_OK;
    reply->ok = ok;
    return STORE_OK;
}
