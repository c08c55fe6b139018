/* Broker epochs are uint64 on the wire and bigint in PostgreSQL. */
#ifndef STORE_EPOCH_H
#define STORE_EPOCH_H

#include <stdint.h>
#include <stdio.h>

#define EPOCH_TEXT_LEN 24

/* Decimal text of the epoch, clamped to the bigint range. */
static inline void store_epoch_text(uint64_t epoch, char out[EPOCH_TEXT_LEN])
{
    snprintf(out, EPOCH_TEXT_LEN, "%llu",
             (unsigned long long) (epoch > INT64_MAX ? (uint64_t) INT64_MAX : epoch));
}

#endif
