/* The gateway's static files in memory: loading a built tree (only the
 * served paths, the .gz/.br twins beside them), hashed names, the choice of
 * encoding from Accept-Encoding, and If-None-Match against the ETag. */
#include "check.h"
#include "gw_static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *root, const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s", root, rel);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_hashed_names(void)
{
    CHECK(gw_static_is_hashed("/widget/frame.3f9a1c2b.js"), "<name>.<8 hex>.<ext> is hashed");
    CHECK(gw_static_is_hashed("/console/console.b61b8157.css"), "a style sheet too");
    CHECK(!gw_static_is_hashed("/widget.js"), "the loader is not");
    CHECK(!gw_static_is_hashed("/widget/frame.html"), "the frame page under its own name is not");
    CHECK(!gw_static_is_hashed("/widget/frame.3F9A1C2B.js"), "upper-case hex is not ours");
    CHECK(!gw_static_is_hashed("/widget/frame.3f9a1c2.js"), "7 digits are not a hash");
    CHECK(!gw_static_is_hashed("/widget/x3f9a1c2b.js"), "the digits must be a name part of their own");
}

static void test_etag(void)
{
    const char *tag = "\"0123456789abcdef0123456789abcdef\"";
    CHECK(gw_static_etag_matches(tag, tag), "the same tag matches");
    CHECK(gw_static_etag_matches("\"0123456789abcdef0123456789abcdef-br\"", tag), "the brotli variant's tag matches");
    CHECK(gw_static_etag_matches("\"0123456789abcdef0123456789abcdef-gz\"", tag), "the gzip variant's tag matches");
    CHECK(gw_static_etag_matches("W/\"0123456789abcdef0123456789abcdef\"", tag), "weak comparison");
    CHECK(gw_static_etag_matches("\"x\", \"0123456789abcdef0123456789abcdef\"", tag), "one of a list");
    CHECK(gw_static_etag_matches("*", tag), "* matches");
    CHECK(!gw_static_etag_matches("\"0123456789abcdef0123456789abcdee\"", tag), "another tag does not");
    CHECK(!gw_static_etag_matches("0123456789abcdef0123456789abcdef", tag), "an unquoted tag does not match");
    CHECK(!gw_static_etag_matches("", tag) && !gw_static_etag_matches(NULL, tag), "none");
}

static void test_load_and_pick(void)
{
    char root[] = "/tmp/gw-static-XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0, "a temporary folder");
        return;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s/widget", root);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/other", root);
    mkdir(dir, 0700);
    put(root, "/widget.js", "console.log('the loader, long enough to be worth compressing');");
    put(root, "/widget.js.br", "BR");
    put(root, "/widget.js.gz", "GZIP");
    put(root, "/widget/frame.3f9a1c2b.js", "x");
    put(root, "/widget/frame.3f9a1c2b.js.gz", "a twin larger than the file");
    put(root, "/widget/.hidden", "secret");
    put(root, "/other/x.js", "not served");
    put(root, "/Makefile", "not served");
    gw_static_t *t = gw_static_load(root);
    CHECK(t && gw_static_count(t) == 2, "only the served files are loaded, twins beside them");
    const gw_static_entry_t *loader = gw_static_find(t, "/widget.js");
    const gw_static_entry_t *frame = gw_static_find(t, "/widget/frame.3f9a1c2b.js");
    CHECK(loader && !loader->immutable && loader->data[GW_ENC_BR] && loader->len[GW_ENC_GZIP] == 4,
          "the loader: revalidated, with both twins");
    CHECK(frame && frame->immutable && !frame->data[GW_ENC_GZIP], "hashed; a twin that saves nothing is dropped");
    CHECK(!gw_static_find(t, "/widget/.hidden") && !gw_static_find(t, "/other/x.js")
          && !gw_static_find(t, "/Makefile") && !gw_static_find(t, "/widget.js.br"), "nothing else is found");
    CHECK(!gw_static_find(t, "/widget/../widget.js"), "no ..");
    CHECK(loader && strlen(loader->etag) == 34 && loader->etag[0] == '"', "a quoted 32-hex ETag");
    char tag[48];
    if (loader) {
        gw_static_variant_etag(loader, GW_ENC_BR, tag, sizeof tag);
        CHECK(strlen(tag) == 37 && strcmp(tag + 33, "-br\"") == 0, "the brotli variant's tag");
        CHECK(gw_static_pick_encoding(loader, "gzip, deflate, br") == GW_ENC_BR, "br first");
        CHECK(gw_static_pick_encoding(loader, "gzip") == GW_ENC_GZIP, "gzip alone");
        CHECK(gw_static_pick_encoding(loader, "br;q=0.4, gzip;q=0.9") == GW_ENC_GZIP, "the higher q");
        CHECK(gw_static_pick_encoding(loader, "br;q=0") == GW_ENC_IDENTITY, "q=0 refuses");
        CHECK(gw_static_pick_encoding(loader, "*;q=0.5") == GW_ENC_BR, "* covers both");
        CHECK(gw_static_pick_encoding(loader, "br;q=0, *") == GW_ENC_GZIP, "* but not br");
        CHECK(gw_static_pick_encoding(loader, "deflate") == GW_ENC_IDENTITY, "nothing we have");
        CHECK(gw_static_pick_encoding(loader, NULL) == GW_ENC_IDENTITY, "no header");
        CHECK(gw_static_pick_encoding(loader, ";;,,q=;br;q=abc") == GW_ENC_IDENTITY, "garbage: identity");
    }
    if (frame)
        CHECK(gw_static_pick_encoding(frame, "gzip") == GW_ENC_IDENTITY, "no twin: identity");
    gw_static_destroy(&t);
    CHECK(t == NULL, "destroyed");
    gw_static_t *none = gw_static_load("/nonexistent/web/root");
    CHECK(none && gw_static_count(none) == 0 && !gw_static_find(none, "/widget.js"), "a missing root serves nothing");
    gw_static_destroy(&none);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleaned up");
}

int main(void)
{
    test_hashed_names();
    test_etag();
    test_load_and_pick();
    return CHECK_DONE();
}
