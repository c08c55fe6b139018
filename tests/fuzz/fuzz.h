/* Shared by the libFuzzer targets in this folder (docs/TESTING.md "Fuzzing").
 *
 * Each fuzz_<process>_<thing>.c defines LLVMFuzzerTestOneInput and is linked
 * like a unit test: with build-fuzz/lib<process>.a and the common library,
 * all compiled by clang with -fsanitize=fuzzer-no-link,address,undefined.
 * A target fails by crashing: a sanitizer report, or FUZZ_CHECK on a property
 * the code promises (valid JSON out, a round trip that keeps every field). */
#ifndef BESEDA_FUZZ_H
#define BESEDA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, what)                                                    \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz check failed at %s:%d: %s (%s)\n", __FILE__,    \
                    __LINE__, what, #cond);                                       \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* A NUL-terminated copy of the input (the processes see C strings where the
 * wire gives them: protobuf-c strings, argv, tokens). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Splits the input at the first occurrence of sep (a rare byte sequence);
 * the first part goes to *a, the rest (after sep) to *b. */
static inline void fuzz_split(const uint8_t *data, size_t size, const char *sep,
                              const uint8_t **a, size_t *alen, const uint8_t **b, size_t *blen)
{
    size_t seplen = strlen(sep);
    *a = data;
    *alen = size;
    *b = data + size;
    *blen = 0;
    for (size_t i = 0; i + seplen <= size; i++)
        if (memcmp(data + i, sep, seplen) == 0) {
            *alen = i;
            *b = data + i + seplen;
            *blen = size - i - seplen;
            return;
        }
}

#endif
