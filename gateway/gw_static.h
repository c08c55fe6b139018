/* Static files: which URL paths map to which files under the web root, with
 * which Content-Type and Content-Security-Policy. Pure, so the mapping (and
 * its refusal of anything outside the root) is unit-tested. */
#ifndef BESEDA_GW_STATIC_H
#define BESEDA_GW_STATIC_H

#include <stddef.h>

/* The widget frame is embedded in customers' pages: any site may frame it.
 * The console and the demo page may not be framed by others. Scripts only
 * from the gateway itself (no inline script: stored XSS cannot run), styles
 * may be inline, WebSockets to the gateway. */
#define GW_CSP_WIDGET  "default-src 'self'; script-src 'self'; style-src 'self'; " \
                       "img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; " \
                       "base-uri 'none'; form-action 'self'; frame-ancestors *"
#define GW_CSP_PAGE    "default-src 'self'; script-src 'self'; style-src 'self'; " \
                       "img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; " \
                       "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

typedef struct {
    char path[4096];           /* file to serve: <root>/<relative> */
    const char *mime;
    const char *csp;
} gw_static_file_t;

/* Maps a request path (no query string) to a file under root. Served: "/"
 * (demo.html), /demo.html, /widget.js, /widget/..., /console/... ; a path
 * ending in "/" gets index.html. Returns 0 on a mapping, -1 for a path that is
 * not served (unknown, or with "..", "//", a backslash, a dot-file). It does
 * not check that the file exists. */
int gw_static_map(const char *root, const char *uri, gw_static_file_t *out);
const char *gw_static_mime(const char *path);

/* ---- the served files, read once into memory (docs/GATEWAY.md) ----------
 * The web root is the built tree (scripts/build-web.mjs): hashed names
 * (frame.3f9a1c2b.js) are immutable, the entry points (widget.js, the HTML
 * pages) are revalidated with a strong ETag. Each file may have a .gz and a
 * .br twin, precompressed at build time. */
enum { GW_ENC_IDENTITY, GW_ENC_GZIP, GW_ENC_BR, GW_ENC_COUNT };

typedef struct {
    const char *mime;
    const char *csp;
    int immutable;                 /* a content-hashed name */
    char etag[40];                 /* "<hash>" (quoted) of the identity bytes */
    char *data[GW_ENC_COUNT];      /* NULL: no such variant (identity always present) */
    size_t len[GW_ENC_COUNT];
} gw_static_entry_t;

typedef struct gw_static_t gw_static_t;

/* Reads every served file under root (widget.js, demo.html, widget/,
 * console/) with its twins. NULL only on out-of-memory; a missing root is
 * an empty table (every path then 404). */
gw_static_t *gw_static_load(const char *root);
void gw_static_destroy(gw_static_t **self_p);
size_t gw_static_count(const gw_static_t *self);
/* The entry for a request path (no query), or NULL (404): the same rules as
 * gw_static_map. */
const gw_static_entry_t *gw_static_find(const gw_static_t *self, const char *uri);
/* Which variant to send for an Accept-Encoding header (NULL: none sent):
 * the acceptable one (q > 0) with the highest q among those the entry has,
 * br before gzip on a tie; identity when none. */
int gw_static_pick_encoding(const gw_static_entry_t *entry, const char *accept_encoding);
/* Whether an If-None-Match header names the entry's current bytes ("*", or
 * any listed tag equal to the ETag, W/ and the -gz/-br suffix ignored). */
int gw_static_etag_matches(const char *if_none_match, const char *etag);
/* Whether a file name carries a content hash: <name>.<8 hex>.<ext>. */
int gw_static_is_hashed(const char *path);
/* The ETag sent for a variant: the entry's with "-gz" / "-br" before the
 * closing quote (a strong tag must differ per encoding). */
void gw_static_variant_etag(const gw_static_entry_t *entry, int enc, char *out, size_t size);

#endif
