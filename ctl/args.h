/* besedactl's command-line parsing. The process-wide config table
 * (common/config.h) knows only `--name value`; besedactl also needs boolean
 * flags (--json), repeated flags (--key K --key L) and positional arguments
 * (drain WORKER), so it has this small table-driven parser of its own.
 * `--name value` and `--name=value` both work; flags win over the
 * environment, which wins over the default; `--` ends the options. */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include <stddef.h>

#define CTL_LIST_MAX 100          /* values of one repeated option */
#define CTL_POSITIONAL_MAX 4

typedef enum { CTL_ARG_STRING, CTL_ARG_INT, CTL_ARG_FLAG, CTL_ARG_LIST } ctl_arg_type_t;

typedef struct {
    const char *name;             /* without dashes; NULL ends the table */
    const char *env;              /* environment variable or NULL */
    ctl_arg_type_t type;
    const char *def;              /* default text; NULL = required (STRING, INT) */
    const char *help;
    /* filled by ctl_args_parse */
    const char *value;            /* STRING, INT: the text; FLAG: "1" or NULL */
    const char *values[CTL_LIST_MAX];   /* LIST: every value given, in order */
    size_t n_values;
} ctl_opt_t;

typedef struct {
    const char *positional[CTL_POSITIONAL_MAX];
    size_t n_positional;
    char error[256];              /* why parsing failed */
} ctl_parsed_t;

/* 0 parsed, 1 --help was asked for, -1 usage error (out->error says why).
 * min_pos..max_pos positional arguments are required. */
int ctl_args_parse(ctl_opt_t *opts, int argc, char **argv, size_t min_pos, size_t max_pos,
                   ctl_parsed_t *out);
const char *ctl_arg_str(const ctl_opt_t *opts, const char *name);
long ctl_arg_int(const ctl_opt_t *opts, const char *name);
int ctl_arg_flag(const ctl_opt_t *opts, const char *name);
const ctl_opt_t *ctl_arg(const ctl_opt_t *opts, const char *name);
/* Prints "Usage: <usage>\n<summary>\n" and the options. */
void ctl_args_help(const ctl_opt_t *opts, const char *usage, const char *summary);

#endif
