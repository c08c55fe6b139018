/* See args.h. The table is searched linearly: a command has a handful of
 * options. */
#include "args.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ctl_opt_t *find(ctl_opt_t *opts, const char *name, size_t len)
{
    for (ctl_opt_t *o = opts; o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

const ctl_opt_t *ctl_arg(const ctl_opt_t *opts, const char *name)
{
    return find((ctl_opt_t *) opts, name, strlen(name));
}

static int valid_int(const char *s)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char) *p))
            return 0;
    errno = 0;
    long v = strtol(s, NULL, 10);
    return errno == 0 && v >= 0;
}

static int set_value(ctl_opt_t *o, const char *value, ctl_parsed_t *out)
{
    if (o->type == CTL_ARG_LIST) {
        if (o->n_values >= CTL_LIST_MAX) {
            snprintf(out->error, sizeof out->error, "--%s given more than %d times", o->name,
                     CTL_LIST_MAX);
            return -1;
        }
        o->values[o->n_values++] = value;
        return 0;
    }
    if (o->type == CTL_ARG_INT && !valid_int(value)) {
        snprintf(out->error, sizeof out->error, "--%s must be a non-negative integer, got '%s'",
                 o->name, value);
        return -1;
    }
    o->value = value;
    return 0;
}

/* One "--name[=value]" at argv[*i]; may consume the next argument. */
static int parse_option(ctl_opt_t *opts, int argc, char **argv, int *i, ctl_parsed_t *out)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t) (eq - arg) : strlen(arg);
    ctl_opt_t *o = find(opts, arg, len);
    if (!o) {
        snprintf(out->error, sizeof out->error, "unknown option --%.*s", (int) len, arg);
        return -1;
    }
    if (o->type == CTL_ARG_FLAG) {
        if (eq) {
            snprintf(out->error, sizeof out->error, "--%s takes no value", o->name);
            return -1;
        }
        o->value = "1";
        return 0;
    }
    if (eq)
        return set_value(o, eq + 1, out);
    if (*i + 1 >= argc) {
        snprintf(out->error, sizeof out->error, "--%s needs a value", o->name);
        return -1;
    }
    return set_value(o, argv[++*i], out);
}

/* Environment and defaults for what the command line did not set. */
static int fill_unset(ctl_opt_t *opts, ctl_parsed_t *out)
{
    for (ctl_opt_t *o = opts; o->name; o++) {
        if (o->value || o->n_values)
            continue;
        const char *env = o->env ? getenv(o->env) : NULL;
        if (env && o->type == CTL_ARG_FLAG)
            o->value = *env && strcmp(env, "0") != 0 ? "1" : NULL;
        else if (env && set_value(o, env, out) < 0)
            return -1;
        else if (!env && o->type != CTL_ARG_FLAG && o->type != CTL_ARG_LIST)
            o->value = o->def;
        if (!o->value && (o->type == CTL_ARG_STRING || o->type == CTL_ARG_INT)) {
            snprintf(out->error, sizeof out->error, "--%s is required", o->name);
            return -1;
        }
    }
    return 0;
}

int ctl_args_parse(ctl_opt_t *opts, int argc, char **argv, size_t min_pos, size_t max_pos,
                   ctl_parsed_t *out)
{
    memset(out, 0, sizeof *out);
    for (ctl_opt_t *o = opts; o->name; o++) {
        o->value = NULL;
        o->n_values = 0;
    }
    int options_done = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0))
            return 1;
        if (!options_done && strcmp(arg, "--") == 0)
            options_done = 1;
        else if (!options_done && strncmp(arg, "--", 2) == 0 && arg[2]) {
            if (parse_option(opts, argc, argv, &i, out) < 0)
                return -1;
        } else if (!options_done && arg[0] == '-' && arg[1]) {
            snprintf(out->error, sizeof out->error, "unknown option %s", arg);
            return -1;
        } else if (out->n_positional >= max_pos || out->n_positional >= CTL_POSITIONAL_MAX) {
            snprintf(out->error, sizeof out->error, "unexpected argument '%s'", arg);
            return -1;
        } else
            out->positional[out->n_positional++] = arg;
    }
    if (out->n_positional < min_pos) {
        snprintf(out->error, sizeof out->error, "missing argument");
        return -1;
    }
    return fill_unset(opts, out);
}

const char *ctl_arg_str(const ctl_opt_t *opts, const char *name)
{
    const ctl_opt_t *o = ctl_arg(opts, name);
    return o && o->value ? o->value : "";
}

long ctl_arg_int(const ctl_opt_t *opts, const char *name)
{
    const ctl_opt_t *o = ctl_arg(opts, name);
    return o && o->value ? strtol(o->value, NULL, 10) : 0;
}

int ctl_arg_flag(const ctl_opt_t *opts, const char *name)
{
    const ctl_opt_t *o = ctl_arg(opts, name);
    return o && o->value != NULL;
}

void ctl_args_help(const ctl_opt_t *opts, const char *usage, const char *summary)
{
    printf("Usage: %s\n%s\n\nOptions:\n", usage, summary);
    for (const ctl_opt_t *o = opts; o->name; o++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", o->name,
                 o->type == CTL_ARG_FLAG ? "" : o->type == CTL_ARG_INT ? " N" : " VALUE");
        printf("  %-24s %s", flag, o->help);
        if (o->type == CTL_ARG_LIST)
            printf(" (repeatable)");
        if (o->env)
            printf(" [env %s]", o->env);
        if (o->def && *o->def)
            printf(" [default %s]", o->def);
        else if (!o->def && o->type != CTL_ARG_FLAG && o->type != CTL_ARG_LIST)
            printf(" (required)");
        printf("\n");
    }
    printf("  %-24s %s\n", "--help", "print this help and exit");
}
