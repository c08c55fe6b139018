/* The visitor's survey, offline message and transcript request
 * (docs/ROUTER.md "Visitor forms"); visitor_forms.c. */
#ifndef BESEDA_ROUTER_VISITOR_FORMS_H
#define BESEDA_ROUTER_VISITOR_FORMS_H

#include "router.h"

/* RouterRequest.survey, .offline, .transcript -> the store -> RouterReply.ok. */
void visitor_form(router_t *self, job_t *job);
void visitor_form_on_reply(router_t *self, job_t *job, Beseda__StoreReply *reply);

#endif
