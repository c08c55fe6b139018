/* besedactl's argument parser and small formatters: flags, repeated
 * options, positional arguments, environment fallback, usage errors. */
#include "check.h"
#include "ctl.h"
#include <stdlib.h>
#include <string.h>

static ctl_opt_t *table(void)
{
    static ctl_opt_t opts[] = {
        CTL_COMMON_OPTS,
        CTL_OPT("name", NULL, CTL_ARG_STRING, NULL, "required"),
        CTL_OPT("max", NULL, CTL_ARG_INT, "5", "an int"),
        CTL_OPT("key", NULL, CTL_ARG_LIST, NULL, "repeatable"),
        CTL_OPT_END
    };
    return opts;
}

static int parse(int argc, char **argv, size_t min_pos, size_t max_pos, ctl_parsed_t *out)
{
    return ctl_args_parse(table(), argc, argv, min_pos, max_pos, out);
}

static void test_values(void)
{
    ctl_parsed_t p;
    char *argv[] = { "--name", "Shop", "--max=7", "--key", "a", "--key=b", "--json", "pos" };
    CHECK(parse(8, argv, 1, 1, &p) == 0, "flags, = form, repeats and a positional parse");
    CHECK(strcmp(ctl_arg_str(table(), "name"), "Shop") == 0, "string value");
    CHECK(ctl_arg_int(table(), "max") == 7, "--max=7");
    CHECK(ctl_arg(table(), "key")->n_values == 2
          && strcmp(ctl_arg(table(), "key")->values[1], "b") == 0, "repeated --key kept in order");
    CHECK(ctl_arg_flag(table(), "json"), "--json flag set");
    CHECK(p.n_positional == 1 && strcmp(p.positional[0], "pos") == 0, "positional argument");
    CHECK(strcmp(ctl_arg_str(table(), "broker"), "tcp://127.0.0.1:5570") == 0, "default used");
}

static void test_errors(void)
{
    ctl_parsed_t p;
    char *unknown[] = { "--name", "x", "--nope" };
    CHECK(parse(3, unknown, 0, 0, &p) == -1 && strstr(p.error, "--nope"), "unknown option named");
    char *missing[] = { "--max", "3" };
    CHECK(parse(2, missing, 0, 0, &p) == -1 && strstr(p.error, "--name is required"), "required option");
    char *noval[] = { "--name" };
    CHECK(parse(1, noval, 0, 0, &p) == -1 && strstr(p.error, "needs a value"), "option without value");
    char *badint[] = { "--name", "x", "--max", "-3" };
    CHECK(parse(4, badint, 0, 0, &p) == -1, "negative int refused");
    char *flagval[] = { "--name", "x", "--json=1" };
    CHECK(parse(3, flagval, 0, 0, &p) == -1, "a flag takes no value");
    char *extra[] = { "--name", "x", "one", "two" };
    CHECK(parse(4, extra, 0, 1, &p) == -1 && strstr(p.error, "two"), "too many positionals");
    char *few[] = { "--name", "x" };
    CHECK(parse(2, few, 1, 1, &p) == -1, "missing positional");
    char *dash[] = { "--name", "x", "-v" };
    CHECK(parse(3, dash, 0, 1, &p) == -1, "single-dash options are unknown");
}

static void test_help_env_and_end(void)
{
    ctl_parsed_t p;
    char *help[] = { "--nope", "--help" };
    CHECK(parse(2, help, 0, 0, &p) == -1, "an error before --help wins");
    char *help2[] = { "--help", "--nope" };
    CHECK(parse(2, help2, 0, 0, &p) == 1, "--help asks for help");
    setenv("BESEDA_BROKER", "tcp://10.0.0.1:1", 1);
    char *env[] = { "--name", "x" };
    CHECK(parse(2, env, 0, 0, &p) == 0 && strcmp(ctl_arg_str(table(), "broker"), "tcp://10.0.0.1:1") == 0,
          "environment used when no flag");
    char *flag[] = { "--name", "x", "--broker", "tcp://b:2" };
    CHECK(parse(4, flag, 0, 0, &p) == 0 && strcmp(ctl_arg_str(table(), "broker"), "tcp://b:2") == 0,
          "flag wins over environment");
    unsetenv("BESEDA_BROKER");
    char *end[] = { "--name", "x", "--", "--worker-with-dashes" };
    CHECK(parse(4, end, 1, 1, &p) == 0 && strcmp(p.positional[0], "--worker-with-dashes") == 0,
          "-- ends the options");
}

static void test_format(void)
{
    char buf[256];
    ctl_embed(buf, sizeof buf, "https://chat.example//", "S1");
    CHECK(strcmp(buf, "<script src=\"https://chat.example/widget.js\" data-site=\"S1\" async></script>") == 0,
          "embed snippet trims trailing slashes");
    ctl_embed(buf, sizeof buf, "", "S1");
    CHECK(strstr(buf, "https://GATEWAY/widget.js") != NULL, "placeholder without a URL");
    ctl_format_age(buf, sizeof buf, 1500);
    CHECK(strcmp(buf, "1.5s") == 0, "seconds");
    ctl_format_age(buf, sizeof buf, 125000);
    CHECK(strcmp(buf, "2m05s") == 0, "minutes");
    ctl_format_age(buf, sizeof buf, 3 * 3600000 + 60000);
    CHECK(strcmp(buf, "3h01m") == 0, "hours");
}

int main(void)
{
    test_values();
    test_errors();
    test_help_env_and_end();
    test_format();
    return CHECK_DONE();
}
