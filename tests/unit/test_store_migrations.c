/* Migration files: which names count, in which order they run, and that two
 * files with one number are refused rather than run in a surprising order. */
#include "check.h"
#include "../../store/migrations.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_version_of_names(void)
{
    CHECK(store_migration_version("0001_init.sql") == 1, "0001_init.sql is version 1");
    CHECK(store_migration_version("0042_add_files.sql") == 42, "0042_add_files.sql is version 42");
    CHECK(store_migration_version("7_x.sql") == 7, "a number without leading zeros counts");
    CHECK(store_migration_version("0001_init.sql~") == -1, "an editor backup is not a migration");
    CHECK(store_migration_version("init.sql") == -1, "a name without a number is not a migration");
    CHECK(store_migration_version("0001init.sql") == -1, "the number must be followed by '_'");
    CHECK(store_migration_version("0001_.sql") == -1, "a migration needs a name after the number");
    CHECK(store_migration_version("README.md") == -1, "other files are ignored");
    CHECK(store_migration_version("1234567890_x.sql") == -1, "absurdly long numbers are refused");
}

static void test_sort(void)
{
    store_migration_t list[] = { { 10, "0010_c.sql" }, { 2, "0002_b.sql" }, { 1, "0001_a.sql" } };
    CHECK(store_migrations_sort(list, 3) == 0, "distinct versions sort");
    CHECK(list[0].version == 1 && list[1].version == 2 && list[2].version == 10,
          "numeric order, not text order (10 after 2)");
    store_migration_t dup[] = { { 3, "0003_a.sql" }, { 3, "3_b.sql" } };
    CHECK(store_migrations_sort(dup, 2) == -1, "two files with one number are refused");
}

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("SELECT 1;\n", f);
        fclose(f);
    }
}

static void test_list_directory(void)
{
    char dir[] = "/tmp/beseda-migrations-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "temporary directory");
        return;
    }
    touch(dir, "0010_later.sql");
    touch(dir, "0002_second.sql");
    touch(dir, "0001_first.sql");
    touch(dir, "notes.txt");
    store_migration_t *list = NULL;
    int n = store_migrations_list(dir, &list);
    CHECK(n == 3, "lists only the migration files");
    CHECK(n == 3 && strcmp(list[0].name, "0001_first.sql") == 0
          && strcmp(list[2].name, "0010_later.sql") == 0, "listed in version order");
    free(list);

    char buf[512];
    CHECK(store_migrations_locate(dir, buf, sizeof buf) == 0 && strcmp(buf, dir) == 0,
          "a configured directory is used as given");
    CHECK(store_migrations_locate("/nonexistent/beseda", buf, sizeof buf) == -1,
          "a configured directory that does not exist is an error, not a fallback");

    touch(dir, "0002_clash.sql");
    n = store_migrations_list(dir, &list);
    CHECK(n == -1 && list == NULL, "a directory with a duplicate number is refused");
    CHECK(store_migrations_list("/nonexistent/beseda", &list) == -1, "a missing directory is an error");

    const char *names[] = { "0010_later.sql", "0002_second.sql", "0001_first.sql", "notes.txt",
                            "0002_clash.sql" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_repository_migrations(void)
{
    /* The real directory, as the Makefile's tests run from the repo root. */
    store_migration_t *list = NULL;
    int n = store_migrations_list("store/migrations", &list);
    CHECK(n >= 1 && list[0].version == 1, "the repository's migrations list and start at 1");
    free(list);
}

/* Case-insensitive: does the text hold word? */
static int holds(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; *p; p++)
        if (strncasecmp(p, word, n) == 0)
            return 1;
    return 0;
}

/* Functions and triggers live in store/sql/ (applied on every start): a
 * migration that defines one restates what a function file holds, and the
 * file would silently replace it on the next start. */
static void test_no_function_in_migrations(void)
{
    store_migration_t *list = NULL;
    int n = store_migrations_list("store/migrations", &list);
    int clean = n > 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "store/migrations/%s", list[i].name);
        FILE *f = fopen(path, "rb");
        char *text = f ? calloc(1, MIGRATION_MAX_BYTES + 1) : NULL;
        if (text)
            fread(text, 1, MIGRATION_MAX_BYTES, f);
        if (f)
            fclose(f);
        /* Comment lines may name them; only statements count. */
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            while (*line == ' ' || *line == '\t')
                line++;
            if (strncmp(line, "--", 2) == 0)
                continue;
            if (holds(line, "CREATE FUNCTION") || holds(line, "CREATE OR REPLACE FUNCTION")
                || holds(line, "CREATE TRIGGER") || holds(line, "CREATE OR REPLACE TRIGGER")
                || holds(line, "CREATE PROCEDURE") || holds(line, "CREATE OR REPLACE PROCEDURE")) {
                printf("# %s: %s\n", list[i].name, line);
                clean = 0;
            }
        }
        if (!text)
            clean = 0;
        free(text);
    }
    free(list);
    CHECK(clean, "no migration defines a function or trigger (they live in store/sql/)");
}

int main(void)
{
    test_version_of_names();
    test_sort();
    test_list_directory();
    test_repository_migrations();
    test_no_function_in_migrations();
    return CHECK_DONE();
}
