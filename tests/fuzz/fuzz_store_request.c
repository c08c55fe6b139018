/* Fuzz target: the store's handling of an arbitrary StoreRequest body
 * (store/worker.c receive -> store_handle, and append's validation in the
 * group commit), with PostgreSQL unreachable: every check a request passes
 * before SQL runs for real, and the error path after it.
 *
 * Create-operator and reset-password hash the password (argon2id, tens of
 * milliseconds and 64 MiB) before they touch the database, so for those only
 * their checks run (store_accounts_check_*).
 *
 * Properties: the reply always packs and unpacks; a request that is not
 * valid (store_validate_append) is never reported as anything but
 * bad_request, and a refused request has no body next to its error. */
#include "fuzz.h"
#include "accounts.h"
#include "log.h"
#include "store.h"
#include "validate.h"

#include <sodium.h>

static store_ctx_t ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (sodium_init() < 0)
        abort();
    beseda_log_init("store");
    ctx.db = store_db_new("host=127.0.0.1 port=1 dbname=beseda connect_timeout=1");
    ctx.session_ttl_s = 86400;
    FUZZ_CHECK(ctx.db, "db handle");
    return 0;
}

static void check_reply(const Beseda__StoreReply *reply)
{
    if (*reply->error_code)
        FUZZ_CHECK(reply->body_case == BESEDA__STORE_REPLY__BODY__NOT_SET,
                   "an error reply has no body");
    size_t len = beseda__store_reply__get_packed_size(reply);
    uint8_t *buf = malloc(len ? len : 1);
    FUZZ_CHECK(buf, "memory");
    beseda__store_reply__pack(reply, buf);
    Beseda__StoreReply *back = beseda__store_reply__unpack(NULL, len, buf);
    FUZZ_CHECK(back && strcmp(back->error_code, reply->error_code) == 0, "the reply travels");
    beseda__store_reply__free_unpacked(back, NULL);
    free(buf);
}

static void run_checks_only(const Beseda__StoreRequest *req)
{
    if (req->body_case == BESEDA__STORE_REQUEST__BODY_CREATE_OPERATOR) {
        const Beseda__StoreCreateOperator *c = req->create_operator;
        store_new_operator_t op = { c->site_id, c->email, c->name, c->password, c->role,
                                    (long) c->max_chats };
        (void) store_accounts_check_operator(&op);
    } else {
        (void) store_accounts_check_password(req->reset_password->password);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Beseda__StoreRequest *req = beseda__store_request__unpack(NULL, size, data);
    if (!req)
        return 0;          /* answered bad_request by the worker */
    store_mem_t *mem = store_mem_new();
    Beseda__StoreReply *reply = mem ? store_mem_alloc(mem, sizeof *reply) : NULL;
    FUZZ_CHECK(reply, "memory");
    beseda__store_reply__init(reply);
    switch (req->body_case) {
    case BESEDA__STORE_REQUEST__BODY_APPEND:
        /* What the group commit runs before any SQL (append.c plan). */
        store_reply_error(reply, store_validate_append(req->append));
        break;
    case BESEDA__STORE_REQUEST__BODY_CREATE_OPERATOR:
    case BESEDA__STORE_REQUEST__BODY_RESET_PASSWORD:
        run_checks_only(req);
        break;
    default:
        store_handle(&ctx, req, reply, mem);
    }
    check_reply(reply);
    store_mem_destroy(&mem);
    beseda__store_request__free_unpacked(req, NULL);
    return 0;
}
