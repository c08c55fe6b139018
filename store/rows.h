/* Result rows -> protobuf messages. Strings in the built messages point into
 * the PGresult, so every result used here must be kept in the reply's arena
 * (store_mem_keep) until the reply is packed. */
#ifndef STORE_ROWS_H
#define STORE_ROWS_H

#include "store.h"

/* The columns of a ConversationInfo, with conversations as c, operators as o.
 * beseda_assign() (migration 0012) returns the same list: keep them alike. */
#define CONV_COLUMNS \
    "c.id, c.site_id, c.visitor_id, c.state, coalesce(c.operator_id::text, ''), " \
    "coalesce(o.name, ''), c.last_seq, (extract(epoch FROM c.created_at) * 1000)::bigint, " \
    "c.first_url, c.first_title, " \
    "c.missed, c.visitor_name, c.visitor_email, c.visitor_phone, c.survey_answer, " \
    "coalesce((extract(epoch FROM c.deadline_at) * 1000)::bigint, 0), c.route_rule, " \
    "array_to_string(c.ringing, ','), c.first_referrer, c.first_language, c.country, c.city"
#define CONV_NCOLS 22
#define CONV_FROM " FROM conversations c LEFT JOIN operators o ON o.id = c.operator_id "

/* The columns of a ChatMessage, with messages as m. */
#define MSG_COLUMNS \
    "m.conversation_id, m.seq, m.client_msg_id, m.author_kind, " \
    "coalesce(m.author_id::text, ''), m.author_name, m.body, " \
    "(extract(epoch FROM m.created_at) * 1000)::bigint"
#define MSG_NCOLS 8

char *rows_str(const PGresult *res, int row, int col);
uint64_t rows_u64(const PGresult *res, int row, int col);
int64_t rows_i64(const PGresult *res, int row, int col);
int rows_bool(const PGresult *res, int row, int col);

store_err_t rows_err(db_status_t st);

/* "a,b,c" -> an arena array of the parts (none for ""); false when out of memory. */
bool rows_split_ids(store_mem_t *mem, const char *text, char ***out, size_t *count);
/* Sets page->utm_source from page->url (arena copy); false when out of memory. */
bool rows_page_utm(store_mem_t *mem, Beseda__PageInfo *page);

/* Builds from CONV_NCOLS columns starting at col; NULL when out of memory. */
Beseda__ConversationInfo *rows_conversation(store_mem_t *mem, const PGresult *res, int row, int col);
/* Builds from MSG_NCOLS columns starting at col; NULL when out of memory. */
Beseda__ChatMessage *rows_message(store_mem_t *mem, const PGresult *res, int row, int col);

/* Runs a query selecting CONV_COLUMNS (and nothing else) and builds every row.
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
