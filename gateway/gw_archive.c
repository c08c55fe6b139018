/* See gw_archive.h. */
#include "gw_archive.h"

#include <stdlib.h>
#include <string.h>

#define ID_LEN 36

static const char *const NAMES[] = { "q", "from", "to", "operator", "group", "state",
                                     "visitor", "before", "limit" };
#define NPARAMS (sizeof NAMES / sizeof NAMES[0])

struct gw_archive_args_t {
    char id[ID_LEN + 1];
    char *value[NPARAMS];
};

int gw_archive_path(const char *uri)
{
    return strcmp(uri, "/api/v1/conversations") == 0
        || strncmp(uri, "/api/v1/conversations/", 22) == 0;
}

void gw_archive_free(gw_archive_args_t **args_p)
{
    gw_archive_args_t *a = *args_p;
    if (!a)
        return;
    for (size_t i = 0; i < NPARAMS; i++)
        free(a->value[i]);
    free(a);
    *args_p = NULL;
}

static int fail(gw_archive_args_t **a, const char **code, const char **message, const char *c,
                const char *m)
{
    gw_archive_free(a);
    *code = c;
    *message = m;
    return -1;
}

int gw_archive_read(struct lws *wsi, const char *uri, gw_archive_args_t **out,
                    const char **code, const char **message)
{
    *out = NULL;
    gw_archive_args_t *a = calloc(1, sizeof *a);
    if (!a)
        return fail(&a, code, message, "internal", "out of memory");
    if (strncmp(uri, "/api/v1/conversations/", 22) == 0) {
        const char *id = uri + 22;
        if (strlen(id) != ID_LEN || strspn(id, "0123456789abcdefABCDEF-") != ID_LEN)
            return fail(&a, code, message, "not_found", "no such conversation");
        memcpy(a->id, id, ID_LEN + 1);
    }
    char buf[GW_ARCHIVE_PARAM_MAX + 1];
    for (int idx = 0;; idx++) {
        int n = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, idx);
        if (n > GW_ARCHIVE_PARAM_MAX)
            return fail(&a, code, message, "bad_value", "a query parameter is longer than 1024 bytes");
        if (lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, idx) < 0)
            break;
        if (!buf[0])
            continue;
        if (a->id[0])
            return fail(&a, code, message, "bad_value",
                        "a conversation is read without query parameters");
        char *eq = strchr(buf, '=');
        const char *value = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        size_t i = 0;
        while (i < NPARAMS && strcmp(NAMES[i], buf) != 0)
            i++;
        if (i == NPARAMS)
            return fail(&a, code, message, "bad_value",
                        "unknown query parameter; known: q, from, to, operator, group, state, "
                        "visitor, before, limit");
        if (a->value[i])
            return fail(&a, code, message, "bad_value", "a query parameter is given twice");
        if (!(a->value[i] = strdup(value)))
            return fail(&a, code, message, "internal", "out of memory");
    }
    *out = a;
    return 0;
}

static char *or_empty(char *s)
{
    return s ? s : (char *) "";
}

void gw_archive_fill(const gw_archive_args_t *a, Beseda__ApiArchive *msg)
{
    msg->conversation_id = (char *) a->id;
    msg->q = or_empty(a->value[0]);
    msg->from = or_empty(a->value[1]);
    msg->to = or_empty(a->value[2]);
    msg->operator_ = or_empty(a->value[3]);
    msg->group = or_empty(a->value[4]);
    msg->state = or_empty(a->value[5]);
    msg->visitor = or_empty(a->value[6]);
    msg->before = or_empty(a->value[7]);
    msg->limit = or_empty(a->value[8]);
}
