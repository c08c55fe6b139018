/* history: a visitor's conversations, newest first, each with its first
 * messages, for the operator's "earlier chats" panel. */
#include "rows.h"
#include "store.h"
#include "validate.h"
#include <stdio.h>

/* One conversation with its first messages, as many as fit in budget
 * bytes: a preview; the whole of a chat is for sync. */
static store_err_t load_one(store_ctx_t *ctx, const char *site_id, Beseda__ConversationInfo *conv,
                            size_t budget, Beseda__ConversationHistory **out, store_mem_t *mem)
{
    Beseda__ConversationHistory *h = store_mem_alloc(mem, sizeof *h);
    if (!h)
        return STORE_INTERNAL;
    beseda__conversation_history__init(h);
    h->conversation = conv;
    *out = h;
    store_err_t err = rows_messages(ctx, mem, site_id, conv->id, 0, STORE_HISTORY_MESSAGES,
                                    &h->messages, &h->n_messages);
    if (err == STORE_OK)
        h->n_messages = store_msgs_within(h->messages, h->n_messages, budget);
    return err;
}

store_err_t store_history(store_ctx_t *ctx, const Beseda__StoreHistory *req,
                          Beseda__StoreReply *reply, store_mem_t *mem)
{
    if (!store_valid_uuid(req->site_id) || !store_valid_uuid(req->visitor_id))
        return STORE_BAD_REQUEST;
    Beseda__HistoryList *list = store_mem_alloc(mem, sizeof *list);
    if (!list)
        return STORE_INTERNAL;
    beseda__history_list__init(list);
    reply->body_case = BESEDA__STORE_REPLY__BODY_HISTORY;
    reply->history = list;

    uint32_t limit = req->limit == 0 ? STORE_HISTORY_DEFAULT
                   : req->limit > STORE_HISTORY_MAX ? STORE_HISTORY_MAX : req->limit;
    char lim[16];
    snprintf(lim, sizeof lim, "%u", limit);
    const char *params[] = { req->site_id, req->visitor_id, lim };
    Beseda__ConversationInfo **convs;
    size_t n;
    store_err_t err = rows_conversations(ctx, mem,
        "SELECT " CONV_COLUMNS CONV_FROM
        "WHERE c.site_id = $1 AND c.visitor_id = $2 ORDER BY c.created_at DESC LIMIT $3",
        3, params, &convs, &n);
    if (err != STORE_OK || n == 0)
        return err;
    list->conversations = store_mem_alloc(mem, n * sizeof *list->conversations);
    if (!list->conversations)
        return STORE_INTERNAL;
    /* The reply's byte budget, shared equally: fifty long chats must not
     * make one reply of tens of megabytes (each conversation still shows
     * its first message). */
    size_t share = STORE_HISTORY_MAX_BYTES / n;
    for (size_t i = 0; i < n; i++) {
        err = load_one(ctx, req->site_id, convs[i], share, &list->conversations[i], mem);
        if (err != STORE_OK)
            return err;
        list->n_conversations = i + 1;
    }
    return STORE_OK;
}
