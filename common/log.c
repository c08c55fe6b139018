/* JSON-lines logger. Written by hand rather than through jansson so that the
 * common library has no JSON dependency; values are escaped per RFC 8259. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

static const char *log_process = "beseda";
static beseda_log_level_t log_threshold = BLOG_INFO;
static const char *LEVEL_NAMES[] = { "debug", "info", "warn", "error" };

void beseda_log_init(const char *process)
{
    log_process = process;
    const char *lvl = getenv("BESEDA_LOG_LEVEL");
    if (!lvl)
        return;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(lvl, LEVEL_NAMES[i]) == 0) {
            log_threshold = (beseda_log_level_t) i;
            return;
        }
    /* A typo must not silently hide (or flood) the logs: say so, keep info. */
    beseda_log(BLOG_WARN, "unknown log level; using info", "log_level", lvl,
               "expected", "debug, info, warn or error", NULL);
}

static void put_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void beseda_log(beseda_log_level_t level, const char *msg, ...)
{
    if (level < log_threshold)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Build the line in memory and write it with one call so that lines of
     * concurrent threads never interleave. */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return;
    fprintf(out, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"process\":", ts,
            (long) (tv.tv_usec / 1000), LEVEL_NAMES[level]);
    put_escaped(out, log_process);
    fputs(",\"msg\":", out);
    put_escaped(out, msg);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        fputc(',', out);
        put_escaped(out, key);
        fputc(':', out);
        put_escaped(out, value);
    }
    va_end(ap);
    fputs("}\n", out);
    fclose(out);
    fwrite(buf, 1, len, stderr);
    free(buf);
}
