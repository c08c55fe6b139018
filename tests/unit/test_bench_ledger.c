/* The load generator's message book: client ids round-trip, latency is
 * measured from the scheduled time, and lost, duplicated, out-of-order and
 * late messages are counted as such. */
#include "check.h"
#include "ledger.h"

#include <string.h>

static void test_client_ids(void)
{
    char buf[LEDGER_ID_MAX];
    int n = ledger_format_id(buf, sizeof buf, 'v', 4999, 123, 987654321012LL);
    CHECK(n > 0 && strcmp(buf, "v4999.123.987654321012") == 0, "format");
    char kind;
    uint32_t vidx, msgno;
    int64_t sched;
    CHECK(ledger_parse_id(buf, (size_t) n, &kind, &vidx, &msgno, &sched) == 0 && kind == 'v' && vidx == 4999
              && msgno == 123 && sched == 987654321012LL, "parse gives back what was formatted");
    CHECK(ledger_parse_id("x1.2.3", 6, &kind, &vidx, &msgno, &sched) == -1, "unknown kind refused");
    CHECK(ledger_parse_id("v1.2.3x", 7, &kind, &vidx, &msgno, &sched) == -1, "trailing junk refused");
    CHECK(ledger_parse_id("v1..3", 5, &kind, &vidx, &msgno, &sched) == -1, "empty number refused");
    CHECK(ledger_parse_id("o99999999999.2.3", 16, &kind, &vidx, &msgno, &sched) == -1, "visitor index too big refused");
    CHECK(ledger_format_id(buf, 5, 'v', 1, 2, 3) == -1, "format into a short buffer fails");
}

static void test_latency_from_schedule(void)
{
    ledger_t *l = ledger_new(2);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 10000);
    int64_t m = ledger_add(l, 1, 1000);
    CHECK(m == 0, "first message is msgno 0");
    CHECK(ledger_on_ack(l, 1, 0, 1500) == 1, "ack is new");
    CHECK(ledger_on_delivered(l, 1, 0, 1, 1700) == 1, "delivery is new");
    CHECK(ledger_on_reply_sent(l, 1, 0) == 1, "reply sent");
    CHECK(ledger_on_reply_received(l, 1, 0, 2, 1700, 2000) == 1, "reply received");
    CHECK(hist_percentile(l->ack, 50) == 500, "ack latency counts from the scheduled time");
    CHECK(hist_percentile(l->delivery, 50) == 700, "delivery latency counts from the scheduled time");
    CHECK(hist_percentile(l->reply, 50) == 300, "reply latency counts from the reply's scheduled time");
    CHECK(ledger_step_complete(l, 1), "step complete");
    CHECK(l->c.delivered_in_window == 1, "delivered inside the window");
    ledger_destroy(&l);
}

static void test_lost_dup_order(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 100);
    for (int i = 0; i < 4; i++)
        ledger_add(l, 0, i * 10);
    ledger_on_ack(l, 0, 0, 50);
    CHECK(ledger_on_ack(l, 0, 0, 60) == 0 && l->c.dup_ack == 1, "second ack is a duplicate");
    ledger_on_delivered(l, 0, 0, 1, 50);
    ledger_on_delivered(l, 0, 2, 3, 200);
    CHECK(l->c.delivered_in_window == 1, "a delivery after the window is not in the window count");
    ledger_on_delivered(l, 0, 1, 2, 60);
    CHECK(l->c.out_of_order == 1, "msgno 1 after msgno 2 is out of order");
    CHECK(ledger_on_delivered(l, 0, 2, 3, 70) == 0 && l->c.dup_delivery == 1, "delivery twice is a duplicate");
    CHECK(!ledger_step_complete(l, 0), "step not complete with missing acks");
    ledger_lost_t lost = ledger_step_lost(l, 0);
    CHECK(lost.ack == 3 && lost.delivery == 1, "lost acks and deliveries counted");
    CHECK(ledger_on_ack(l, 0, 9, 1) == -1 && l->c.unknown == 1, "unknown msgno");
    ledger_step_begin(l, 1000);
    ledger_on_ack(l, 0, 3, 500);
    CHECK(l->c.late == 1 && l->c.acked == 0, "ack of an earlier step's message is late, not in this step");
    ledger_destroy(&l);
}

static void test_rejected_is_not_lost(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 1000);
    ledger_add(l, 0, 0);
    ledger_add(l, 0, 0);
    CHECK(ledger_on_rejected(l, 0, 1) == 1, "rejection recorded");
    ledger_on_ack(l, 0, 0, 1);
    ledger_on_delivered(l, 0, 0, 1, 1);
    CHECK(ledger_step_complete(l, 0), "a refused message does not hold the step open");
    ledger_lost_t lost = ledger_step_lost(l, 0);
    CHECK(lost.ack == 0 && lost.delivery == 0 && lost.rejected == 1, "refused counts as rejected, not lost");
    ledger_destroy(&l);
}

static void test_sync_overlap_is_not_duplicate(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 1000);
    ledger_add(l, 0, 0);
    ledger_add(l, 0, 0);
    ledger_on_delivered(l, 0, 1, 2, 5);
    CHECK(ledger_on_synced(l, 0, 1, 6) == 0 && l->c.dup_delivery == 0, "a synced message already had is no duplicate");
    CHECK(ledger_on_synced(l, 0, 0, 7) == 1 && l->c.out_of_order == 0, "an older synced message is new and not out of order");
    CHECK(l->c.delivered == 2, "both delivered");
    ledger_destroy(&l);
}

static void test_seq_order(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 1000);
    ledger_add(l, 0, 0);
    ledger_add(l, 0, 0);
    ledger_on_operator_echo(l, 0, 0, 5);
    ledger_on_delivered(l, 0, 0, 4, 10);
    CHECK(l->c.out_of_order == 1, "a seq below one already seen on that side is out of order");
    ledger_on_delivered(l, 0, 1, 6, 10);
    CHECK(l->c.out_of_order == 1, "increasing seqs are in order");
    ledger_destroy(&l);
}

static void test_packet_ids(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 0);
    for (int i = 0; i < 70000; i++)
        ledger_add(l, 0, 0);
    CHECK(ledger_packet_id(0) == 1 && ledger_packet_id(65535) == 1, "packet ids cycle 1..65535");
    CHECK(ledger_msgno_for_packet(l, 0, 1) == 0, "packet 1 is msgno 0 while nothing is acked");
    for (uint32_t i = 0; i < 65535; i++)
        ledger_on_ack(l, 0, i, 1);
    CHECK(ledger_msgno_for_packet(l, 0, 1) == 65535, "after the acks, packet 1 is msgno 65535");
    CHECK(ledger_msgno_for_packet(l, 0, 5) == 65539, "packet 5 is msgno 65539");
    CHECK(ledger_msgno_for_packet(l, 0, 0) == -1, "packet id 0 is invalid");
    ledger_destroy(&l);
}

static void test_replies_in_window(void)
{
    ledger_t *l = ledger_new(1);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, 1000);
    ledger_add(l, 0, 100);
    ledger_add(l, 0, 200);
    ledger_on_reply_sent(l, 0, 0);
    ledger_on_reply_sent(l, 0, 1);
    ledger_on_reply_received(l, 0, 0, -1, 500, 900);
    ledger_on_reply_received(l, 0, 1, -1, 600, 1500);
    CHECK(l->c.replies_received == 2, "both replies received");
    CHECK(l->c.replies_in_window == 1, "only the reply before the end of sending counts as goodput in the window");
    ledger_destroy(&l);
}

static void test_visitor_settled(void)
{
    ledger_t *l = ledger_new(2);
    if (!l) {
        CHECK(0, "allocation");
        return;
    }
    ledger_step_begin(l, INT64_MAX);
    CHECK(!ledger_visitor_settled(l, 0, 1), "a visitor that sent nothing is not settled");
    ledger_add(l, 0, 10);
    ledger_add(l, 1, 10);
    ledger_on_ack(l, 0, 0, 20);
    CHECK(!ledger_visitor_settled(l, 0, 1) && !ledger_visitor_delivered(l, 0), "acked but not delivered");
    ledger_on_delivered(l, 0, 0, 1, 30);
    CHECK(ledger_visitor_delivered(l, 0), "delivered to an operator");
    CHECK(ledger_visitor_settled(l, 0, 0), "settled without replies once acked and delivered");
    CHECK(!ledger_visitor_settled(l, 0, 1), "with replies it waits for the reply");
    ledger_on_reply_sent(l, 0, 0);
    ledger_on_reply_received(l, 0, 0, 2, 30, 40);
    CHECK(ledger_visitor_settled(l, 0, 1), "settled once the reply came back");
    ledger_on_rejected(l, 1, 0);
    CHECK(ledger_visitor_settled(l, 1, 1) && !ledger_visitor_delivered(l, 1), "a refused message settles without delivery");
    ledger_step_begin(l, INT64_MAX);
    CHECK(!ledger_visitor_settled(l, 0, 1), "a new step starts unsettled");
    CHECK(!ledger_visitor_settled(l, 7, 1), "an unknown visitor is not settled");
    ledger_destroy(&l);
}

int main(void)
{
    test_client_ids();
    test_latency_from_schedule();
    test_lost_dup_order();
    test_rejected_is_not_lost();
    test_sync_overlap_is_not_duplicate();
    test_seq_order();
    test_packet_ids();
    test_replies_in_window();
    test_visitor_settled();
    return CHECK_DONE();
}
