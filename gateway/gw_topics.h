/* Which connections of this gateway want which pub/sub topic.
 *
 * The SUB socket subscribes a topic once, however many connections want it:
 * gw_topics_add says when the first connection arrives (subscribe now) and
 * gw_topics_remove when the last one leaves (unsubscribe now). */
#ifndef BESEDA_GW_TOPICS_H
#define BESEDA_GW_TOPICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_topics_t gw_topics_t;

gw_topics_t *gw_topics_new(void);
void gw_topics_destroy(gw_topics_t **self_p);
/* 1: the topic had no connection before (subscribe it); 0: it had one, or
 * this connection was already there; -1: out of memory. */
int gw_topics_add(gw_topics_t *self, const char *topic, uint64_t conn_id);
/* 1: that was the last connection (unsubscribe it); 0 otherwise. */
int gw_topics_remove(gw_topics_t *self, const char *topic, uint64_t conn_id);
int gw_topics_has(gw_topics_t *self, const char *topic, uint64_t conn_id);
/* A copy of the topic's connections (malloc'd, *count set; NULL and 0 when
 * none), so that callers may change subscriptions while walking it. */
uint64_t *gw_topics_conns(gw_topics_t *self, const char *topic, size_t *count);
size_t gw_topics_size(gw_topics_t *self);

#endif
