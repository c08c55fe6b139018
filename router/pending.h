/* Continuations of requests that wait for the store.
 *
 * The router is one thread: a request that needs the store becomes a job,
 * the store request goes out, and the job waits here under the correlation
 * id of that store request. The store's reply (or the bus client's timeout
 * for it) takes the job out again and runs its next step. A job owns the
 * gateway request it must answer (NULL for background work such as an
 * assignment) and the decoded RouterRequest. */
#ifndef BESEDA_ROUTER_PENDING_H
#define BESEDA_ROUTER_PENDING_H

#include <stddef.h>
#include <stdint.h>
#include "beseda.pb-c.h"
#include "bus.h"

typedef enum {
    STEP_HELLO,        /* StoreVisitorHello -> VisitorWelcome */
    STEP_LOGIN,        /* StoreOperatorLogin -> OperatorWelcome */
    STEP_RESUME,       /* StoreOperatorSession -> OperatorWelcome */
    STEP_APPEND,       /* StoreAppend -> Ack, publish, maybe assign */
    STEP_LOOKUP,       /* StoreGetConversation -> authorize, then job->next */
    STEP_FETCH,        /* StoreFetch -> MessageList */
    STEP_HISTORY,      /* StoreHistory -> HistoryList */
    STEP_CLOSE,        /* StoreClose -> publish, ok */
    STEP_QUEUE,        /* StoreSiteQueue -> choose operators (background) */
    STEP_ASSIGN,       /* StoreAssign -> publish (background) */
    STEP_LOGOUT,       /* StoreOperatorLogout -> ok */
    /* routing engine (routing.h) */
    STEP_ROUTE_STEP,   /* StoreRouteStep -> publish ring / assigned / missed (background) */
    STEP_ACCEPT,       /* StoreAccept -> ConversationInfo, publish */
    STEP_ACCEPT_LOST,  /* StoreRoute -> was this operator rung: already_taken or forbidden */
    STEP_DUE,          /* StoreDue -> one STEP_DUE_ROUTE per due conversation (background) */
    STEP_DUE_ROUTE,    /* StoreRoute -> the next step (background) */
    STEP_HELLO_ROUTE,  /* StoreRoute -> VisitorWelcome.available */
    /* transfer, team chat, HTTP API pass-through (transfer.h, team.h, api.h) */
    STEP_TRANSFER_GROUPS,  /* StoreGroups -> the group's online members -> StoreTransfer */
    STEP_TRANSFER,     /* StoreTransfer -> publish, conversation */
    STEP_TEAM_APPEND,  /* StoreTeamAppend -> TeamAck, publish */
    STEP_TEAM_FETCH,   /* StoreTeamFetch -> TeamMessageList */
    STEP_API_SESSION,  /* StoreOperatorSession -> who asks -> STEP_API_CALL */
    STEP_API_CALL,     /* StoreSettingsGet/Put, StoreListOperators -> ApiDocument */
    STEP_VISITOR_FORM, /* StoreSurvey/Offline/Transcript -> ok (visitor_forms.h) */
    STEP_APPEND_REPLAY /* StoreFetch of a duplicate append's message -> publish it, Ack */
} job_step_t;

/* What a STEP_LOOKUP job does once the conversation is known and allowed. */
typedef enum {
    NEXT_NONE = 0, NEXT_TYPING, NEXT_SYNC, NEXT_CLOSE,
    NEXT_SEND,         /* a visitor's send to an id not issued to it: it must exist */
    NEXT_TRANSFER      /* a transfer: the chat must be the sender's before any target check */
} job_next_t;

typedef struct {
    job_step_t step;
    job_next_t next;
    bus_request_t *req;            /* the gateway request to answer, or NULL */
    Beseda__RouterRequest *msg;    /* req's decoded body, or NULL */
    uint64_t epoch;                /* ownership epoch to write with */
    char *site_id;                 /* background work: what it is about */
    char *conv_id;
    char *operator_id;
    char *operator_name;
    char *from_operator_id;        /* assignment: the (offline) operator it moves from */
    char *visitor_id;
    /* Queue pass started by a connection coming online (login, resume,
     * status "online"), and its assignments to that operator: the
     * connection, which also gets their `assigned` on g:<notify_gateway>
     * (assign.h). NULL otherwise. */
    char *notify_gateway;
    char *notify_conn;
    char *notify_operator;
    /* Routing step (routing.h): the action, the stage it was computed from,
     * whether this router's claim on conv_id is held, and a packed message
     * kept across a store call (hello: the VisitorWelcome to finish). */
    const char *action;            /* static string */
    uint32_t stage;
    uint32_t response_limit_s;     /* the rule's, for the operator's overdue warning */
    int claimed;
    uint8_t *blob;
    size_t blob_len;
    int64_t started_ms;            /* monotonic: when the job was made (request latency) */
    int64_t store_sent_ms;         /* monotonic: when its last store call left */
} job_t;

/* For logs: "hello", "append", ... */
const char *job_step_name(job_step_t step);
/* Takes ownership of *req_p and *msg_p (either may point to NULL). */
job_t *job_new(job_step_t step, bus_request_t **req_p, Beseda__RouterRequest **msg_p);
void job_destroy(job_t **self_p);
/* Replaces *field with a copy of value; -1 when out of memory. */
int job_set(char **field, const char *value);

typedef struct pending_table_t pending_table_t;

pending_table_t *pending_table_new(void);
/* Destroys every job still waiting. */
void pending_table_destroy(pending_table_t **self_p);
/* Takes ownership of *job_p on success (0); -1 if corr_id is in use or no memory. */
int pending_table_put(pending_table_t *self, uint64_t corr_id, job_t **job_p);
/* Removes and returns the job waiting on corr_id (owned by the caller), or NULL. */
job_t *pending_table_take(pending_table_t *self, uint64_t corr_id);
size_t pending_table_size(pending_table_t *self);

#endif
