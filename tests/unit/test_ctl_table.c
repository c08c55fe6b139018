/* besedactl's table cells: UTF-8 names cut on a character boundary and
 * padded by display width, so columns line up for Cyrillic, CJK and emoji. */
#include "check.h"
#include "table.h"
#include <string.h>

/* True if s is valid UTF-8 (no character cut in half). */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

static void test_width(void)
{
    CHECK(ctl_text_width("Anna") == 4, "ASCII: one column a byte");
    CHECK(ctl_text_width("Анна Смирнова") == 13, "Cyrillic: one column a character, not two bytes");
    CHECK(ctl_text_width("王小明") == 6, "CJK: two columns a character");
    CHECK(ctl_text_width("e\xCC\x81") == 1, "a combining accent takes no column");
    CHECK(ctl_text_width("") == 0 && ctl_text_width(NULL) == 0, "empty and NULL");
}

static void test_cut_and_pad(void)
{
    char out[256];
    ctl_cell(out, sizeof out, "Анна Смирнова-Петровская", 20, 1);
    CHECK(valid_utf8(out), "a long Cyrillic name is cut on a character boundary");
    CHECK(ctl_text_width(out) == 20, "and takes exactly 20 columns");
    CHECK(strcmp(out, "Анна Смирнова-Петро\xE2\x80\xA6") == 0, "19 characters and an ellipsis");

    ctl_cell(out, sizeof out, "Анна", 20, 1);
    CHECK(ctl_text_width(out) == 20 && strncmp(out, "Анна ", strlen("Анна ")) == 0,
          "a short Cyrillic name is padded to 20 columns (16 spaces, not 12)");
    CHECK(strlen(out) == strlen("Анна") + 16, "padding counts columns, not bytes");

    ctl_cell(out, sizeof out, "王小明王小明王小明王小明", 9, 1);
    CHECK(valid_utf8(out) && ctl_text_width(out) == 9, "wide characters: cut whole, padded to the width");
    CHECK(strcmp(out, "王小明王\xE2\x80\xA6") == 0, "4 wide characters (8 columns) and the ellipsis");

    ctl_cell(out, sizeof out, "exactly-twenty-chars", 20, 1);
    CHECK(strcmp(out, "exactly-twenty-chars") == 0, "a name of exactly the width is not cut");

    ctl_cell(out, sizeof out, "Анна", 20, 0);
    CHECK(strcmp(out, "Анна") == 0, "pad 0: no trailing spaces");

    ctl_cell(out, 8, "Анна Смирнова", 20, 1);
    CHECK(valid_utf8(out) && strlen(out) < 8, "a small buffer still ends on a character boundary");

    ctl_cell(out, sizeof out, "ab\xFF" "cd", 4, 1);
    CHECK(ctl_text_width(out) == 4, "a byte that is not UTF-8 counts one column and does not stop the cell");
}

int main(void)
{
    test_width();
    test_cut_and_pad();
    return CHECK_DONE();
}
