/* The conversation cache and its access rule: visitors see only their own
 * conversations, operators read any of their site and act only on theirs. */
#include "check.h"
#include "conv_cache.h"
#include <stdio.h>
#include <string.h>

static Beseda__ConversationInfo info(const char *id, const char *site, const char *visitor,
                                     const char *op)
{
    Beseda__ConversationInfo c = BESEDA__CONVERSATION_INFO__INIT;
    c.id = (char *) id;
    c.site_id = (char *) site;
    c.visitor_id = (char *) visitor;
    c.operator_id = (char *) op;
    c.state = op[0] ? "assigned" : "queued";
    return c;
}

int main(void)
{
    conv_cache_t *cache = conv_cache_new(3, 1000);
    Beseda__ConversationInfo c1 = info("c1", "s1", "v1", "o1");
    conv_cache_put(cache, &c1, 0);
    const conv_entry_t *e = conv_cache_get(cache, "c1", 10);
    CHECK(e && strcmp(e->operator_id, "o1") == 0 && strcmp(e->state, "assigned") == 0,
          "a put conversation is found");
    CHECK(conv_cache_get(cache, "c1", 1000) == NULL, "an entry expires after its TTL");
    CHECK(conv_cache_get(cache, "nope", 10) == NULL, "unknown conversation: nothing");

    Beseda__ConversationInfo q = info("c2", "s1", "v1", "");
    conv_cache_put(cache, &q, 0);
    Beseda__ConversationInfo a = info("c2", "s1", "v1", "o2");
    conv_cache_put(cache, &a, 5);
    e = conv_cache_get(cache, "c2", 10);
    CHECK(e && strcmp(e->operator_id, "o2") == 0, "a later put replaces the entry");

    for (int i = 0; i < 10; i++) {
        char id[8];
        snprintf(id, sizeof id, "x%d", i);
        Beseda__ConversationInfo x = info(id, "s1", "v", "");
        conv_cache_put(cache, &x, 20);
    }
    CHECK(conv_cache_size(cache) <= 3, "the cache stays within its bound");

    Beseda__ConversationInfo empty = info("", "s1", "v1", "");
    size_t before = conv_cache_size(cache);
    conv_cache_put(cache, &empty, 0);
    CHECK(conv_cache_size(cache) == before, "a conversation without id is not kept");

    conv_entry_t ent;
    CHECK(conv_entry_from_info(&ent, &c1) == 0, "entry from info");
    CHECK(conv_may_access(&ent, "s1", "v1", "", CONV_ACT), "visitor acts on their own");
    CHECK(!conv_may_access(&ent, "s1", "v2", "", CONV_READ), "visitor cannot read another's");
    CHECK(!conv_may_access(&ent, "s2", "v1", "", CONV_READ), "same visitor id, other site: no");
    CHECK(conv_may_access(&ent, "s1", "", "o1", CONV_ACT), "assigned operator acts");
    CHECK(!conv_may_access(&ent, "s1", "", "o9", CONV_ACT), "other operator cannot act");
    CHECK(conv_may_access(&ent, "s1", "", "o9", CONV_READ), "operator of the site reads");
    CHECK(!conv_may_access(&ent, "s2", "", "o1", CONV_READ), "operator of another site: no");
    CHECK(!conv_may_access(&ent, "s1", "", "", CONV_READ), "no identity: no");
    conv_cache_destroy(&cache);
    CHECK(cache == NULL, "destroy nulls the cache");

    return CHECK_DONE();
}
