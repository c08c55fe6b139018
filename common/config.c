#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static beseda_opt_t *find_opt(const beseda_opt_t *table, const char *name, size_t len)
{
    for (const beseda_opt_t *o = table; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return (beseda_opt_t *) o;
    return NULL;
}

static void print_help(const beseda_opt_t *table, const char *process, const char *summary)
{
    printf("Usage: %s [--option value]...\n%s\n\nOptions (flag, environment variable, default):\n",
           process, summary);
    for (const beseda_opt_t *o = table; o->name; o++)
        printf("  --%-18s %-28s %s\n  %-20s %s\n", o->name, o->env,
               o->def ? (*o->def ? o->def : "(empty)") : "(required)", "", o->help);
    printf("  --%-18s %-28s\n  %-20s %s\n", "help", "", "", "print this help and exit");
}

static int check_value(const beseda_opt_t *o, const char *process)
{
    if (o->type != OPT_INT || !o->value)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(o->value, &end, 10);
    if (errno || *end || end == o->value || v < 0) {
        fprintf(stderr, "%s: --%s (%s) must be a non-negative integer, got '%s'\n",
                process, o->name, o->env, o->value);
        return -1;
    }
    return 0;
}

int beseda_config_parse(beseda_opt_t *table, const char *process,
                        const char *summary, int argc, char **argv)
{
    for (beseda_opt_t *o = table; o->name; o++) {
        const char *env = o->env ? getenv(o->env) : NULL;
        o->value = env ? env : o->def;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            print_help(table, process, summary);
            return 1;
        }
        if (strcmp(arg, "--help-markdown") == 0) {   /* feeds docs/CONFIG.md */
            printf("%s\n\n", summary);
            beseda_config_markdown(table, process);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", process, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen(name);
        beseda_opt_t *o = find_opt(table, name, len);
        if (!o) {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", process, arg);
            return -1;
        }
        if (eq)
            o->value = eq + 1;
        else if (i + 1 < argc)
            o->value = argv[++i];
        else {
            fprintf(stderr, "%s: option '%s' needs a value\n", process, arg);
            return -1;
        }
    }
    for (beseda_opt_t *o = table; o->name; o++) {
        if (!o->value) {
            fprintf(stderr, "%s: --%s (%s) is required: %s\n", process, o->name, o->env, o->help);
            return -1;
        }
        if (check_value(o, process) < 0)
            return -1;
    }
    return 0;
}

const char *beseda_config_str(const beseda_opt_t *table, const char *name)
{
    beseda_opt_t *o = find_opt(table, name, strlen(name));
    return o ? o->value : NULL;
}

long beseda_config_int(const beseda_opt_t *table, const char *name)
{
    const char *v = beseda_config_str(table, name);
    return v ? strtol(v, NULL, 10) : 0;
}

void beseda_config_markdown(const beseda_opt_t *table, const char *process)
{
    printf("### %s\n\n| flag | environment | default | meaning |\n|---|---|---|---|\n", process);
    for (const beseda_opt_t *o = table; o->name; o++)
        printf("| `--%s` | `%s` | %s | %s |\n", o->name, o->env,
               o->def ? (*o->def ? o->def : "(empty)") : "**required**", o->help);
    printf("\n");
}
