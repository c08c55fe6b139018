/* Building replies that are one JSON document (ApiDocument): the HTTP API's
 * answers that the store writes whole (inbox, archive, mail outbox). */
#ifndef STORE_REPLY_H
#define STORE_REPLY_H

#include "store.h"

/* reply becomes a document holding a copy of json (in mem's arena);
 * STORE_INTERNAL when out of memory. */
store_err_t store_reply_json(Beseda__StoreReply *reply, store_mem_t *mem, const char *json);

#endif
