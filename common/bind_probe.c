#include "bind_probe.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <unistd.h>

int beseda_bind_probe(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int one = 1;
    (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int err = bind(fd, sa, len) == 0 ? 0 : errno;
    close(fd);
    return err;
}

int beseda_bind_probe_host(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
    if (!host || !*host)
        hints.ai_family = AF_INET;
    struct addrinfo *res = NULL;
    if (getaddrinfo(host && *host ? host : NULL, service, &hints, &res) != 0 || !res)
        return EADDRNOTAVAIL;
    int err = beseda_bind_probe(res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return err;
}
