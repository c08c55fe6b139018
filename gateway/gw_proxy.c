/* See gw_proxy.h. */
#include "gw_proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Text → family and bytes; IPv4-mapped IPv6 becomes IPv4. */
static int parse_addr(const char *text, int *family, unsigned char addr[16])
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (inet_pton(AF_INET, text, addr) == 1) {
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) != 1)
        return -1;
    *family = 6;
    if (memcmp(addr, mapped, sizeof mapped) == 0) {
        memmove(addr, addr + 12, 4);
        *family = 4;
    }
    return 0;
}

/* Copies [start, start+len) without surrounding blanks into buf. */
static int trimmed(const char *start, size_t len, char *buf, size_t size)
{
    while (len > 0 && (*start == ' ' || *start == '\t')) {
        start++;
        len--;
    }
    while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= size)
        return -1;
    memcpy(buf, start, len);
    buf[len] = 0;
    return 0;
}

static int parse_cidr(char *text, gw_cidr_t *net)
{
    char *slash = strchr(text, '/');
    if (slash)
        *slash = 0;
    if (parse_addr(text, &net->family, net->addr) < 0)
        return -1;
    int max = net->family == 4 ? 32 : 128;
    net->bits = max;
    if (slash) {
        char *end = NULL;
        long bits = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || bits < 0 || bits > max)
            return -1;
        net->bits = (int) bits;
    }
    return 0;
}

int gw_proxies_parse(const char *list, gw_proxies_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);
        char entry[64];
        if (trimmed(p, len, entry, sizeof entry) == 0) {
            if (out->n == GW_PROXIES_MAX || parse_cidr(entry, &out->nets[out->n]) < 0)
                return -1;
            out->n++;
        } else if (len > 0 && strspn(p, " \t") < len)
            return -1;                 /* too long to be an address */
        p += len + (comma ? 1 : 0);
    }
    return 0;
}

static int in_net(const gw_cidr_t *net, int family, const unsigned char *addr)
{
    if (net->family != family)
        return 0;
    int full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->addr, addr, (size_t) full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char) (0xff << (8 - rest));
    return (net->addr[full] & mask) == (addr[full] & mask);
}

int gw_proxies_contains(const gw_proxies_t *proxies, const char *text)
{
    int family;
    unsigned char addr[16];
    if (!text || parse_addr(text, &family, addr) < 0)
        return 0;
    for (size_t i = 0; i < proxies->n; i++)
        if (in_net(&proxies->nets[i], family, addr))
            return 1;
    return 0;
}

void gw_client_ip(const gw_proxies_t *proxies, const char *peer, const char *xff,
                  char *out, size_t size)
{
    snprintf(out, size, "%s", peer ? peer : "");
    if (!xff || !gw_proxies_contains(proxies, peer))
        return;
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char entry[64];
        int family;
        unsigned char addr[16];
        if (trimmed(xff + start, end - start, entry, sizeof entry) < 0
            || parse_addr(entry, &family, addr) < 0)
            return;                    /* garbage: keep the last address we trust */
        snprintf(out, size, "%s", entry);
        if (!gw_proxies_contains(proxies, entry))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}
