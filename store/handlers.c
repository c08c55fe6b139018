/* One dispatch switch for every request kind but append (append.c batches
 * those); one file per kind holds its handler, as in Mosquitto. */
#include "store.h"
#include "mail.h"
#include "team.h"
#include "log.h"

const char *store_err_code(store_err_t err)
{
    switch (err) {
    case STORE_OK: return "";
    case STORE_BAD_REQUEST: return "bad_request";
    case STORE_UNAVAILABLE: return "unavailable";
    case STORE_NO_CONVERSATION: return "no_conversation";
    case STORE_STALE_EPOCH: return "stale_epoch";
    case STORE_FORBIDDEN: return "forbidden";
    case STORE_CONFLICT: return "conflict";
    case STORE_NOT_FOUND: return "not_found";
    case STORE_BAD_VALUE: return "bad_value";
    case STORE_MISSING_FIELD: return "missing_field";
    case STORE_RATE_LIMITED: return "rate_limited";
    case STORE_INTERNAL: break;
    }
    return "internal";
}

static store_err_t dispatch(store_ctx_t *ctx, const Beseda__StoreRequest *req,
                            Beseda__StoreReply *reply, store_mem_t *mem)
{
    switch (req->body_case) {
    case BESEDA__STORE_REQUEST__BODY_VISITOR_HELLO:
        return store_visitor_hello(ctx, req->visitor_hello, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_FETCH:
        return store_fetch(ctx, req->fetch, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGIN:
        return store_operator_login(ctx, req->operator_login, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_OPERATOR_SESSION:
        return store_operator_session(ctx, req->operator_session, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_OPERATOR_LOGOUT:
        return store_operator_logout(ctx, req->operator_logout, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_ASSIGN:
        return store_assign(ctx, req->assign, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_SITE_QUEUE:
        return store_site_queue(ctx, req->site_queue, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_HISTORY:
        return store_history(ctx, req->history, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_CLOSE:
        return store_close(ctx, req->close, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_GET_CONVERSATION:
        return store_get_conversation(ctx, req->get_conversation, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_ROUTE:
        return store_route(ctx, req->route, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_ROUTE_STEP:
        return store_route_step(ctx, req->route_step, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_ACCEPT:
        return store_accept(ctx, req->accept, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_DUE:
        return store_due(ctx, req->due, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_SETTINGS_GET:
        return store_settings_get(ctx, req->settings_get, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_SETTINGS_PUT:
        return store_settings_put(ctx, req->settings_put, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_SURVEY:
        return store_survey(ctx, req->survey, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_OFFLINE:
        return store_offline(ctx, req->offline, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_TRANSCRIPT:
        return store_transcript(ctx, req->transcript, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_MAIL_OUTBOX:
        return store_mail_outbox(ctx, req->mail_outbox, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_GROUPS:
        return store_groups(ctx, req->groups, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_INBOX:
        return store_inbox(ctx, req->inbox, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_ARCHIVE:
        return store_archive(ctx, req->archive, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_TRANSFER:
        return store_transfer(ctx, req->transfer, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_TEAM_APPEND:
        return store_team_append(ctx, req->team_append, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_TEAM_FETCH:
        return store_team_fetch(ctx, req->team_fetch, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_CREATE_SITE:
        return store_create_site(ctx, req->create_site, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_LIST_SITES:
        return store_list_sites(ctx, req->list_sites, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_CREATE_OPERATOR:
        return store_create_operator(ctx, req->create_operator, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_LIST_OPERATORS:
        return store_list_operators(ctx, req->list_operators, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_RESET_PASSWORD:
        return store_reset_password(ctx, req->reset_password, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_QUEUE_LENGTHS:
        return store_queue_lengths(ctx, req->queue_lengths, reply, mem);
    case BESEDA__STORE_REQUEST__BODY_APPEND:      /* batched by the caller */
    case BESEDA__STORE_REQUEST__BODY__NOT_SET:
    default:
        return STORE_BAD_REQUEST;
    }
}

void store_reply_error(Beseda__StoreReply *reply, store_err_t err)
{
    if (err == STORE_OK)
        return;
    /* A half-built body must not go out next to an error. */
    reply->body_case = BESEDA__STORE_REPLY__BODY__NOT_SET;
    reply->error_code = (char *) store_err_code(err);
    if (err == STORE_BAD_REQUEST)
        log_debug("bad store request");
}

store_err_t store_fail_with(Beseda__StoreReply *reply, store_mem_t *mem, store_err_t err,
                            const char *message)
{
    char *copy = store_mem_strdup(mem, message);
    if (copy)
        reply->error_message = copy;
    return err;
}

void store_handle(store_ctx_t *ctx, const Beseda__StoreRequest *req,
                  Beseda__StoreReply *reply, store_mem_t *mem)
{
    store_reply_error(reply, dispatch(ctx, req, reply, mem));
}
