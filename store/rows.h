/* Result rows -> protobuf messages. Strings in the built messages point into
 * the PGresult, so every result used here must be kept in the reply's arena
 * (store_mem_keep) until the reply is packed. */
#ifndef STORE_ROWS_H
#define STORE_ROWS_H

#include "store.h"

/* The columns of a ConversationInfo, with conversations as c, operators as o.
 * They are read by name (rows_conv_cols), never by position, so a query may
 * add columns anywhere. The names are the ones beseda_assign() returns
 * (store/sql/assign.sql), so its rows are read the same way. */
#define CONV_COLUMNS \
    "c.id AS id, c.site_id AS site_id, c.visitor_id AS visitor_id, c.state AS state, " \
    "coalesce(c.operator_id::text, '') AS operator_id, coalesce(o.name, '') AS operator_name, " \
    "c.last_seq AS last_seq, (extract(epoch FROM c.created_at) * 1000)::bigint AS created_ms, " \
    "c.first_url AS first_url, c.first_title AS first_title, c.missed AS r_missed, " \
    "c.visitor_name AS r_visitor_name, c.visitor_email AS r_visitor_email, " \
    "c.visitor_phone AS r_visitor_phone, c.survey_answer AS r_survey_answer, " \
    "coalesce((extract(epoch FROM c.deadline_at) * 1000)::bigint, 0) AS r_deadline_ms, " \
    "c.route_rule AS r_rule, array_to_string(c.ringing, ',') AS r_ringing, " \
    "c.first_referrer AS r_referrer, c.first_language AS r_language, " \
    "c.country AS r_country, c.city AS r_city"
/* Routing's extra columns, read by name: route_stage, tried. */
#define CONV_STAGE_COLUMNS ", c.route_stage AS route_stage, array_to_string(c.tried, ',') AS tried"
#define CONV_FROM " FROM conversations c LEFT JOIN operators o ON o.id = c.operator_id "

enum {
    CONV_ID, CONV_SITE_ID, CONV_VISITOR_ID, CONV_STATE, CONV_OPERATOR_ID, CONV_OPERATOR_NAME,
    CONV_LAST_SEQ, CONV_CREATED_MS, CONV_FIRST_URL, CONV_FIRST_TITLE, CONV_MISSED,
    CONV_VISITOR_NAME, CONV_VISITOR_EMAIL, CONV_VISITOR_PHONE, CONV_SURVEY_ANSWER,
    CONV_DEADLINE_MS, CONV_RULE, CONV_RINGING, CONV_REFERRER, CONV_LANGUAGE, CONV_COUNTRY,
    CONV_CITY, CONV_NCOLS
};

/* The columns of a ChatMessage, with messages as m; read by name too. */
#define MSG_COLUMNS \
    "m.conversation_id AS conversation_id, m.seq AS seq, m.client_msg_id AS client_msg_id, " \
    "m.author_kind AS author_kind, coalesce(m.author_id::text, '') AS author_id, " \
    "m.author_name AS author_name, m.body AS body, " \
    "(extract(epoch FROM m.created_at) * 1000)::bigint AS ts_ms"

enum {
    MSG_CONVERSATION_ID, MSG_SEQ, MSG_CLIENT_MSG_ID, MSG_AUTHOR_KIND, MSG_AUTHOR_ID,
    MSG_AUTHOR_NAME, MSG_BODY, MSG_TS_MS, MSG_NCOLS
};

/* Where each column is in one result: found once per result by name. */
typedef struct { int col[CONV_NCOLS]; } rows_conv_cols_t;
typedef struct { int col[MSG_NCOLS]; } rows_msg_cols_t;

/* Column number of name in res; -1 (logged) if the result has none. */
int rows_col(const PGresult *res, const char *name);
/* Finds the n named columns of res into cols; false (logged) if one is missing. */
bool rows_cols(const PGresult *res, const char *const *names, int n, int *cols);
/* Finds every CONV_COLUMNS / MSG_COLUMNS column of res; false (logged) if
 * one is missing. */
bool rows_conv_cols(const PGresult *res, rows_conv_cols_t *cols);
bool rows_msg_cols(const PGresult *res, rows_msg_cols_t *cols);

char *rows_str(const PGresult *res, int row, int col);
uint64_t rows_u64(const PGresult *res, int row, int col);
int64_t rows_i64(const PGresult *res, int row, int col);
int rows_bool(const PGresult *res, int row, int col);

store_err_t rows_err(db_status_t st);

/* "a,b,c" -> an arena array of the parts (none for ""); false when out of memory. */
bool rows_split_ids(store_mem_t *mem, const char *text, char ***out, size_t *count);
/* Sets page->utm_source from page->url (arena copy); false when out of memory. */
bool rows_page_utm(store_mem_t *mem, Beseda__PageInfo *page);

/* Builds from the columns rows_conv_cols found; NULL when out of memory. */
Beseda__ConversationInfo *rows_conversation(store_mem_t *mem, const PGresult *res, int row,
                                            const rows_conv_cols_t *cols);
/* Builds from the columns rows_msg_cols found; NULL when out of memory. */
Beseda__ChatMessage *rows_message(store_mem_t *mem, const PGresult *res, int row,
                                  const rows_msg_cols_t *cols);

/* Runs a query selecting CONV_COLUMNS (and maybe more) and builds every row.
 * *out is an arena array of *count pointers. */
store_err_t rows_conversations(store_ctx_t *ctx, store_mem_t *mem, const char *sql, int nparams,
                               const char *const *params, Beseda__ConversationInfo ***out,
                               size_t *count);
/* One conversation of the site; *out is NULL if there is none. */
store_err_t rows_conversation_get(store_ctx_t *ctx, store_mem_t *mem, const char *site_id,
                                  const char *conversation_id, Beseda__ConversationInfo **out);
/* Messages of a conversation with seq > after_seq, by seq, at most limit. */
store_err_t rows_messages(store_ctx_t *ctx, store_mem_t *mem, const char *site_id,
                          const char *conversation_id, uint64_t after_seq, uint32_t limit,
                          Beseda__ChatMessage ***out, size_t *count);

#endif
