/* Fuzz target: the option parser every process runs first
 * (common/config.c beseda_config_parse) with an arbitrary argv. The input is
 * split at NUL bytes into arguments (at most 32). --help output goes to
 * stdout, which `make fuzz` closes.
 *
 * Properties: a successful parse leaves every option with a value, and every
 * integer option's value is a non-negative number. */
#include "fuzz.h"
#include "config.h"

#define MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    beseda_opt_t table[] = {
        { "broker", "BESEDA_FUZZ_BROKER", OPT_STRING, "tcp://127.0.0.1:5570", "broker", NULL },
        { "name", "BESEDA_FUZZ_NAME", OPT_STRING, "", "name", NULL },
        { "port", "BESEDA_FUZZ_PORT", OPT_INT, "8080", "port", NULL },
        { "timeout-ms", "BESEDA_FUZZ_TIMEOUT_MS", OPT_INT, "1000", "timeout", NULL },
        { "secret", "BESEDA_FUZZ_SECRET", OPT_STRING, NULL, "required", NULL },
        { NULL, NULL, OPT_STRING, NULL, NULL, NULL },
    };
    char *text = malloc(size + 1);
    FUZZ_CHECK(text, "memory");
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "beseda-fuzz";
    for (size_t at = 0; at <= size && argc < MAX_ARGS + 1;) {
        argv[argc++] = text + at;
        at += strlen(text + at) + 1;
    }
    argv[argc] = NULL;
    int rc = beseda_config_parse(table, "beseda-fuzz", "fuzzing", argc, argv);
    if (rc == 0) {
        for (beseda_opt_t *o = table; o->name; o++)
            FUZZ_CHECK(o->value != NULL, "every option has a value");
        FUZZ_CHECK(beseda_config_int(table, "port") >= 0
                   && beseda_config_int(table, "timeout-ms") >= 0,
                   "integers are non-negative");
    }
    free(text);
    return 0;
}
