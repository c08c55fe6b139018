/* URL path -> file under the web root. A whitelist of prefixes rather than
 * "everything under the root", so that nothing put in web/ by mistake (a
 * backup, a map file) is served. The served files are read once, at start,
 * into memory (about 200 KB with their .gz and .br twins): the gateway then
 * answers from there, with its own cache headers, ETag and 304, which
 * lws_serve_http_file cannot do. */
#include "gw_static.h"

#include <ctype.h>
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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

/* ------------------------------------------------------ the loaded files */

#define MAX_FILE_BYTES  (16u << 20)
#define MAX_FILES       4096

typedef struct {
    char *uri;                     /* "/widget/frame.3f9a1c2b.js" */
    gw_static_entry_t e;
} slot_t;

struct gw_static_t {
    slot_t *slots;                 /* sorted by uri */
    size_t n, cap;
};

static char *read_all(const char *path, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (size_t) st.st_size <= MAX_FILE_BYTES) {
        buf = malloc((size_t) st.st_size + 1);
        if (buf && fread(buf, 1, (size_t) st.st_size, f) != (size_t) st.st_size) {
            free(buf);
            buf = NULL;
        }
        if (buf)
            *len = (size_t) st.st_size;
    }
    fclose(f);
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int gw_static_is_hashed(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *ext = strrchr(base, '.');
    if (!ext || ext - base < 10 || ext[-9] != '.')
        return 0;
    for (const char *p = ext - 8; p < ext; p++)
        if (!isxdigit((unsigned char) *p) || isupper((unsigned char) *p))
            return 0;
    return 1;
}

/* One served file and its twins; 0 also for a file that is not served. */
static int add_file(gw_static_t *t, const char *root, const char *uri)
{
    gw_static_file_t f;
    if (ends_with(uri, ".gz") || ends_with(uri, ".br") || gw_static_map(root, uri, &f) < 0)
        return 0;
    if (t->n >= MAX_FILES)
        return 0;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        slot_t *s = realloc(t->slots, cap * sizeof *s);
        if (!s)
            return -1;
        t->slots = s;
        t->cap = cap;
    }
    slot_t *slot = &t->slots[t->n];
    memset(slot, 0, sizeof *slot);
    gw_static_entry_t *e = &slot->e;
    e->data[GW_ENC_IDENTITY] = read_all(f.path, &e->len[GW_ENC_IDENTITY]);
    slot->uri = strdup(uri);
    if (!e->data[GW_ENC_IDENTITY] || !slot->uri) {
        int out_of_memory = e->data[GW_ENC_IDENTITY] != NULL;   /* else unreadable: not served */
        free(e->data[GW_ENC_IDENTITY]);
        free(slot->uri);
        return out_of_memory ? -1 : 0;
    }
    static const char *const SUFFIX[GW_ENC_COUNT] = { NULL, ".gz", ".br" };
    for (int enc = GW_ENC_GZIP; enc < GW_ENC_COUNT; enc++) {
        char twin[sizeof f.path + 4];
        snprintf(twin, sizeof twin, "%s%s", f.path, SUFFIX[enc]);
        e->data[enc] = read_all(twin, &e->len[enc]);
        /* A twin that saves nothing is not worth the header. */
        if (e->data[enc] && e->len[enc] >= e->len[GW_ENC_IDENTITY]) {
            free(e->data[enc]);
            e->data[enc] = NULL;
        }
    }
    unsigned char hash[16];
    crypto_generichash(hash, sizeof hash, (const unsigned char *) e->data[GW_ENC_IDENTITY],
                       e->len[GW_ENC_IDENTITY], NULL, 0);
    e->etag[0] = '"';
    for (size_t i = 0; i < sizeof hash; i++)
        snprintf(e->etag + 1 + 2 * i, 3, "%02x", hash[i]);
    strcat(e->etag, "\"");
    e->mime = f.mime;
    e->csp = f.csp;
    e->immutable = gw_static_is_hashed(uri);
    t->n++;
    return 0;
}

/* Walks dir (root + rel) for files; only the served folders are entered. */
static int walk(gw_static_t *t, const char *root, const char *rel, int depth)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s", root, rel);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char uri[1024], path[4096 + 1024];
        int n = snprintf(uri, sizeof uri, "%s/%s", rel, de->d_name);
        if (n < 0 || (size_t) n >= sizeof uri)
            continue;
        snprintf(path, sizeof path, "%s%s", root, uri);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 8 && (depth > 0 || strcmp(de->d_name, "widget") == 0
                              || strcmp(de->d_name, "console") == 0))
                rc = walk(t, root, uri, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rc = add_file(t, root, uri);
        }
    }
    closedir(d);
    return rc;
}

static int slot_cmp(const void *a, const void *b)
{
    return strcmp(((const slot_t *) a)->uri, ((const slot_t *) b)->uri);
}

gw_static_t *gw_static_load(const char *root)
{
    gw_static_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (walk(t, root, "", 0) < 0) {
        gw_static_destroy(&t);
        return NULL;
    }
    if (t->n)
        qsort(t->slots, t->n, sizeof *t->slots, slot_cmp);
    return t;
}

void gw_static_destroy(gw_static_t **self_p)
{
    gw_static_t *t = *self_p;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->slots[i].uri);
        for (int enc = 0; enc < GW_ENC_COUNT; enc++)
            free(t->slots[i].e.data[enc]);
    }
    free(t->slots);
    free(t);
    *self_p = NULL;
}

size_t gw_static_count(const gw_static_t *self)
{
    return self ? self->n : 0;
}

const gw_static_entry_t *gw_static_find(const gw_static_t *self, const char *uri)
{
    gw_static_file_t f;
    if (!self || !self->n || gw_static_map("", uri, &f) < 0)
        return NULL;
    slot_t key = { .uri = f.path };
    const slot_t *s = bsearch(&key, self->slots, self->n, sizeof *self->slots, slot_cmp);
    return s ? &s->e : NULL;
}

/* The q of one coding in an Accept-Encoding header: -1 when not named. */
static double coding_q(const char *header, const char *coding)
{
    double q = -1;
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *name = p;
        while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t) (p - name);
        double item_q = 1;
        while (*p && *p != ',') {          /* parameters: only q counts */
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                    char *after;
                    double v = strtod(p + 2, &after);
                    item_q = after == p + 2 || v < 0 ? 0 : v > 1 ? 1 : v;
                    p = after;
                    continue;
                }
            }
            if (*p)
                p++;
        }
        if (n && n == strlen(coding) && strncasecmp(name, coding, n) == 0)
            q = item_q;
    }
    return q;
}

int gw_static_pick_encoding(const gw_static_entry_t *e, const char *accept_encoding)
{
    if (!accept_encoding || !*accept_encoding)
        return GW_ENC_IDENTITY;
    double star = coding_q(accept_encoding, "*");
    double q_gzip = coding_q(accept_encoding, "gzip");
    if (q_gzip < 0)
        q_gzip = coding_q(accept_encoding, "x-gzip");
    double q_br = coding_q(accept_encoding, "br");
    if (q_gzip < 0)
        q_gzip = star;
    if (q_br < 0)
        q_br = star;
    int best = GW_ENC_IDENTITY;
    double best_q = 0;
    if (e->data[GW_ENC_BR] && q_br > best_q) {
        best = GW_ENC_BR;
        best_q = q_br;
    }
    if (e->data[GW_ENC_GZIP] && q_gzip > best_q)
        best = GW_ENC_GZIP;
    return best;
}

void gw_static_variant_etag(const gw_static_entry_t *e, int enc, char *out, size_t size)
{
    size_t n = strlen(e->etag);
    const char *suffix = enc == GW_ENC_GZIP ? "-gz" : enc == GW_ENC_BR ? "-br" : "";
    snprintf(out, size, "%.*s%s\"", (int) (n - 1), e->etag, suffix);
}

int gw_static_etag_matches(const char *header, const char *etag)
{
    if (!header)
        return 0;
    size_t want = strlen(etag) - 2;        /* without the quotes */
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"') {                    /* not a tag: skip the item */
            while (*p && *p != ',')
                p++;
            continue;
        }
        const char *tag = ++p;
        while (*p && *p != '"')
            p++;
        size_t n = (size_t) (p - tag);
        if (*p == '"')
            p++;
        if (n >= 3 && (strncmp(tag + n - 3, "-gz", 3) == 0 || strncmp(tag + n - 3, "-br", 3) == 0))
            n -= 3;
        if (n == want && strncmp(tag, etag + 1, n) == 0)
            return 1;
    }
    return 0;
}
