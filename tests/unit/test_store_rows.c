/* Rows are read by column name: a result with the columns in another order,
 * or with more columns in between, builds the same conversation and message;
 * a result missing a column is refused rather than read from a wrong one.
 * The results are made in memory (libpq's PQmakeEmptyPGresult), no server. */
#include "check.h"
#include "../../store/mem.h"
#include "../../store/rows.h"
#include <libpq-fe.h>
#include <string.h>

typedef struct { const char *name, *value; } col_t;

/* One-row result with the given columns, in the given order. */
static PGresult *result_of(const col_t *cols, int n)
{
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc attrs[40];
    memset(attrs, 0, sizeof attrs);
    for (int i = 0; i < n; i++) {
        attrs[i].name = (char *) cols[i].name;
        attrs[i].typlen = -1;
    }
    if (!res || !PQsetResultAttrs(res, n, attrs))
        return res;
    for (int i = 0; i < n; i++)
        PQsetvalue(res, 0, i, (char *) cols[i].value, (int) strlen(cols[i].value));
    return res;
}

static const col_t conv[] = {
    { "id", "c1" }, { "site_id", "s1" }, { "visitor_id", "v1" }, { "state", "assigned" },
    { "operator_id", "o1" }, { "operator_name", "Olga" }, { "last_seq", "7" },
    { "created_ms", "1700000000000" }, { "first_url", "https://x.test/?utm_source=ads" },
    { "first_title", "Shop" }, { "r_missed", "t" }, { "r_visitor_name", "Vera" },
    { "r_visitor_email", "v@x.test" }, { "r_visitor_phone", "123" },
    { "r_survey_answer", "sales" }, { "r_deadline_ms", "42" }, { "r_rule", "rule1" },
    { "r_ringing", "o2,o3" }, { "r_referrer", "https://ref.test/" }, { "r_language", "ru" },
    { "r_country", "RU" }, { "r_city", "Kazan" },
};
#define CONV_N ((int) (sizeof conv / sizeof *conv))

static int same_conversation(const Beseda__ConversationInfo *c)
{
    return c && strcmp(c->id, "c1") == 0 && strcmp(c->site_id, "s1") == 0
        && strcmp(c->visitor_id, "v1") == 0 && strcmp(c->state, "assigned") == 0
        && strcmp(c->operator_id, "o1") == 0 && strcmp(c->operator_name, "Olga") == 0
        && c->last_seq == 7 && c->created_ms == 1700000000000LL
        && strcmp(c->page->url, "https://x.test/?utm_source=ads") == 0
        && strcmp(c->page->title, "Shop") == 0 && c->missed
        && strcmp(c->visitor_name, "Vera") == 0 && strcmp(c->visitor_email, "v@x.test") == 0
        && strcmp(c->visitor_phone, "123") == 0 && strcmp(c->survey_answer, "sales") == 0
        && c->deadline_ms == 42 && strcmp(c->rule, "rule1") == 0 && c->n_ringing == 2
        && strcmp(c->ringing[1], "o3") == 0 && strcmp(c->page->referrer, "https://ref.test/") == 0
        && strcmp(c->page->language, "ru") == 0 && strcmp(c->page->country, "RU") == 0
        && strcmp(c->page->city, "Kazan") == 0 && strcmp(c->page->utm_source, "ads") == 0;
}

static void test_conversation_by_name(void)
{
    store_mem_t *mem = store_mem_new();
    col_t shuffled[CONV_N + 2];
    shuffled[0] = (col_t) { "updated", "t" };             /* beseda_assign's first two */
    shuffled[1] = (col_t) { "mine", "f" };
    for (int i = 0; i < CONV_N; i++)
        shuffled[2 + i] = conv[CONV_N - 1 - i];             /* reversed */
    PGresult *res = result_of(shuffled, CONV_N + 2);
    rows_conv_cols_t cols;
    CHECK(rows_conv_cols(res, &cols), "every conversation column is found by name");
    CHECK(same_conversation(rows_conversation(mem, res, 0, &cols)),
          "columns in another order, with others before them, read the same conversation");
    PQclear(res);

    res = result_of(conv, CONV_N - 1);                      /* no r_city */
    CHECK(!rows_conv_cols(res, &cols), "a result without a conversation column is refused");
    PQclear(res);
    store_mem_destroy(&mem);
}

static void test_message_by_name(void)
{
    store_mem_t *mem = store_mem_new();
    const col_t msg[] = {
        { "ts_ms", "1700000000001" }, { "body", "hello" }, { "extra", "x" },
        { "author_name", "Vera" }, { "author_id", "v1" }, { "author_kind", "visitor" },
        { "client_msg_id", "m1" }, { "seq", "3" }, { "conversation_id", "c1" },
    };
    PGresult *res = result_of(msg, (int) (sizeof msg / sizeof *msg));
    rows_msg_cols_t cols;
    Beseda__ChatMessage *m = rows_msg_cols(res, &cols) ? rows_message(mem, res, 0, &cols) : NULL;
    CHECK(m && strcmp(m->conversation_id, "c1") == 0 && m->seq == 3
          && strcmp(m->client_msg_id, "m1") == 0 && strcmp(m->author->kind, "visitor") == 0
          && strcmp(m->author->id, "v1") == 0 && strcmp(m->author->name, "Vera") == 0
          && strcmp(m->text, "hello") == 0 && m->ts_ms == 1700000000001LL,
          "a message is read by column name, whatever the order");
    PQclear(res);
    store_mem_destroy(&mem);
}

int main(void)
{
    test_conversation_by_name();
    test_message_by_name();
    return CHECK_DONE();
}
