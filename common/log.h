/* Structured logs: one JSON object per line on stderr.
 * {"ts":"2026-11-23T18:00:00.123Z","level":"info","process":"router","msg":"...", ...}
 * The level threshold comes from BESEDA_LOG_LEVEL (debug|info|warn|error). */
#ifndef BESEDA_LOG_H
#define BESEDA_LOG_H

typedef enum { BLOG_DEBUG = 0, BLOG_INFO, BLOG_WARN, BLOG_ERROR } beseda_log_level_t;

void beseda_log_init(const char *process);
/* Extra fields as key/value string pairs ending with NULL:
 *   beseda_log(BLOG_INFO, "assigned", "conversation", id, "operator", op, NULL); */
void beseda_log(beseda_log_level_t level, const char *msg, ...);

#define log_debug(...) beseda_log(BLOG_DEBUG, __VA_ARGS__, NULL)
#define log_info(...)  beseda_log(BLOG_INFO, __VA_ARGS__, NULL)
#define log_warn(...)  beseda_log(BLOG_WARN, __VA_ARGS__, NULL)
#define log_error(...) beseda_log(BLOG_ERROR, __VA_ARGS__, NULL)

#endif
