/* Small helpers every process needs: time, ids. */
#ifndef BESEDA_UTIL_H
#define BESEDA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37   /* 36 characters and the NUL */

int64_t beseda_now_ms(void);          /* wall clock, milliseconds since the epoch */
int64_t beseda_mono_ms(void);         /* monotonic clock */
/* Random version-4 UUID in lower-case text form (libsodium's randombytes). */
void beseda_uuid(char out[UUID_STR_LEN]);
/* True if s is a UUID in canonical lower- or upper-case text form. */
int beseda_is_uuid(const char *s);

#endif
