/* Passwords for new operators and resets: read from stdin (so they never
 * appear in `ps` or shell history) or generated here and printed once. */
#include "ctl.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* No look-alikes (0/O, 1/l/I), so a password read aloud or copied by hand
 * survives. */
static const char ALPHABET[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

static void generate(char *out, size_t size)
{
    size_t n = size - 1 < CTL_PASSWORD_GEN_CHARS ? size - 1 : CTL_PASSWORD_GEN_CHARS;
    for (size_t i = 0; i < n; i++)
        out[i] = ALPHABET[randombytes_uniform(sizeof ALPHABET - 1)];
    out[n] = '\0';
}

static int read_line(ctl_t *ctl, char *out, size_t size)
{
    if (!fgets(out, (int) size, stdin))
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "--password-stdin: nothing on stdin");
    size_t len = strcspn(out, "\r\n");
    if (out[len] == '\0' && !feof(stdin))
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "the password is longer than %d bytes",
                         CTL_PASSWORD_MAX_BYTES);
    out[len] = '\0';
    if (len < CTL_PASSWORD_MIN_BYTES)
        return ctl_error(ctl, CTL_EXIT_USAGE, "usage", "the password must be at least %d bytes",
                         CTL_PASSWORD_MIN_BYTES);
    return CTL_EXIT_OK;
}

int ctl_password(ctl_t *ctl, int from_stdin, char *out, size_t size, int *generated)
{
    *generated = !from_stdin;
    if (from_stdin)
        return read_line(ctl, out, size);
    if (sodium_init() < 0)
        return ctl_error(ctl, CTL_EXIT_FAILED, "internal", "libsodium failed to initialise");
    generate(out, size);
    return CTL_EXIT_OK;
}
