/* Request checks that keep malformed input away from SQL: a bad UUID or bad
 * UTF-8 would make PostgreSQL raise and abort a whole group commit. */
#include "check.h"
#include "../../store/validate.h"
#include <string.h>

#define SITE "5d1c2b3a-0000-4000-8000-000000000001"
#define CONV "7a0e1f2d-2222-4222-8222-222222222222"
#define WHO  "0b9d8c7e-1111-4111-8111-111111111111"

static void test_utf8(void)
{
    CHECK(store_valid_text("hello", 100), "ASCII is valid");
    CHECK(store_valid_text("Привет, мир 👋", 100), "Cyrillic and emoji are valid");
    CHECK(!store_valid_text("\xff", 100), "a stray 0xff is refused");
    CHECK(!store_valid_text("\xc0\xaf", 100), "an overlong encoding is refused");
    CHECK(!store_valid_text("\xed\xa0\x80", 100), "a UTF-16 surrogate is refused");
    CHECK(!store_valid_text("\xf4\x90\x80\x80", 100), "a code point above U+10FFFF is refused");
    CHECK(!store_valid_text("\xe2\x82", 100), "a truncated sequence is refused");
    CHECK(!store_valid_text("abcdef", 5), "a string over the byte limit is refused");
    CHECK(store_valid_text("abcde", 5), "a string at the byte limit is accepted");
    CHECK(store_valid_text(NULL, 5), "an absent string counts as empty");
}

static void test_uuid(void)
{
    CHECK(store_valid_uuid(SITE), "a canonical uuid is valid");
    CHECK(store_valid_uuid("5D1C2B3A-0000-4000-8000-000000000001"), "upper case is valid");
    CHECK(!store_valid_uuid("5d1c2b3a00004000800000000000000001"), "without dashes is refused");
    CHECK(!store_valid_uuid("'; DROP TABLE sites; --"), "SQL is refused");
    CHECK(!store_valid_uuid(""), "empty is refused");
    CHECK(!store_valid_uuid(NULL), "absent is refused");
}

static Beseda__StoreAppend make_append(Beseda__Author *author)
{
    Beseda__StoreAppend a = BESEDA__STORE_APPEND__INIT;
    beseda__author__init(author);
    author->kind = "visitor";
    author->id = WHO;
    author->name = "Guest";
    a.site_id = SITE;
    a.conversation_id = CONV;
    a.author = author;
    a.client_msg_id = "c-1";
    a.text = "hello";
    a.epoch = 5;
    return a;
}

static void test_append(void)
{
    Beseda__Author au;
    Beseda__StoreAppend a = make_append(&au);
    CHECK(store_validate_append(&a) == STORE_OK, "a well-formed visitor append passes");
    au.kind = "operator";
    CHECK(store_validate_append(&a) == STORE_OK, "an operator append passes");
    au.kind = "system";
    au.id = "";
    CHECK(store_validate_append(&a) == STORE_OK, "a system append needs no author id");
    au.kind = "admin";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "an unknown author kind is refused");

    a = make_append(&au);
    au.id = "nope";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "a visitor author needs a uuid");
    a = make_append(&au);
    a.site_id = "";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "a missing site is refused");
    a = make_append(&au);
    a.conversation_id = "x";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "a malformed conversation id is refused");
    a = make_append(&au);
    a.client_msg_id = "";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "an append without client id is refused");
    a = make_append(&au);
    a.text = "\xfe";
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "invalid UTF-8 text is refused");
    a = make_append(&au);
    a.author = NULL;
    CHECK(store_validate_append(&a) == STORE_BAD_REQUEST, "an append without author is refused");
}

static void test_error_codes(void)
{
    CHECK(strcmp(store_err_code(STORE_OK), "") == 0, "success has no error code");
    CHECK(strcmp(store_err_code(STORE_UNAVAILABLE), "unavailable") == 0, "unavailable");
    CHECK(strcmp(store_err_code(STORE_BAD_REQUEST), "bad_request") == 0, "bad_request");
    CHECK(strcmp(store_err_code(STORE_NO_CONVERSATION), "no_conversation") == 0, "no_conversation");
    CHECK(strcmp(store_err_code(STORE_INTERNAL), "internal") == 0, "internal");
    CHECK(strcmp(store_err_code(STORE_FORBIDDEN), "forbidden") == 0, "forbidden");
    CHECK(strcmp(store_err_code(STORE_STALE_EPOCH), "stale_epoch") == 0, "stale_epoch");
}

static void test_msgs_within(void)
{
    static char big[8193];
    memset(big, 'x', sizeof big - 1);
    Beseda__ChatMessage m[200];
    Beseda__ChatMessage *p[200];
    for (int i = 0; i < 200; i++) {
        beseda__chat_message__init(&m[i]);
        m[i].text = big;
        p[i] = &m[i];
    }
    size_t k = store_msgs_within(p, 200, STORE_FETCH_MAX_BYTES);
    CHECK(k > 0 && k < 200, "200 messages of 8 KiB are cut by bytes");
    CHECK(k * (8192 + STORE_MSG_OVERHEAD) <= STORE_FETCH_MAX_BYTES, "what is kept fits the budget");
    CHECK(store_msgs_within(p, 200, 10) == 1, "one message always fits, however large");
    CHECK(store_msgs_within(p, 0, 10) == 0, "no messages, none kept");
    m[0].text = "hi";
    CHECK(store_msgs_within(p, 1, STORE_FETCH_MAX_BYTES) == 1, "short lists are kept whole");
}

int main(void)
{
    test_msgs_within();
    test_utf8();
    test_uuid();
    test_append();
    test_error_codes();
    return CHECK_DONE();
}
