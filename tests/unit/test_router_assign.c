/* The choice of operator: only online operators under their limit; least
 * loaded by open/max ratio, then fewer open chats, then lowest id. */
#include "check.h"
#include "assign.h"
#include <stdio.h>

int main(void)
{
    char *all[] = { "a", "b", "c", "d" };
    assign_load_t loads[] = {
        { "c", 2, 5 }, { "a", 1, 5 }, { "b", 1, 5 }, { "d", 0, 5 },
    };
    CHECK(assign_choose(loads, 4, all, 4) == 3, "least loaded online operator wins");

    char *no_d[] = { "a", "b", "c" };
    CHECK(assign_choose(loads, 4, no_d, 3) == 1, "tie on load goes to the lowest id");

    char *only_c[] = { "c" };
    CHECK(assign_choose(loads, 4, only_c, 1) == 0, "offline operators are never chosen");

    CHECK(assign_choose(loads, 4, NULL, 0) == -1, "nobody online: nobody chosen");

    assign_load_t full[] = { { "a", 5, 5 }, { "b", 3, 3 }, { "c", 0, 0 } };
    CHECK(assign_choose(full, 3, all, 4) == -1, "operators at their limit are never chosen");

    assign_load_t ratio[] = { { "a", 1, 2 }, { "b", 2, 10 } };
    CHECK(assign_choose(ratio, 2, all, 4) == 1, "load is open chats relative to the limit");

    assign_load_t same_ratio[] = { { "a", 2, 4 }, { "b", 1, 2 } };
    CHECK(assign_choose(same_ratio, 2, all, 4) == 1, "equal ratio: fewer open chats wins");

    CHECK(assign_choose(loads, 0, all, 4) == -1, "no operators on the site: nobody chosen");

    /* Assigning a queue: each pick counts, so picks spread out. */
    assign_load_t q[] = { { "a", 0, 2 }, { "b", 0, 2 } };
    char order[5] = "";
    for (int i = 0; i < 5; i++) {
        int k = assign_choose(q, 2, all, 4);
        order[i] = k < 0 ? '-' : q[k].operator_id[0];
        if (k >= 0)
            q[k].open_chats++;
    }
    CHECK(order[0] == 'a' && order[1] == 'b' && order[2] == 'a' && order[3] == 'b'
          && order[4] == '-', "a queue spreads over operators up to their limits");

    return CHECK_DONE();
}
