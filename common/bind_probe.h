/* Why a listener could not bind: a library that failed to listen (libwebsockets,
 * libmicrohttpd) does not always leave errno telling why, so the process tries
 * the same bind itself and logs that reason (e.g. "Address already in use"). */
#ifndef BESEDA_BIND_PROBE_H
#define BESEDA_BIND_PROBE_H

#include <sys/socket.h>

/* 0 if a TCP socket binds to sa (with SO_REUSEADDR, as the listeners do),
 * else the errno of the failure. The socket is closed at once. */
int beseda_bind_probe(const struct sockaddr *sa, socklen_t len);
/* The same for host (name or numeric; NULL or "": every IPv4 address) and
 * port; a name that does not resolve gives EADDRNOTAVAIL. */
int beseda_bind_probe_host(const char *host, int port);

#endif
