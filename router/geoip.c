/* GeoIP lookups with libmaxminddb (geoip.h). */
#include "geoip.h"
#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct geoip_t {
    MMDB_s mmdb;
};

geoip_t *geoip_new(const char *path, const char **why)
{
    const char *unused;
    if (!why)
        why = &unused;
    *why = "";
    if (!path || !*path) {
        *why = "no path given";
        return NULL;
    }
    /* libmaxminddb says only "error opening": name the cause first. */
    struct stat st;
    if (stat(path, &st) != 0) {
        *why = strerror(errno);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        return NULL;
    }
    if (access(path, R_OK) != 0) {
        *why = strerror(errno);
        return NULL;
    }
    geoip_t *self = calloc(1, sizeof *self);
    if (!self) {
        *why = "out of memory";
        return NULL;
    }
    int status = MMDB_open(path, MMDB_MODE_MMAP, &self->mmdb);
    if (status != MMDB_SUCCESS) {
        *why = MMDB_strerror(status);
        free(self);
        return NULL;
    }
    return self;
}

const char *geoip_database_type(const geoip_t *self)
{
    return self && self->mmdb.metadata.database_type ? self->mmdb.metadata.database_type : "";
}

unsigned long long geoip_build_epoch(const geoip_t *self)
{
    return self ? (unsigned long long) self->mmdb.metadata.build_epoch : 0;
}

void geoip_destroy(geoip_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MMDB_close(&(*self_p)->mmdb);
    free(*self_p);
    *self_p = NULL;
}

/* Length of the UTF-8 character at s (at most n bytes), 0 if it is not a
 * valid one (overlong, surrogate, above U+10FFFF, cut short) or is a control
 * character: a name from the file goes into the database and to operators. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2; cp = c & 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3; cp = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4; cp = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
        return 0;
    return len;
}

/* Copies a string of the file into out (cap bytes with the NUL), cut at a
 * character; "" if it is not clean UTF-8 text. */
static void copy_text(char *out, size_t cap, const char *s, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t len = utf8_char((const unsigned char *) s + i, n - i);
        if (len == 0) {
            out[0] = '\0';
            return;
        }
        if (used + len < cap) {
            memcpy(out + used, s + i, len);
            used += len;
        } else {
            cap = used + 1;     /* full: keep checking the rest, copy no more */
        }
        i += len;
    }
    out[used] = '\0';
}

/* The string at `path` under entry, or NULL with *len 0. */
static const char *string_at(MMDB_entry_s *entry, uint32_t *len, const char *const *path)
{
    MMDB_entry_data_s data;
    *len = 0;
    if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS || !data.has_data
        || data.type != MMDB_DATA_TYPE_UTF8_STRING)
        return NULL;
    *len = data.data_size;
    return data.utf8_string;
}

/* city.names.en, else the first name the map holds. */
static void city_name(MMDB_entry_s *entry, char city[GEOIP_CITY_LEN])
{
    static const char *const en[] = { "city", "names", "en", NULL };
    uint32_t len;
    const char *s = string_at(entry, &len, en);
    if (s) {
        copy_text(city, GEOIP_CITY_LEN, s, len);
        return;
    }
    static const char *const names_path[] = { "city", "names", NULL };
    MMDB_entry_data_s names;
    if (MMDB_aget_value(entry, &names, names_path) != MMDB_SUCCESS || !names.has_data
        || names.type != MMDB_DATA_TYPE_MAP)
        return;
    MMDB_entry_s at = { .mmdb = entry->mmdb, .offset = names.offset };
    MMDB_entry_data_list_s *list = NULL;
    if (MMDB_get_entry_data_list(&at, &list) == MMDB_SUCCESS && list) {
        /* The map, then its first key, then that key's value. */
        const MMDB_entry_data_list_s *key = list->next;
        const MMDB_entry_data_list_s *value = key ? key->next : NULL;
        if (value && value->entry_data.has_data && value->entry_data.type == MMDB_DATA_TYPE_UTF8_STRING)
            copy_text(city, GEOIP_CITY_LEN, value->entry_data.utf8_string, value->entry_data.data_size);
    }
    MMDB_free_entry_data_list(list);
}

int geoip_lookup(const geoip_t *self, const char *ip, char country[GEOIP_COUNTRY_LEN],
                 char city[GEOIP_CITY_LEN])
{
    country[0] = '\0';
    city[0] = '\0';
    if (!self || !ip || !*ip)
        return 0;
    /* "::ffff:1.2.3.4" is 1.2.3.4: databases need not alias that subtree. */
    if (strncasecmp(ip, "::ffff:", 7) == 0 && strchr(ip + 7, '.') && !strchr(ip + 7, ':'))
        ip += 7;
    int gai_error = 0, mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_string(&self->mmdb, ip, &gai_error, &mmdb_error);
    if (gai_error != 0 || mmdb_error != MMDB_SUCCESS || !r.found_entry)
        return 0;
    static const char *const iso[] = { "country", "iso_code", NULL };
    uint32_t len;
    const char *code = string_at(&r.entry, &len, iso);
    if (code && len == 2 && isalpha((unsigned char) code[0]) && isalpha((unsigned char) code[1])) {
        country[0] = (char) toupper((unsigned char) code[0]);
        country[1] = (char) toupper((unsigned char) code[1]);
        country[2] = '\0';
    }
    city_name(&r.entry, city);
    return country[0] || city[0];
}
