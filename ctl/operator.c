/* besedactl operator create | list | reset-password: operator accounts
 * through the store's admin requests. A password comes from stdin
 * (--password-stdin) or is generated and printed once; the store keeps only
 * its argon2id hash. A reset also ends the operator's sessions. */
#include "ctl.h"
#include "table.h"
#include "util.h"
#include <stdio.h>
#include <string.h>

#define MAX_CHATS_LIMIT 1000000

static json_t *operator_json(const Beseda__AdminOperator *op)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "id", op->id, "site", op->site_id,
                     "email", op->email, "name", op->name, "role", op->role,
                     "max_chats", (int) op->max_chats, "created_ms", (json_int_t) op->created_ms);
}

/* Prints the operator (and the password when it was generated here). */
static void print_operator(ctl_t *ctl, const Beseda__AdminOperator *op, const char *password)
{
    if (ctl->json) {
        json_t *obj = operator_json(op);
        if (obj && password)
            json_object_set_new(obj, "password", json_string(password));
        ctl_print_json(obj);
        return;
    }
    printf("%s\n", op->id);
    if (password)
        printf("password: %s\n(shown once: it is stored only as a hash)\n", password);
}

/* Checks that the option table cannot express; 0 or an exit code. */
static int check_create(ctl_t *ctl, const ctl_opt_t *opts)
{
    const char *role = ctl_arg_str(opts, "role");
    const char *email = ctl_arg_str(opts, "email");
    const char *at = strchr(email, '@');
    if (!beseda_is_uuid(ctl_arg_str(opts, "site")))
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--site must be a site id (UUID)");
    if (!at || at == email || !at[1])
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--email must look like name@domain");
    if (!*ctl_arg_str(opts, "name"))
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--name must not be empty");
    if (strcmp(role, "operator") != 0 && strcmp(role, "admin") != 0)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--role must be operator or admin");
    if (ctl_arg_int(opts, "max-chats") > MAX_CHATS_LIMIT)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--max-chats must be at most %d",
                         MAX_CHATS_LIMIT);
    return CTL_EXIT_OK;
}

/* Sends req and prints the AdminOperator it answers with. */
static int send_and_print(ctl_t *ctl, const char *key, const Beseda__StoreRequest *req,
                          const char *password)
{
    Beseda__StoreReply *reply;
    int rc = ctl_store(ctl, key, req, &reply);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_ADMIN_OPERATOR)
        rc = ctl_error(ctl, CTL_EXIT_FAILED, "internal", "unexpected answer from the store");
    else
        print_operator(ctl, reply->admin_operator, password);
    beseda__store_reply__free_unpacked(reply, NULL);
    return rc;
}

static int operator_create(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("site", NULL, CTL_ARG_STRING, NULL, "site id"),
        CTL_OPT("email", NULL, CTL_ARG_STRING, NULL, "login e-mail (unique across all sites)"),
        CTL_OPT("name", NULL, CTL_ARG_STRING, NULL, "name shown to visitors"),
        CTL_OPT("role", NULL, CTL_ARG_STRING, "operator", "operator, or admin (a site admin)"),
        CTL_OPT("max-chats", NULL, CTL_ARG_INT, "5", "chats at once"),
        CTL_OPT("password-stdin", NULL, CTL_ARG_FLAG, NULL,
                "read the password from the first line of stdin (else one is generated and printed)"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed,
                       "besedactl operator create --site ID --email E --name N [--role operator|admin]"
                       " [--max-chats N] [--password-stdin]",
                       "Creates an operator or site admin; prints the id (and a generated password).",
                       &done);
    if (rc != CTL_EXIT_OK || done || (rc = check_create(&ctl, opts)) != CTL_EXIT_OK)
        goto out;
    char password[CTL_PASSWORD_MAX_BYTES + 2];
    int generated = 0;
    rc = ctl_password(&ctl, ctl_arg_flag(opts, "password-stdin"), password, sizeof password, &generated);
    if (rc != CTL_EXIT_OK)
        goto out;
    Beseda__StoreCreateOperator create = BESEDA__STORE_CREATE_OPERATOR__INIT;
    create.site_id = (char *) ctl_arg_str(opts, "site");
    create.email = (char *) ctl_arg_str(opts, "email");
    create.name = (char *) ctl_arg_str(opts, "name");
    create.role = (char *) ctl_arg_str(opts, "role");
    create.max_chats = (uint32_t) ctl_arg_int(opts, "max-chats");
    create.password = password;
    Beseda__StoreRequest req = BESEDA__STORE_REQUEST__INIT;
    req.body_case = BESEDA__STORE_REQUEST__BODY_CREATE_OPERATOR;
    req.create_operator = &create;
    rc = send_and_print(&ctl, create.site_id, &req, generated ? password : NULL);
out:
    ctl_end(&ctl);
    return rc;
}

static int operator_reset(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("email", NULL, CTL_ARG_STRING, NULL, "the operator's login e-mail"),
        CTL_OPT("password-stdin", NULL, CTL_ARG_FLAG, NULL,
                "read the new password from the first line of stdin (else one is generated)"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed,
                       "besedactl operator reset-password --email E [--password-stdin]",
                       "Sets a new password and ends the operator's sessions.", &done);
    if (rc != CTL_EXIT_OK || done)
        goto out;
    if (!strchr(ctl_arg_str(opts, "email"), '@')) {
        rc = ctl_error(&ctl, CTL_EXIT_USAGE, "usage", "--email must look like name@domain");
        goto out;
    }
    char password[CTL_PASSWORD_MAX_BYTES + 2];
    int generated = 0;
    rc = ctl_password(&ctl, ctl_arg_flag(opts, "password-stdin"), password, sizeof password, &generated);
    if (rc != CTL_EXIT_OK)
        goto out;
    Beseda__StoreResetPassword reset = BESEDA__STORE_RESET_PASSWORD__INIT;
    reset.email = (char *) ctl_arg_str(opts, "email");
    reset.password = password;
    Beseda__StoreRequest req = BESEDA__STORE_REQUEST__INIT;
    req.body_case = BESEDA__STORE_REQUEST__BODY_RESET_PASSWORD;
    req.reset_password = &reset;
    rc = send_and_print(&ctl, "admin", &req, generated ? password : NULL);
out:
    ctl_end(&ctl);
    return rc;
}

static void print_operators(ctl_t *ctl, const Beseda__AdminOperatorList *list)
{
    if (ctl->json) {
        json_t *ops = json_array();
        for (size_t i = 0; i < list->n_operators; i++)
            json_array_append_new(ops, operator_json(list->operators[i]));
        ctl_print_json(json_pack("{s:o}", "operators", ops));
        return;
    }
    printf("%-36s %-32s %-20s %-8s %s\n", "ID", "EMAIL", "NAME", "ROLE", "MAX CHATS");
    for (size_t i = 0; i < list->n_operators; i++) {
        const Beseda__AdminOperator *op = list->operators[i];
        /* Columns by display width, names cut on a character boundary. */
        char email[512], name[256];
        ctl_cell(email, sizeof email, op->email, ctl_text_width(op->email) > 32 ? 0 : 32, 1);
        ctl_cell(name, sizeof name, op->name, 20, 1);
        printf("%-36s %s %s %-8s %u\n", op->id, email, name, op->role, op->max_chats);
    }
}

static int operator_list(int argc, char **argv)
{
    ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("site", NULL, CTL_ARG_STRING, NULL, "site id"),
        CTL_OPT_END
    };
    ctl_t ctl;
    ctl_parsed_t parsed;
    int done;
    int rc = ctl_begin(&ctl, opts, argc, argv, 0, 0, &parsed, "besedactl operator list --site ID [--json]",
                       "Lists the operators and admins of a site.", &done);
    if (rc != CTL_EXIT_OK || done)
        goto out;
    if (!beseda_is_uuid(ctl_arg_str(opts, "site"))) {
        rc = ctl_error(&ctl, CTL_EXIT_USAGE, "usage", "--site must be a site id (UUID)");
        goto out;
    }
    Beseda__StoreListOperators list = BESEDA__STORE_LIST_OPERATORS__INIT;
    list.site_id = (char *) ctl_arg_str(opts, "site");
    Beseda__StoreRequest req = BESEDA__STORE_REQUEST__INIT;
    req.body_case = BESEDA__STORE_REQUEST__BODY_LIST_OPERATORS;
    req.list_operators = &list;
    Beseda__StoreReply *reply;
    rc = ctl_store(&ctl, list.site_id, &req, &reply);
    if (rc != CTL_EXIT_OK)
        goto out;
    if (reply->body_case != BESEDA__STORE_REPLY__BODY_ADMIN_OPERATORS)
        rc = ctl_error(&ctl, CTL_EXIT_FAILED, "internal", "unexpected answer from the store");
    else
        print_operators(&ctl, reply->admin_operators);
    beseda__store_reply__free_unpacked(reply, NULL);
out:
    ctl_end(&ctl);
    return rc;
}

int ctl_cmd_operator(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "create") == 0)
        return operator_create(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "list") == 0)
        return operator_list(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "reset-password") == 0)
        return operator_reset(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("Usage: besedactl operator create|list|reset-password [options]  (each with --help)\n");
        return CTL_EXIT_OK;
    }
    return ctl_error(NULL, CTL_EXIT_USAGE, "usage",
                     "usage: besedactl operator create|list|reset-password [options] (see --help)");
}
