/* Claims: one assignment per conversation at a time on a router; a claim
 * lapses by itself; the set stays bounded. */
#include "claim.h"
#include "check.h"

int main(void)
{
    claim_set_t *set = claim_set_new(3);
    CHECK(set != NULL, "a claim set is created");
    CHECK(claim_take(set, "c1", 1000, 500), "a free conversation can be claimed");
    CHECK(!claim_take(set, "c1", 1100, 500), "a held claim cannot be taken again");
    CHECK(claim_held(set, "c1", 1499), "the claim holds until its hold time");
    CHECK(claim_take(set, "c1", 1500, 500), "a lapsed claim can be taken again");
    claim_release(set, "c1");
    CHECK(!claim_held(set, "c1", 1600), "a released claim is free");
    CHECK(claim_take(set, "c1", 1600, 500), "and can be taken again");
    CHECK(!claim_take(set, "", 1600, 500) && !claim_take(set, NULL, 1600, 500),
          "an empty key is never claimed");
    claim_release(set, "never-claimed");
    CHECK(claim_count(set) == 1, "releasing an unknown key changes nothing");

    CHECK(claim_take(set, "c2", 1600, 100) && claim_take(set, "c3", 1600, 500), "fill the set");
    CHECK(claim_take(set, "c4", 1800, 500), "a full set makes room by dropping lapsed claims");
    CHECK(!claim_held(set, "c2", 1800) && claim_held(set, "c3", 1800), "only the lapsed one went");
    CHECK(claim_count(set) <= 3, "the set stays within its bound");
    CHECK(claim_take(set, "c5", 1800, 500), "a set full of live claims still takes a new one");
    CHECK(claim_count(set) <= 3 && claim_held(set, "c5", 1800), "by forgetting the others");

    claim_set_destroy(&set);
    CHECK(set == NULL, "destroy nulls the pointer");
    claim_set_destroy(&set);
    return CHECK_DONE();
}
