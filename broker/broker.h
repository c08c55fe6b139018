/* The broker: one loop over a ROUTER socket (clients and workers) and an
 * XSUB/XPUB pair (deliveries). See common/bus.h for the frames. */
#ifndef BESEDA_BROKER_H
#define BESEDA_BROKER_H

#include "metrics.h"
#include <signal.h>

typedef struct broker_t broker_t;

broker_t *broker_new(const char *endpoint, const char *pub_endpoint, const char *sub_endpoint);
void broker_destroy(broker_t **self_p);
/* Counts into metrics from now on (call before broker_run; not owned). */
void broker_attach_metrics(broker_t *self, beseda_metrics_t *metrics);
/* Runs until *stop becomes non-zero. Returns 0 on a clean stop. */
int broker_run(broker_t *self, volatile sig_atomic_t *stop);

#endif
