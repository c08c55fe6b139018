/* Settings validation (store/settings_check.c): good documents pass as they
 * are, every bad one is refused with the path of its first problem. */
#include "check.h"
#include "../../store/settings_check.h"
#include <string.h>

#define OP1 "0b9d8c7e-1111-4111-8111-111111111111"
#define OP2 "0b9d8c7e-2222-4222-8222-222222222222"

static char err[512];

/* Checks text as section; returns whether it passed (err holds why not). */
static bool passes(const char *section, const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    if (!doc) {
        snprintf(err, sizeof err, "test JSON does not parse: %s", jerr.text);
        return false;
    }
    err[0] = '\0';
    json_t *out = settings_check(section, doc, NULL, err, sizeof err);
    bool ok = out != NULL;
    if (out && !json_equal(out, doc))
        ok = false;                      /* a valid document is stored as given */
    json_decref(out);
    json_decref(doc);
    return ok;
}

/* Refused, with a message that starts with want_path. */
static bool refused(const char *section, const char *text, const char *want)
{
    bool ok = passes(section, text);
    if (!ok && strncmp(err, want, strlen(want)) != 0)
        printf("# got \"%s\", want \"%s...\"\n", err, want);
    return !ok && strncmp(err, want, strlen(want)) == 0;
}

static const char *GOOD_ROUTING =
    "{\"timezone\":\"Europe/Moscow\","
    " \"groups\":[{\"id\":\"sales\",\"name\":\"Sales\",\"operators\":[\"" OP1 "\",\"" OP2 "\"]},"
    "            {\"id\":\"support\",\"name\":\"Поддержка\",\"operators\":[\"" OP1 "\"]}],"
    " \"rules\":[{\"name\":\"Buyers from ads\",\"match\":{\"utm_source\":\"yandex\",\"url\":\"*/shop/*\"},"
    "            \"groups\":[\"sales\"],\"fallback_groups\":[\"support\"],\"mode\":\"ring\",\"notify\":2,"
    "            \"response_limit_s\":45,"
    "            \"hours\":{\"mon\":[[\"09:00\",\"18:00\"]],\"fri\":[[\"09:00\",\"17:00\"],[\"20:00\",\"24:00\"]]}},"
    "           {\"name\":\"Help\",\"match\":{\"survey\":[\"Help with an order\",\"Other\"],"
    "            \"language\":\"ru\",\"country\":\"RU\",\"city\":\"Moscow\",\"referrer\":\"*google*\"},"
    "            \"groups\":[\"support\"],\"mode\":\"auto\",\"response_limit_s\":0},"
    "           {\"name\":\"Everyone else\",\"match\":{},\"groups\":[\"sales\",\"support\"]}]}";

static void test_routing_good(void)
{
    CHECK(passes("routing", GOOD_ROUTING), "the documented example passes");
    CHECK(passes("routing", "{}"), "an empty document passes");
    CHECK(passes("routing", "{\"timezone\":\"UTC\"}"), "UTC");
    CHECK(passes("routing", "{\"timezone\":\"UTC+03:00\"}"), "UTC+03:00");
    CHECK(passes("routing", "{\"timezone\":\"UTC-05:30\"}"), "UTC-05:30");
    CHECK(passes("routing", "{\"groups\":[{\"id\":\"a-b_9\",\"name\":\"x\"}],"
                            "\"rules\":[{\"name\":\"r\",\"groups\":[\"a-b_9\"]}]}"),
          "a group without operators, a rule without match");
}

static void test_routing_bad(void)
{
    CHECK(refused("routing", "{\"bogus\":1}", "bogus: unknown field"), "unknown top-level key");
    CHECK(refused("routing", "[]", "routing: must be a JSON object"), "not an object");
    CHECK(refused("routing", "{\"timezone\":\"UTC+3\"}", "timezone:"), "POSIX-style offset refused");
    CHECK(refused("routing", "{\"timezone\":\"UTC+15:00\"}", "timezone:"), "offset beyond 14 hours");
    CHECK(refused("routing", "{\"timezone\":\"Europe/Mos cow\"}", "timezone:"), "a space in a name");
    CHECK(refused("routing", "{\"timezone\":5}", "timezone:"), "a number");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"Sales\",\"name\":\"x\"}]}", "groups[0].id:"),
          "upper case group id");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"abcdefghijabcdefghijabcdefghijabc\",\"name\":\"x\"}]}",
                  "groups[0].id:"), "33-character group id");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\"},{\"id\":\"a\",\"name\":\"y\"}]}",
                  "groups[1].id: duplicate"), "duplicate group ids");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"\"}]}", "groups[0].name:"), "empty name");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\",\"operators\":[\"nope\"]}]}",
                  "groups[0].operators[0]:"), "an operator that is no uuid");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\",\"operators\":[\"" OP1 "\",\"" OP1 "\"]}]}",
                  "groups[0].operators[1]: listed twice"), "an operator twice in a group");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\",\"extra\":1}]}",
                  "groups[0].extra: unknown field"), "unknown group key");
    CHECK(refused("routing", "{\"rules\":[{\"name\":\"r\",\"groups\":[\"nope\"]}]}",
                  "rules[0].groups[0]: no group"), "a rule names an unknown group");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\"}],"
                             "\"rules\":[{\"name\":\"r\",\"groups\":[]}]}", "rules[0].groups:"),
          "a rule without groups");
    CHECK(refused("routing", "{\"groups\":[{\"id\":\"a\",\"name\":\"x\"}],"
                             "\"rules\":[{\"name\":\"r\",\"groups\":[\"a\"],\"fallback_groups\":[\"b\"]}]}",
                  "rules[0].fallback_groups[0]:"), "an unknown fallback group");
    const char *head = "{\"groups\":[{\"id\":\"a\",\"name\":\"x\"}],\"rules\":[{\"name\":\"ok\",\"groups\":[\"a\"]},"
                       "{\"name\":\"r\",\"groups\":[\"a\"],";
    char doc[1024];
#define RULE(extra, want, name) do { \
        snprintf(doc, sizeof doc, "%s%s}]}", head, extra); \
        CHECK(refused("routing", doc, want), name); \
    } while (0)
    RULE("\"mode\":\"random\"", "rules[1].mode:", "an unknown mode");
    RULE("\"notify\":0", "rules[1].notify:", "notify 0");
    RULE("\"notify\":51", "rules[1].notify:", "notify 51");
    RULE("\"notify\":\"2\"", "rules[1].notify:", "notify as text");
    RULE("\"response_limit_s\":4", "rules[1].response_limit_s:", "a 4 s limit");
    RULE("\"response_limit_s\":86401", "rules[1].response_limit_s:", "a limit over a day");
    RULE("\"match\":{\"ip\":\"1.2.3.4\"}", "rules[1].match.ip: unknown field", "an unknown condition");
    RULE("\"match\":{\"url\":\"\"}", "rules[1].match.url:", "an empty pattern");
    RULE("\"match\":{\"url\":[]}", "rules[1].match.url:", "an empty list");
    RULE("\"match\":{\"url\":[\"a\",3]}", "rules[1].match.url[1]:", "a number in a list");
    RULE("\"match\":{\"country\":\"RUS\"}", "rules[1].match.country:", "a three-letter country");
    RULE("\"match\":[]", "rules[1].match:", "match not an object");
    RULE("\"hours\":{\"mon\":[[\"18:00\",\"09:00\"]]}", "rules[1].hours.mon[0]: end before start",
         "end before start");
    RULE("\"hours\":{\"mon\":[[\"09:00\",\"09:00\"]]}", "rules[1].hours.mon[0]: end before start",
         "an empty interval");
    RULE("\"hours\":{\"mon\":[[\"24:00\",\"24:00\"]]}", "rules[1].hours.mon[0]: bad start",
         "24:00 as a start");
    RULE("\"hours\":{\"mon\":[[\"09:00\",\"25:00\"]]}", "rules[1].hours.mon[0]: bad end", "25:00");
    RULE("\"hours\":{\"mon\":[[\"9:00\",\"18:00\"]]}", "rules[1].hours.mon[0]: bad start", "9:00");
    RULE("\"hours\":{\"mon\":[[\"09:00\"]]}", "rules[1].hours.mon[0]:", "a half interval");
    RULE("\"hours\":{\"monday\":[]}", "rules[1].hours.monday: unknown field", "a long day name");
#undef RULE
    CHECK(refused("routing", "{\"rules\":[{\"groups\":[]}]}", "rules[0].name:"), "a rule without a name");
}

static void test_survey(void)
{
    CHECK(passes("survey", "{\"enabled\":true,\"name\":\"required\",\"email\":\"optional\",\"phone\":\"off\","
                           "\"question\":\"What do you need?\",\"choices\":[\"Buy\",\"Help with an order\"],"
                           "\"question_required\":true}"), "the documented survey passes");
    CHECK(passes("survey", "{\"enabled\":false}"), "disabled");
    CHECK(refused("survey", "{\"enabled\":\"yes\"}", "enabled:"), "enabled not a boolean");
    CHECK(refused("survey", "{\"name\":\"maybe\"}", "name:"), "an unknown field mode");
    CHECK(refused("survey", "{\"question\":\"q\",\"choices\":[\"a\",\"a\"]}", "choices[1]: listed twice"),
          "duplicate choices");
    CHECK(refused("survey", "{\"choices\":[\"a\"]}", "choices: need a question"), "choices without a question");
    CHECK(refused("survey", "{\"question_required\":true}", "question_required:"), "required without question");
    CHECK(refused("survey", "{\"colour\":\"red\"}", "colour: unknown field"), "unknown survey key");
}

static void test_offline(void)
{
    CHECK(passes("offline", "{\"smtp_url\":\"smtp://mail.example:587\",\"smtp_user\":\"\",\"smtp_password\":\"\","
                            "\"from\":\"chat@shop.example\",\"to\":[\"support@shop.example\"]}"),
          "the documented offline section passes");
    CHECK(passes("offline", "{\"smtp_url\":\"smtps://mail.example\"}"), "smtps");
    CHECK(refused("offline", "{\"smtp_url\":\"http://mail.example\"}", "smtp_url:"), "http URL");
    CHECK(refused("offline", "{\"from\":\"a@b@c\"}", "from:"), "two @");
    CHECK(refused("offline", "{\"from\":\"ivan@пример.рф\"}", "from:"), "non-ASCII address");
    CHECK(refused("offline", "{\"to\":[]}", "to:"), "no recipients");
    CHECK(refused("offline", "{\"to\":[\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\",\"a@b\"]}",
                  "to:"), "11 recipients");
    CHECK(refused("offline", "{\"to\":[\"not an address\"]}", "to[0]:"), "a bad recipient");
    CHECK(refused("offline", "{\"smtp_host\":\"x\"}", "smtp_host: unknown field"), "unknown offline key");

    /* An absent password keeps the stored one; a given one replaces it. */
    json_t *stored = json_loads("{\"smtp_password\":\"s3cret\"}", 0, NULL);
    json_t *doc = json_loads("{\"smtp_url\":\"smtp://m\"}", 0, NULL);
    json_t *out = settings_check("offline", doc, stored, err, sizeof err);
    CHECK(out && strcmp(json_string_value(json_object_get(out, "smtp_password")), "s3cret") == 0,
          "absent smtp_password keeps the stored one");
    json_t *pub = settings_public(NULL, NULL, out, 7);
    CHECK(pub && !json_object_get(json_object_get(pub, "offline"), "smtp_password")
          && json_is_true(json_object_get(json_object_get(pub, "offline"), "smtp_password_set"))
          && json_integer_value(json_object_get(pub, "version")) == 7,
          "the public document hides the password");
    CHECK(json_is_array(json_object_get(json_object_get(pub, "routing"), "rules")),
          "the public document has routing defaults");
    json_decref(pub);
    json_decref(out);
    json_decref(doc);
    doc = json_loads("{\"smtp_password\":\"new\"}", 0, NULL);
    out = settings_check("offline", doc, stored, err, sizeof err);
    CHECK(out && strcmp(json_string_value(json_object_get(out, "smtp_password")), "new") == 0,
          "a given smtp_password replaces it");
    json_decref(out);
    json_decref(doc);
    json_decref(stored);
    CHECK(refused("bogus", "{}", "bogus: unknown section"), "an unknown section");
}

static void test_helpers(void)
{
    int m = 1;
    CHECK(settings_tz_offset("UTC", &m) && m == 0, "UTC is offset 0");
    CHECK(settings_tz_offset("UTC+03:00", &m) && m == 180, "UTC+03:00 is east");
    CHECK(settings_tz_offset("UTC-05:30", &m) && m == -330, "UTC-05:30 is west");
    CHECK(!settings_tz_offset("Europe/Moscow", &m), "a name is no offset");
    CHECK(settings_valid_email("ivan@x.example"), "an address");
    CHECK(!settings_valid_email("ivan@"), "nothing after @");
    CHECK(!settings_valid_email("@x"), "nothing before @");
    CHECK(!settings_valid_email("a b@x"), "a space");
    CHECK(settings_valid_phone("+7 900 000-00-00"), "a phone");
    CHECK(!settings_valid_phone("call me"), "words are no phone");
    CHECK(!settings_valid_phone("+-"), "no digit");
}

/* Operator ids of groups are stored in lower case, whatever case was sent. */
static void test_lower_ids(void)
{
    json_t *doc = json_loads("{\"groups\":[{\"id\":\"a\",\"name\":\"A\",\"operators\":"
                             "[\"5D1C0000-AAAA-4BBB-8CCC-DDDDEEEEFFFF\",\"5d1c0000-aaaa-4bbb-8ccc-000000000001\"]}]}",
                             0, NULL);
    json_t *out = settings_check("routing", doc, NULL, err, sizeof err);
    const json_t *ops = json_object_get(json_array_get(json_object_get(out, "groups"), 0), "operators");
    CHECK(out && strcmp(json_string_value(json_array_get(ops, 0)), "5d1c0000-aaaa-4bbb-8ccc-ddddeeeeffff") == 0,
          "an upper-case operator id is stored in lower case");
    CHECK(out && strcmp(json_string_value(json_array_get(ops, 1)), "5d1c0000-aaaa-4bbb-8ccc-000000000001") == 0,
          "a lower-case one as it is");
    json_decref(out);
    json_decref(doc);
}

int main(void)
{
    test_lower_ids();
    test_routing_good();
    test_routing_bad();
    test_survey();
    test_offline();
    test_helpers();
    return CHECK_DONE();
}
