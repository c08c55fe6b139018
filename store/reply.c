/* Replies that are one JSON document (reply.h). */
#include "reply.h"

store_err_t store_reply_json(Beseda__StoreReply *reply, store_mem_t *mem, const char *json)
{
    Beseda__ApiDocument *d = store_mem_alloc(mem, sizeof *d);
    char *copy = store_mem_strdup(mem, json);
    if (!d || !copy)
        return STORE_INTERNAL;
    beseda__api_document__init(d);
    d->json = copy;
    reply->body_case = BESEDA__STORE_REPLY__BODY_DOCUMENT;
    reply->document = d;
    return STORE_OK;
}
