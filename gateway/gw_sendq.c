/* Per-sender order of messages: see gw_sendq.h. On the lws thread only. */
#include "gw_sendq.h"
#include "gw_gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_sendq_item_t {
    gw_sendq_item_t *next;
    char conv[GW_ARG_MAX];
    size_t len;
    char data[];                  /* the frame as received, NUL-terminated */
};

int gw_sendq_busy(const gw_conn_t *conn, const char *conv)
{
    return conn->sending && zhashx_lookup(conn->sending, conv) != NULL;
}

int gw_sendq_begin(gw_conn_t *conn, const char *conv)
{
    if (!conn->sending && !(conn->sending = zhashx_new()))
        return -1;
    return zhashx_insert(conn->sending, conv, (void *) 1) == -1 ? -1 : 0;
}

int gw_sendq_push(gw_conn_t *conn, const char *conv, const char *data, size_t len,
                  size_t max_bytes)
{
    if (conn->sendq_count >= GW_SENDQ_MAX || conn->sendq_bytes + len > max_bytes)
        return -1;
    gw_sendq_item_t *item = malloc(sizeof *item + len + 1);
    if (!item)
        return -1;
    item->next = NULL;
    snprintf(item->conv, sizeof item->conv, "%s", conv);
    item->len = len;
    memcpy(item->data, data, len);
    item->data[len] = '\0';
    if (conn->sendq_tail)
        conn->sendq_tail->next = item;
    else
        conn->sendq_head = item;
    conn->sendq_tail = item;
    conn->sendq_count++;
    conn->sendq_bytes += len;
    return 0;
}

char *gw_sendq_done(gw_conn_t *conn, const char *conv, size_t *len)
{
    gw_sendq_item_t *prev = NULL;
    for (gw_sendq_item_t *it = conn->sendq_head; it; prev = it, it = it->next) {
        if (strcmp(it->conv, conv) != 0)
            continue;
        char *text = malloc(it->len + 1);
        if (!text)
            break;
        memcpy(text, it->data, it->len + 1);
        *len = it->len;
        if (prev)
            prev->next = it->next;
        else
            conn->sendq_head = it->next;
        if (conn->sendq_tail == it)
            conn->sendq_tail = prev;
        conn->sendq_count--;
        conn->sendq_bytes -= it->len;
        free(it);
        return text;
    }
    if (conn->sending)
        zhashx_delete(conn->sending, conv);
    return NULL;
}

void gw_sendq_clear(gw_conn_t *conn)
{
    while (conn->sendq_head) {
        gw_sendq_item_t *next = conn->sendq_head->next;
        free(conn->sendq_head);
        conn->sendq_head = next;
    }
    conn->sendq_tail = NULL;
    conn->sendq_count = 0;
    conn->sendq_bytes = 0;
    zhashx_destroy(&conn->sending);
}
