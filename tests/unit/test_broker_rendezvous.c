/* Rendezvous hashing: spread, stability, and minimal movement. */
#include "check.h"
#include "rendezvous.h"
#include <stdio.h>
#include <string.h>

int main(void)
{
    const char *three[] = { "router-a", "router-b", "router-c" };
    const char *two[] = { "router-a", "router-c" };   /* router-b died */
    int count[3] = { 0 }, moved_wrongly = 0, same_again = 1;
    for (int i = 0; i < 30000; i++) {
        char key[32];
        snprintf(key, sizeof key, "conv-%d", i);
        int owner = rendezvous_pick(three, 3, key);
        count[owner]++;
        if (rendezvous_pick(three, 3, key) != owner)
            same_again = 0;
        int after = rendezvous_pick(two, 2, key);
        /* Keys of the survivors stay where they were. */
        if (owner != 1 && strcmp(two[after], three[owner]) != 0)
            moved_wrongly++;
    }
    CHECK(same_again, "the same key always has the same owner");
    CHECK(count[0] > 9000 && count[1] > 9000 && count[2] > 9000, "keys spread evenly over three workers");
    CHECK(moved_wrongly == 0, "only the dead worker's keys move");
    CHECK(rendezvous_pick(three, 0, "k") == -1, "no candidates gives -1");
    CHECK(rendezvous_weight("a", "bc") != rendezvous_weight("ab", "c"), "name/key boundary matters");
    return CHECK_DONE();
}
