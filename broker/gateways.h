/* What the broker knows about gateways: the load each one reported last
 * (["BC1","STAT",GatewayStats] every second), for besedactl status.
 * Gateways are clients, not workers: nothing is routed by this table. */
#ifndef BESEDA_GATEWAYS_H
#define BESEDA_GATEWAYS_H

#include <stddef.h>
#include <stdint.h>

#define GATEWAYS_FORGET_MS 10000   /* a gateway silent this long is gone */
#define GATEWAYS_MAX        1024   /* reports from more names are ignored */

typedef struct {
    char *name;
    uint32_t visitors;
    uint32_t operators;
    int64_t seen_ms;               /* monotonic: last report */
} gateway_stat_t;

typedef struct gateways_t gateways_t;

gateways_t *gateways_new(void);
void gateways_destroy(gateways_t **self_p);
/* Records a report; 0, or -1 if refused (table full, no memory). */
int gateways_report(gateways_t *self, const char *name, uint32_t visitors, uint32_t operators,
                    int64_t now_ms);
/* Forgets gateways silent for GATEWAYS_FORGET_MS. */
void gateways_expire(gateways_t *self, int64_t now_ms);
size_t gateways_size(gateways_t *self);
gateway_stat_t *gateways_first(gateways_t *self);
gateway_stat_t *gateways_next(gateways_t *self);

#endif
