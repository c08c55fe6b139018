/* A blocking Redis connection that survives Redis going away.
 *
 * Redis is on loopback and every command is small, so the blocking hiredis
 * API with short timeouts is simpler than an async adapter and costs well
 * under a millisecond per call. When Redis is down every call returns NULL
 * at once (reconnects are tried at most every REDIS_RETRY_MS), so callers
 * treat NULL as "unknown" and carry on: presence reads mean nobody online,
 * writes are skipped. Redis holds only what heartbeats rebuild. */
#ifndef BESEDA_ROUTER_REDIS_H
#define BESEDA_ROUTER_REDIS_H

#include "metrics.h"
#include <hiredis/hiredis.h>

#define REDIS_CONNECT_TIMEOUT_MS 300
#define REDIS_COMMAND_TIMEOUT_MS 500
#define REDIS_RETRY_MS           1000

typedef struct redis_t redis_t;

/* Never connects here: the first command does. NULL only when out of memory. */
redis_t *redis_new(const char *host, int port);
void redis_destroy(redis_t **self_p);
/* Runs one command (hiredis format; every %s is one argument). Returns the
 * reply, to be freed with freeReplyObject, or NULL when Redis is unreachable
 * or answered an error (both logged). */
/* Counts round trips, failures and their time; up is 1 while Redis answers. */
void redis_set_metrics(redis_t *self, beseda_counter_t *calls, beseda_counter_t *errors,
                       beseda_histogram_t *latency, beseda_gauge_t *up);
redisReply *redis_cmd(redis_t *self, const char *format, ...);
/* Same with an argument vector (for commands with a variable argument count). */
redisReply *redis_cmd_argv(redis_t *self, int argc, const char **argv);

#endif
