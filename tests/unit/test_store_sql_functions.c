/* The SQL function files (store/sql/): the compiled-in table is the
 * directory, byte for byte; each file defines its functions with CREATE OR
 * REPLACE (it is applied on every start) and no function is defined twice
 * (a file holds a function's current definition, not its history). Run from the repository root, as the Makefile's tests are. */
#include "check.h"
#include "../../store/sql_functions.h"
#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQL_DIR "store/sql"
#define SIG_MAX 512

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = n >= 0 ? malloc((size_t) n + 1) : NULL;
    if (text && fread(text, 1, (size_t) n, f) != (size_t) n) {
        free(text);
        text = NULL;
    }
    if (text)
        text[n] = '\0';
    fclose(f);
    return text;
}

static const store_sql_file_t *compiled(const char *name)
{
    size_t count;
    const store_sql_file_t *files = store_sql_files(&count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(files[i].file, name) == 0)
            return &files[i];
    return NULL;
}

static bool is_sql_name(const char *name)
{
    size_t len = strlen(name);
    return len > 4 && strcmp(name + len - 4, ".sql") == 0;
}

static void test_table_is_the_directory(void)
{
    DIR *d = opendir(SQL_DIR);
    CHECK(d != NULL, "store/sql exists");
    if (!d)
        return;
    size_t on_disk = 0, same = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_sql_name(e->d_name))
            continue;
        on_disk++;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SQL_DIR, e->d_name);
        char *text = read_text(path);
        const store_sql_file_t *f = compiled(e->d_name);
        if (f && text && strcmp(f->sql, text) == 0)
            same++;
        else
            printf("# %s: not compiled in, or compiled from another text\n", e->d_name);
        free(text);
    }
    closedir(d);
    size_t count;
    store_sql_files(&count);
    CHECK(on_disk > 0 && same == on_disk, "every file in store/sql is compiled in as it is on disk");
    CHECK(count == on_disk, "nothing compiled in that store/sql does not have");
}

/* Case-insensitive search from p; NULL if absent. */
static const char *find_ci(const char *p, const char *word)
{
    size_t n = strlen(word);
    for (; *p; p++)
        if (strncasecmp(p, word, n) == 0)
            return p;
    return NULL;
}

/* The signature after each "CREATE OR REPLACE FUNCTION ": the name and the
 * argument list, blanks collapsed ("beseda_x(p_a uuid, p_b text)"). */
static int function_signatures(const char *sql, char sigs[][SIG_MAX], int max)
{
    const char *kw = "CREATE OR REPLACE FUNCTION ";
    int n = 0;
    for (const char *p = find_ci(sql, kw); p && n < max; p = find_ci(p + 1, kw)) {
        size_t len = 0;
        for (const char *s = p + strlen(kw); *s && len < SIG_MAX - 2; s++) {
            if (isspace((unsigned char) *s)) {
                if (len > 0 && sigs[n][len - 1] != ' ')
                    sigs[n][len++] = ' ';
                continue;
            }
            sigs[n][len++] = *s;
            if (*s == ')')
                break;
        }
        sigs[n][len] = '\0';
        n++;
    }
    return n;
}

static void test_each_file_replaces(void)
{
    size_t count;
    const store_sql_file_t *files = store_sql_files(&count);
    static char seen[256][SIG_MAX];
    static const char *owner[256];
    int n_seen = 0;
    bool replaces = true, only_replace = true, once = true;
    for (size_t i = 0; i < count; i++) {
        static char names[16][SIG_MAX];
        int n = function_signatures(files[i].sql, names, 16);
        if (n == 0)
            replaces = false;
        /* A plain CREATE FUNCTION / CREATE TRIGGER fails on the second start. */
        if (find_ci(files[i].sql, "CREATE FUNCTION") || find_ci(files[i].sql, "CREATE TRIGGER")) {
            only_replace = false;
            printf("# %s: CREATE without OR REPLACE\n", files[i].file);
        }
        for (int k = 0; k < n; k++) {
            int j = 0;
            while (j < n_seen && strcmp(seen[j], names[k]) != 0)
                j++;
            if (j < n_seen) {
                once = false;
                printf("# %s in %s and %s\n", names[k], owner[j], files[i].file);
            } else if (j == n_seen && n_seen < 256) {
                memcpy(seen[n_seen], names[k], sizeof seen[n_seen]);
                owner[n_seen] = files[i].file;
                n_seen++;
            }
        }
    }
    CHECK(replaces, "every function file holds CREATE OR REPLACE FUNCTION");
    CHECK(only_replace, "no function file creates without OR REPLACE (it runs on every start)");
    CHECK(once, "no function (name and arguments) is defined twice, in one file or two");
}

int main(void)
{
    test_table_is_the_directory();
    test_each_file_replaces();
    return CHECK_DONE();
}
