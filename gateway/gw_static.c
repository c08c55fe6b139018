/* URL path -> file under the web root. A whitelist of prefixes rather than
 * "everything under the root", so that nothing put in web/ by mistake (a
 * backup, a map file) is served. */
#include "gw_static.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *ext;
    const char *mime;
} MIME_TYPES[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".gif", "image/gif" },
    { ".ico", "image/x-icon" },
    { ".webp", "image/webp" },
    { ".woff2", "font/woff2" },
    { ".mp3", "audio/mpeg" },
    { ".ogg", "audio/ogg" },
    { ".wav", "audio/wav" },
    { ".txt", "text/plain; charset=utf-8" },
    { NULL, NULL }
};

const char *gw_static_mime(const char *path)
{
    size_t len = strlen(path);
    for (int i = 0; MIME_TYPES[i].ext; i++) {
        size_t n = strlen(MIME_TYPES[i].ext);
        if (len > n && strcmp(path + len - n, MIME_TYPES[i].ext) == 0)
            return MIME_TYPES[i].mime;
    }
    return "application/octet-stream";
}

/* Refuses traversal and oddities: every segment must be a plain name. */
static int safe_path(const char *uri)
{
    if (uri[0] != '/' || strchr(uri, '\\') || strstr(uri, "//") || strstr(uri, "/."))
        return 0;
    for (const unsigned char *p = (const unsigned char *) uri; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int gw_static_map(const char *root, const char *uri, gw_static_file_t *out)
{
    if (!uri || !safe_path(uri))
        return -1;
    const char *rel;
    const char *index = "";
    if (strcmp(uri, "/") == 0)
        rel = "/demo.html";
    else if (strcmp(uri, "/demo.html") == 0 || strcmp(uri, "/widget.js") == 0
             || has_prefix(uri, "/widget/") || has_prefix(uri, "/console/"))
        rel = uri;
    else
        return -1;           /* "/console" too: the server redirects it to "/console/" */
    if (rel[strlen(rel) - 1] == '/')
        index = "index.html";
    int n = snprintf(out->path, sizeof out->path, "%s%s%s", root, rel, index);
    if (n < 0 || (size_t) n >= sizeof out->path)
        return -1;
    out->mime = gw_static_mime(out->path);
    out->csp = has_prefix(uri, "/widget/") ? GW_CSP_WIDGET : GW_CSP_PAGE;
    return 0;
}
