/* Table-driven configuration, in the manner of Redis: one table per process
 * (name, environment variable, default, help). The same table parses
 * `--name value` / `--name=value` flags, reads the environment, and prints
 * `--help`. Flags win over the environment, which wins over the default. */
#ifndef BESEDA_CONFIG_H
#define BESEDA_CONFIG_H

typedef enum { OPT_STRING, OPT_INT } beseda_opt_type_t;

typedef struct {
    const char *name;          /* flag name without dashes, e.g. "broker" */
    const char *env;           /* environment variable, e.g. "BESEDA_BROKER" */
    beseda_opt_type_t type;
    const char *def;           /* default as text; NULL = required */
    const char *help;
    const char *value;         /* filled by beseda_config_parse */
} beseda_opt_t;

/* Returns 0 on success, 1 if --help was printed (caller exits 0), -1 on a
 * bad flag or value (a message was printed; caller exits 2).
 * The table ends with an entry whose name is NULL. */
int beseda_config_parse(beseda_opt_t *table, const char *process,
                        const char *summary, int argc, char **argv);
const char *beseda_config_str(const beseda_opt_t *table, const char *name);
long beseda_config_int(const beseda_opt_t *table, const char *name);
/* Prints the table as a Markdown table (used to generate docs/CONFIG.md). */
void beseda_config_markdown(const beseda_opt_t *table, const char *process);

#endif
