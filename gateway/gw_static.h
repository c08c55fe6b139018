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

#endif
