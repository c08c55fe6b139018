/* Arena as a singly linked list of blocks: replies are small (a few dozen
 * nodes, at most a few thousand for history), so nothing cleverer pays. */
#include "mem.h"
#include <stdlib.h>
#include <string.h>

typedef struct block_t {
    struct block_t *next;
    PGresult *res;              /* set for kept results; then no payload */
    max_align_t payload[];
} block_t;

struct store_mem_t {
    block_t *blocks;
};

store_mem_t *store_mem_new(void)
{
    return calloc(1, sizeof(store_mem_t));
}

void store_mem_destroy(store_mem_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    block_t *b = (*self_p)->blocks;
    while (b) {
        block_t *next = b->next;
        if (b->res)
            PQclear(b->res);
        free(b);
        b = next;
    }
    free(*self_p);
    *self_p = NULL;
}

void *store_mem_alloc(store_mem_t *self, size_t size)
{
    if (size > (size_t) -1 - sizeof(block_t))
        return NULL;
    block_t *b = calloc(1, sizeof(block_t) + size);
    if (!b)
        return NULL;
    b->next = self->blocks;
    self->blocks = b;
    return b->payload;
}

char *store_mem_strdup(store_mem_t *self, const char *s)
{
    size_t len = strlen(s);
    char *copy = store_mem_alloc(self, len + 1);
    if (copy)
        memcpy(copy, s, len + 1);
    return copy;
}

PGresult *store_mem_keep(store_mem_t *self, PGresult *res)
{
    block_t *b = calloc(1, sizeof(block_t));
    if (!b) {
        PQclear(res);
        return NULL;
    }
    b->res = res;
    b->next = self->blocks;
    self->blocks = b;
    return res;
}
