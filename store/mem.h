/* A per-reply arena: every allocation made while building one StoreReply (and
 * every PGresult whose strings the reply points into) is freed at once after
 * the reply is packed. Replies are trees of protobuf-c structs; freeing them
 * node by node would be most of the code otherwise. */
#ifndef STORE_MEM_H
#define STORE_MEM_H

#include <libpq-fe.h>
#include <stddef.h>

typedef struct store_mem_t store_mem_t;

store_mem_t *store_mem_new(void);
void store_mem_destroy(store_mem_t **self_p);
/* Zeroed memory owned by the arena; NULL when out of memory. */
void *store_mem_alloc(store_mem_t *self, size_t size);
char *store_mem_strdup(store_mem_t *self, const char *s);
/* The arena takes ownership of res and PQclear()s it on destroy. Returns res,
 * or NULL (having cleared res) when out of memory. */
PGresult *store_mem_keep(store_mem_t *self, PGresult *res);

#endif
