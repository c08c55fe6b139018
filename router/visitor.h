/* Visitor welcome (visitor.c). visitor_hello and visitor_on_hello are with
 * the other request handlers in router.h. */
#ifndef BESEDA_ROUTER_VISITOR_H
#define BESEDA_ROUTER_VISITOR_H

#include "router.h"

/* The routing answer for a visitor's welcome (StoreRoute). */
void visitor_on_route(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
