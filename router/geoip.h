/* GeoIP: a visitor's country and city from their address (docs/ROUTING.md).
 *
 * Reads a MaxMind DB file (.mmdb: MaxMind GeoLite2/GeoIP2 City or Country,
 * DB-IP Lite and others of that format) through libmaxminddb, memory-mapped
 * once at start; a lookup is a walk of the file's search tree, no I/O and no
 * allocation on the way (the first-name fallback of a city allocates a
 * little). The router opens it with --geoip-db (router/main.c); without one
 * there is no geoip_t and every visitor's place is unknown (""). */
#ifndef BESEDA_ROUTER_GEOIP_H
#define BESEDA_ROUTER_GEOIP_H

#include <stddef.h>

#define GEOIP_COUNTRY_LEN 3     /* ISO 3166-1 alpha-2, upper case, and the NUL */
#define GEOIP_CITY_LEN    128   /* bytes with the NUL; longer names are cut at a character */

typedef struct geoip_t geoip_t;

/* Opens the database at `path`. NULL on failure; then *why (if given) says
 * why, a static string. */
geoip_t *geoip_new(const char *path, const char **why);
/* The database's type and build time, for the start log ("" / 0 unknown). */
const char *geoip_database_type(const geoip_t *self);
unsigned long long geoip_build_epoch(const geoip_t *self);
/* The place of `ip` (IPv4 or IPv6 text; an IPv4-mapped IPv6 address is taken
 * as the IPv4 one): country.iso_code and city.names.en (else the first of
 * the city's names). An address the database does not hold (private ranges,
 * loopback), one that is not an address, or a NULL self gives "" for both.
 * Returns 1 if a country or city was found, else 0. */
int geoip_lookup(const geoip_t *self, const char *ip, char country[GEOIP_COUNTRY_LEN],
                 char city[GEOIP_CITY_LEN]);
void geoip_destroy(geoip_t **self_p);

#endif
