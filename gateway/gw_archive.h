/* The archive's endpoints of the HTTP API (docs/PROTOCOL.md "Archive"):
 * GET /api/v1/conversations?q=&from=&to=&operator=&group=&state=&visitor=
 * &before=&limit= and GET /api/v1/conversations/<id>. The gateway checks
 * the path, the method and which parameters are given (each once, known,
 * not too long); the store checks their values. */
#ifndef BESEDA_GW_ARCHIVE_H
#define BESEDA_GW_ARCHIVE_H

#include "beseda.pb-c.h"
#include <libwebsockets.h>

#define GW_ARCHIVE_PARAM_MAX   1024    /* bytes of one name=value */

typedef struct gw_archive_args_t gw_archive_args_t;

/* True for /api/v1/conversations and what is under it. */
int gw_archive_path(const char *uri);
/* Reads the path and the query of a GET. 0 and *out; or -1 with the error
 * code and message for the client (*out NULL). */
int gw_archive_read(struct lws *wsi, const char *uri, gw_archive_args_t **out,
                    const char **code, const char **message);
/* Points msg's fields at the arguments (they live as long as args). */
void gw_archive_fill(const gw_archive_args_t *args, Beseda__ApiArchive *msg);
void gw_archive_free(gw_archive_args_t **args_p);

#endif
