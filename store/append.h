/* Group commit of appends. The worker gathers appends into a batch (up to
 * BESEDA_BATCH_MAX, waiting at most BESEDA_BATCH_WAIT_MS for more); the batch
 * runs as one transaction, one beseda_append() call per append, pipelined;
 * replies are built only after COMMIT succeeded. If anything fails, every
 * append of the batch is answered "unavailable": the router retries with the
 * same client message id, and the append dedupes, so nothing doubles. */
#ifndef STORE_APPEND_H
#define STORE_APPEND_H

#include "bus.h"
#include "store.h"
#include <stddef.h>
#include <stdint.h>

/* One received request. */
typedef struct {
    bus_request_t *request;          /* owned */
    Beseda__StoreRequest *msg;       /* owned (unpacked); NULL if undecodable */
    char *key;                       /* owned: client route + correlation id (resends share it) */
    uint64_t seq;                    /* arrival order */
    int64_t deadline_ms;             /* monotonic; 0 = none (the request carried no ttl_ms) */
} store_item_t;

void store_item_destroy(store_item_t **self_p);

typedef struct store_batch_t store_batch_t;

store_batch_t *store_batch_new(size_t max);
void store_batch_destroy(store_batch_t **self_p);
/* Takes ownership of *item_p (nulled) unless the batch is full (-1). */
int store_batch_add(store_batch_t *self, store_item_t **item_p);
size_t store_batch_count(const store_batch_t *self);
int store_batch_full(const store_batch_t *self);
store_item_t *store_batch_item(const store_batch_t *self, size_t i);
/* Destroys the items; the batch can be filled again. */
void store_batch_clear(store_batch_t *self);

/* The order to run the appends in: indices sorted by conversation id, stable.
 * Row locks are then taken in one global order, so two stores that briefly
 * share a conversation (ownership moving) cannot deadlock, and appends to one
 * conversation keep their arrival order. order has count entries. */
void store_batch_order(const store_batch_t *self, size_t *order);

/* Runs the batch and fills replies[i] (arena-allocated) for each item.
 * Invalid appends get "bad_request" and are left out of the transaction. */
void store_batch_commit(store_ctx_t *ctx, store_batch_t *self, Beseda__StoreReply **replies,
                        store_mem_t *mem);

#endif
