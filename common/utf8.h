/* UTF-8 text measured in characters (code points), as the limits in
 * docs/PROTOCOL.md are. */
#ifndef BESEDA_UTF8_H
#define BESEDA_UTF8_H

#include <stddef.h>

/* Code points in s, which must be valid UTF-8 (jansson and the codecs
 * guarantee it): every byte that is not a continuation byte starts one. */
size_t beseda_utf8_chars(const char *s);

#endif
