/* Trusted proxies (BESEDA_TRUSTED_PROXIES): which X-Forwarded-For address
 * is the client's. Behind a balancer every connection's TCP peer is the
 * balancer, so a per-address login throttle keyed on the peer would lock
 * out everybody at once; but a header from anyone else is a lie waiting to
 * be told, so it is read only when the peer is a listed proxy. Pure. */
#ifndef BESEDA_GW_PROXY_H
#define BESEDA_GW_PROXY_H

#include <stddef.h>

#define GW_PROXIES_MAX 32

typedef struct {
    int family;                    /* 4 or 6 */
    unsigned char addr[16];
    int bits;                      /* prefix length */
} gw_cidr_t;

typedef struct {
    gw_cidr_t nets[GW_PROXIES_MAX];
    size_t n;
} gw_proxies_t;

/* Parses a comma list of addresses and CIDRs ("10.0.0.0/8, ::1"); empty
 * or NULL: none. Returns -1 on an entry that is not one, or too many. */
int gw_proxies_parse(const char *list, gw_proxies_t *out);

/* True if the address (text; IPv4-mapped IPv6 counts as IPv4) is in one
 * of the nets. */
int gw_proxies_contains(const gw_proxies_t *proxies, const char *addr);

/* The client's address: the peer, unless the peer is a trusted proxy and
 * X-Forwarded-For (xff; may be NULL) names others; then the rightmost
 * address in it that is not a trusted proxy (each proxy appends the
 * address it saw, so everything left of that could be forged). An entry
 * that is not an address stops the walk at the last good one. */
void gw_client_ip(const gw_proxies_t *proxies, const char *peer, const char *xff,
                  char *out, size_t size);

#endif
