/* beseda_utf8_chars: characters, not bytes. */
#include "check.h"
#include "utf8.h"

int main(void)
{
    CHECK(beseda_utf8_chars("") == 0, "the empty string has no characters");
    CHECK(beseda_utf8_chars("abc") == 3, "ASCII: one character a byte");
    CHECK(beseda_utf8_chars("\xd1\x8f\xd1\x8f" "ab") == 4, "two-byte Cyrillic letters count once each");
    CHECK(beseda_utf8_chars("\xe2\x82\xac") == 1, "a three-byte character counts once");
    CHECK(beseda_utf8_chars("\xf0\x9f\x98\x80!") == 2, "a four-byte emoji counts once");
    return CHECK_DONE();
}
