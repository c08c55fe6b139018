/* GeoIP lookups (router/geoip.c) on the test database that tests/lib/mmdb.mjs
 * writes (tests/lib/geoip_fixture.mjs, run here with node), in each record
 * size the format has: country and city of known networks, IPv4-mapped IPv6,
 * the first name when there is no English one, names cut at a character,
 * nothing for private, unknown and malformed addresses, a refused country
 * code and control characters, and clear errors for files that are no
 * database. Run from the source tree (make test does). */
#include "check.h"
#include "geoip.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/beseda-geoip-XXXXXX";

static int write_fixture(const char *file, int record_size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "node tests/lib/geoip_fixture.mjs '%s' %d", file, record_size);
    return system(cmd);
}

static int is(const geoip_t *g, const char *ip, const char *want_country, const char *want_city)
{
    char country[GEOIP_COUNTRY_LEN] = "?", city[GEOIP_CITY_LEN] = "?";
    int found = geoip_lookup(g, ip, country, city);
    int ok = strcmp(country, want_country) == 0 && strcmp(city, want_city) == 0
          && found == (*want_country || *want_city);
    if (!ok)
        printf("# %s: got '%s' '%s' (found %d), want '%s' '%s'\n", ip, country, city, found,
               want_country, want_city);
    return ok;
}

static int valid_utf8_cut(const char *s)
{
    /* every character of "é" is 2 bytes: a cut in the middle would leave an odd count */
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0 || n >= GEOIP_CITY_LEN)
        return 0;
    for (size_t i = 0; i < n; i += 2)
        if ((unsigned char) s[i] != 0xc3 || (unsigned char) s[i + 1] != 0xa9)
            return 0;
    return 1;
}

static void test_lookups(int record_size)
{
    char file[128];
    snprintf(file, sizeof file, "%s/test-%d.mmdb", dir, record_size);
    CHECK(write_fixture(file, record_size) == 0, "node writes the test database");
    const char *why = NULL;
    geoip_t *g = geoip_new(file, &why);
    CHECK(g != NULL, "the written database opens");
    if (!g) {
        printf("# %s\n", why ? why : "");
        return;
    }
    CHECK(strcmp(geoip_database_type(g), "beseda-test-City") == 0, "database type from the metadata");
    CHECK(geoip_build_epoch(g) > 1700000000ULL, "build epoch from the metadata");
    CHECK(is(g, "77.88.1.2", "RU", "Moscow"), "IPv4 in an IPv6 tree: country and city");
    CHECK(is(g, "77.88.255.255", "RU", "Moscow"), "last address of the network");
    CHECK(is(g, "77.89.0.1", "", ""), "just outside the network: nothing");
    CHECK(is(g, "8.8.8.8", "US", "Mountain View"), "another network");
    CHECK(is(g, "::ffff:77.88.1.2", "RU", "Moscow"), "IPv4-mapped IPv6 is the IPv4 address");
    CHECK(is(g, "::FFFF:8.8.8.8", "US", "Mountain View"), "IPv4-mapped, upper case");
    CHECK(is(g, "2a02:6b8::1", "RU", "Moscow"), "IPv6 network");
    CHECK(is(g, "77.88.200.9", "RU", "Санкт-Петербург"), "narrower network wins; no English name: the first name");
    CHECK(is(g, "5.6.7.8", "DE", ""), "country only, upper-cased; no city");
    CHECK(is(g, "6.6.6.6", "", ""), "a three-letter code and a control character are refused");
    CHECK(is(g, "10.1.2.3", "", ""), "private address: nothing");
    CHECK(is(g, "127.0.0.1", "", ""), "loopback: nothing");
    CHECK(is(g, "::1", "", ""), "IPv6 loopback: nothing");
    CHECK(is(g, "", "", ""), "empty address: nothing");
    CHECK(is(g, "not an address", "", ""), "not an address: nothing");
    CHECK(is(g, "example.com", "", ""), "a host name is not looked up");
    CHECK(is(g, "77.88.1.2:5000", "", ""), "address with a port: nothing");
    char country[GEOIP_COUNTRY_LEN], city[GEOIP_CITY_LEN];
    CHECK(geoip_lookup(g, "9.9.9.9", country, city) == 1 && strcmp(country, "FR") == 0
              && valid_utf8_cut(city), "a long name is cut at a character");
    CHECK(geoip_lookup(g, NULL, country, city) == 0 && !country[0] && !city[0], "NULL address");
    geoip_destroy(&g);
    CHECK(g == NULL, "destroy clears the pointer");
    geoip_destroy(&g);                   /* a second free of the database would abort here */
    CHECK(g == NULL, "a second destroy of the same handle does nothing");
    unlink(file);
}

static void test_errors(void)
{
    char country[GEOIP_COUNTRY_LEN] = "?", city[GEOIP_CITY_LEN] = "?";
    CHECK(geoip_lookup(NULL, "77.88.1.2", country, city) == 0 && !country[0] && !city[0],
          "no database: places unknown");
    const char *why = NULL;
    CHECK(geoip_new("/nonexistent/geo.mmdb", &why) == NULL && why && strstr(why, "No such file"),
          "missing file: refused, says so");
    CHECK(geoip_new(dir, &why) == NULL && strcmp(why, "not a regular file") == 0, "a directory is refused");
    char junk[128];
    snprintf(junk, sizeof junk, "%s/junk.mmdb", dir);
    FILE *f = fopen(junk, "w");
    CHECK(f != NULL, "junk file written");
    if (f) {
        fputs("this is not a MaxMind DB\n", f);
        fclose(f);
    }
    why = NULL;
    CHECK(geoip_new(junk, &why) == NULL && why && *why, "a file that is no database is refused with a reason");
    CHECK(geoip_new("", NULL) == NULL, "empty path");
    geoip_t *none = NULL;
    geoip_destroy(&none);
    geoip_destroy(NULL);
    CHECK(none == NULL, "destroy of nothing leaves nothing");
    unlink(junk);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_lookups(24);
    test_lookups(28);
    test_lookups(32);
    test_errors();
    rmdir(dir);
    return CHECK_DONE();
}
