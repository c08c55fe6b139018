/* Checks on request fields before they reach SQL: a malformed UUID or
 * invalid UTF-8 would make PostgreSQL raise, and inside a group commit that
 * would abort other clients' appends, so they are refused here instead. */
#ifndef STORE_VALIDATE_H
#define STORE_VALIDATE_H

#include "store.h"
#include <stddef.h>

/* Valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), no NUL
 * in the first len bytes. */
int store_valid_utf8(const char *s, size_t len);
/* A string field: UTF-8 and at most max_bytes long. */
int store_valid_text(const char *s, size_t max_bytes);
int store_valid_uuid(const char *s);
/* Everything beseda_append() needs to not raise. */
store_err_t store_validate_append(const Beseda__StoreAppend *req);
int store_valid_page(const Beseda__PageInfo *page);
/* How many of the first n messages fit in budget bytes (text plus
 * STORE_MSG_OVERHEAD each); at least one when n > 0, so that a reader
 * always makes progress. */
size_t store_msgs_within(Beseda__ChatMessage *const *msgs, size_t n, size_t budget);

#endif
