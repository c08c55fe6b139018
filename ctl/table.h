/* Text table cells for besedactl's listings: names are UTF-8 (Cyrillic,
 * CJK, emoji), so a column is cut on a character boundary and padded by
 * display width (terminal columns), never by bytes. */
#ifndef CTL_TABLE_H
#define CTL_TABLE_H

#include <stddef.h>

/* Terminal columns of one code point: 0 for combining marks and zero-width
 * characters, 2 for East Asian wide and emoji, else 1. */
int ctl_char_width(unsigned cp);
/* Display width of a UTF-8 string (a byte that is not valid UTF-8 counts 1). */
size_t ctl_text_width(const char *s);
/* s fitted to exactly `width` columns into out: cut on a character boundary
 * with "…" as the last column when it is wider, padded with spaces when it
 * is narrower (width 0: s untouched but padded to nothing). With pad 0 the
 * trailing spaces are left out (the last column). out always ends in NUL. */
void ctl_cell(char *out, size_t size, const char *s, size_t width, int pad);

#endif
