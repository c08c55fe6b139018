/* Group-commit batches: capacity, and the order appends run in (grouped by
 * conversation for a global lock order, arrival order kept within one). */
#include "check.h"
#include "../../store/append.h"
#include <stdlib.h>
#include <string.h>

static store_item_t *make_item(const char *conversation, const char *client_id)
{
    store_item_t *item = calloc(1, sizeof *item);
    Beseda__StoreRequest *msg = calloc(1, sizeof *msg);
    Beseda__StoreAppend *a = calloc(1, sizeof *a);
    if (!item || !msg || !a)
        abort();
    beseda__store_request__init(msg);
    beseda__store_append__init(a);
    a->conversation_id = strdup(conversation);
    a->client_msg_id = strdup(client_id);
    msg->body_case = BESEDA__STORE_REQUEST__BODY_APPEND;
    msg->append = a;
    item->msg = msg;             /* freed by free_unpacked: all heap, default allocator */
    return item;
}

static void test_capacity(void)
{
    store_batch_t *b = store_batch_new(2);
    store_item_t *x = make_item("b", "1"), *y = make_item("a", "2"), *z = make_item("a", "3");
    CHECK(store_batch_add(b, &x) == 0 && x == NULL, "adding takes ownership");
    CHECK(!store_batch_full(b), "not full below max");
    CHECK(store_batch_add(b, &y) == 0 && store_batch_full(b), "full at max");
    CHECK(store_batch_add(b, &z) == -1 && z != NULL, "a full batch refuses and leaves the item");
    CHECK(store_batch_count(b) == 2, "count");
    store_batch_clear(b);
    CHECK(store_batch_count(b) == 0 && !store_batch_full(b), "clear empties the batch");
    CHECK(store_batch_add(b, &z) == 0, "a cleared batch takes items again");
    store_batch_destroy(&b);
    CHECK(b == NULL, "destroy nulls the pointer");
}

static const char *client_id_at(store_batch_t *b, size_t i)
{
    return store_batch_item(b, i)->msg->append->client_msg_id;
}

static void test_order(void)
{
    store_batch_t *b = store_batch_new(8);
    const char *convs[] = { "cc", "aa", "cc", "bb", "aa", "AA" };
    const char *ids[] = { "c1", "a1", "c2", "b1", "a2", "a3" };
    for (int i = 0; i < 6; i++) {
        store_item_t *item = make_item(convs[i], ids[i]);
        store_batch_add(b, &item);
    }
    size_t order[6];
    store_batch_order(b, order);
    const char *want[] = { "a1", "a2", "a3", "b1", "c1", "c2" };
    int same = 1;
    for (int i = 0; i < 6; i++)
        same &= strcmp(client_id_at(b, order[i]), want[i]) == 0;
    CHECK(same, "grouped by conversation (case-insensitively), arrival order kept within one");
    store_batch_destroy(&b);

    b = store_batch_new(1);
    for (int i = 0; i < 6; i++)
        order[i] = 99;
    store_batch_order(b, order);
    int untouched = 1;
    for (int i = 0; i < 6; i++)
        untouched &= order[i] == 99;
    CHECK(untouched, "ordering an empty batch writes no position");
    store_item_t *one = make_item("aa", "only");
    store_batch_add(b, &one);
    store_batch_order(b, order);
    CHECK(order[0] == 0 && order[1] == 99, "a batch of one orders its one item and nothing past it");
    store_batch_destroy(&b);
}

int main(void)
{
    test_capacity();
    test_order();
    return CHECK_DONE();
}
