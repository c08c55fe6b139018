/* Structured logs: one JSON object per line on stderr.
 * {"ts":"2026-11-23T18:00:00.123Z","level":"info","process":"router","msg":"...", ...}
 * The level threshold comes from BESEDA_LOG_LEVEL (debug|info|warn|error). */
#ifndef BESEDA_LOG_H
#define BESEDA_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } beseda_log_level_t;

void beseda_log_init(const char *process);
/* Extra fields as key/value string pairs ending with NULL:
 *   beseda_log(LOG_INFO, "assigned", "conversation", id, "operator", op, NULL); */
void beseda_log(beseda_log_level_t level, const char *msg, ...);

#define log_debug(...) beseda_log(LOG_DEBUG, __VA_ARGS__, NULL)
#define log_info(...)  beseda_log(LOG_INFO, __VA_ARGS__, NULL)
#define log_warn(...)  beseda_log(LOG_WARN, __VA_ARGS__, NULL)
#define log_error(...) beseda_log(LOG_ERROR, __VA_ARGS__, NULL)

#endif
