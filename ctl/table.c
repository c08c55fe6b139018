#include "table.h"
#include <string.h>

/* One code point at s (n bytes); 0 and *len 1 for a byte that does not start
 * valid UTF-8. */
static unsigned decode(const unsigned char *s, size_t *len)
{
    unsigned c = s[0];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0) {
        *len = 1;
        return 0xFFFD;
    }
    unsigned cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = n;
    return cp;
}

int ctl_char_width(unsigned cp)
{
    if (cp == 0)
        return 0;
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF)
        || (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0xFE00 && cp <= 0xFE0F)
        || cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF)
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) || (cp >= 0x3041 && cp <= 0x33FF)
        || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF)
        || (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F)
        || (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F)
        || (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t ctl_text_width(const char *s)
{
    size_t w = 0, len;
    for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p += len)
        w += (size_t) ctl_char_width(decode(p, &len));
    return w;
}

void ctl_cell(char *out, size_t size, const char *s, size_t width, int pad)
{
    static const char ellipsis[] = "\xE2\x80\xA6";   /* U+2026, one column */
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    size_t o = 0, w = 0, len;
    if (size == 0)
        return;
    int cut = width > 0 && ctl_text_width((const char *) p) > width;
    size_t room = cut ? width - 1 : width;     /* the ellipsis takes the last column */
    for (; *p; p += len) {
        unsigned cp = decode(p, &len);
        size_t cw = (size_t) ctl_char_width(cp);
        if (width > 0 && w + cw > room)
            break;
        if (o + len + 1 > size)
            break;
        memcpy(out + o, p, len);
        o += len;
        w += cw;
    }
    if (cut && o + sizeof ellipsis <= size) {
        memcpy(out + o, ellipsis, sizeof ellipsis - 1);
        o += sizeof ellipsis - 1;
        w++;
    }
    while (pad && w < width && o + 2 <= size) {
        out[o++] = ' ';
        w++;
    }
    out[o] = '\0';
}
