// Team chat (docs/ROUTING.md "Transfer and team chat"): the operators of a
// site share one room. A message is acknowledged with a gap-free per-site
// seq, deduplicated on its client id (a resend answers the first seq and is
// not delivered again), delivered in order to every operator console of the
// site on every gateway, the sender's own included, and read back with
// team_sync. Visitors, and operators of other sites, never receive it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => {
  c = await startCluster({ gateways: 2, routers: 2 });
});
after(async () => { if (c) await c.stop(); });

/** Every frame the client receives from now on (next() takes frames out of its queue). */
function tap(client) {
  const seen = [...client.frames];
  const onFrame = client.onFrame.bind(client);
  client.onFrame = (data, isBinary) => { onFrame(data, isBinary); seen.push(client.frames[client.frames.length - 1]); };
  return seen;
}
const teamSend = (client, text, id = clientId('t')) =>
  client.request({ type: 'team_send', client_id: id, text }, 'team_ack');
const teamOf = (seen) => seen.filter((f) => f.type === 'team_message').map((f) => f.message);
/** Waits until the client has received team messages up to seq `last`. */
const receivedUpTo = (client, seen, last) =>
  waitFor(() => teamOf(seen).some((m) => m.seq === last), { what: `team message ${last}` });

test('two operators on two gateways: ack, dedupe, order, sync; visitors and other sites never see it', async () => {
  const site = await c.createSite('Team chat');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const other = await c.createSite('Another shop');
  const x = await c.createOperator(other.id, { name: 'Xenia' });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const opB = await operator(c.wsUrl(1, 'operator'), b);
  const opX = await operator(c.wsUrl(1, 'operator'), x);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const v2 = await visitor(c.wsUrl(1, 'visitor'), site.id);
  const [seenA, seenB, seenX, seenV, seenV2] = [opA, opB, opX, v, v2].map(tap);
  // A visitor of the site in a chat: it is subscribed to the site's topics.
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hi' }, 'ack')).type, 'ack');

  const id1 = clientId('t');
  const ack1 = await teamSend(opA, 'Who can take a call?', id1);
  assert.equal(ack1.type, 'team_ack', JSON.stringify(ack1));
  assert.equal(ack1.client_id, id1);
  assert.equal(ack1.duplicate, false);
  assert.ok(ack1.seq === 1 && ack1.ts > 0, JSON.stringify(ack1));
  await receivedUpTo(opB, seenB, 1);
  const m1 = teamOf(seenB)[0];
  assert.deepEqual([m1.seq, m1.client_id, m1.text], [1, id1, 'Who can take a call?']);
  assert.deepEqual([m1.author.kind, m1.author.id, m1.author.name], ['operator', a.id, 'Anna']);
  await receivedUpTo(opA, seenA, 1);                      // the sender's console too

  // A resend of the same client id: the first seq, not delivered again.
  const again = await teamSend(opA, 'Who can take a call?', id1);
  assert.deepEqual([again.seq, again.duplicate], [1, true]);
  // The same client id from another author is another message.
  const ack2 = await teamSend(opB, 'I can', id1);
  assert.deepEqual([ack2.seq, ack2.duplicate], [2, false]);
  for (let i = 0; i < 5; i++) assert.equal((await teamSend(i % 2 ? opA : opB, `in order ${i}`)).seq, 3 + i);
  // At once from both: every seq once, no gap.
  const burst = await Promise.all([...Array(6)].map((_, i) => teamSend(i % 2 ? opA : opB, `burst ${i}`)));
  assert.deepEqual(burst.map((f) => f.seq).sort((p, q) => p - q), [8, 9, 10, 11, 12, 13]);

  for (const [client, seen] of [[opA, seenA], [opB, seenB]]) {
    await receivedUpTo(client, seen, 13);
    const seqs = teamOf(seen).map((m) => m.seq);
    assert.deepEqual(seqs.slice(0, 7), [1, 2, 3, 4, 5, 6, 7], 'sequential sends arrive in order');
    assert.deepEqual([...seqs].sort((p, q) => p - q), [...Array(13)].map((_, i) => i + 1), `once each: ${seqs}`);
  }

  const all = await opB.request({ type: 'team_sync', after: 0 }, 'team_messages');
  assert.equal(all.type, 'team_messages', JSON.stringify(all));
  assert.deepEqual(all.messages.map((m) => m.seq), [...Array(13)].map((_, i) => i + 1));
  assert.deepEqual([all.last_seq, all.more], [13, false]);
  assert.equal(all.messages[1].author.name, 'Boris');
  const tail = await opA.request({ type: 'team_sync', after: 11 }, 'team_messages');
  assert.deepEqual(tail.messages.map((m) => m.seq), [12, 13]);

  // Another site's room is its own, and empty.
  const xs = await opX.request({ type: 'team_sync', after: 0 }, 'team_messages');
  assert.deepEqual([xs.messages.length, xs.last_seq], [0, 0]);
  const xAck = await teamSend(opX, 'hello from elsewhere');
  assert.equal(xAck.seq, 1);
  await receivedUpTo(opX, seenX, 1);

  const fromVisitor = await v.request({ type: 'team_send', client_id: clientId('t'), text: 'let me in' }, 'team_ack');
  assert.equal(fromVisitor.type, 'error', JSON.stringify(fromVisitor));
  const syncVisitor = await v.request({ type: 'team_sync', after: 0 }, 'team_messages');
  assert.equal(syncVisitor.type, 'error', JSON.stringify(syncVisitor));

  // Last, so that everything above had its time to arrive anywhere.
  await teamSend(opB, 'the end');
  await receivedUpTo(opA, seenA, 14);
  assert.ok(!teamOf(seenX).some((m) => m.text !== 'hello from elsewhere'), 'another site got our team chat');
  for (const seen of [seenV, seenV2]) {
    const text = JSON.stringify(seen);
    assert.ok(!seen.some((f) => f.type === 'team_message') && !text.includes('Who can take a call'),
      `a visitor received the team chat: ${text.slice(0, 1500)}`);
  }
  for (const cl of [opA, opB, opX, v, v2]) cl.close();
});

test('store: a team message from someone who is no operator of the site is refused; seq stays gap-free', async () => {
  const site = await c.createSite('Team SQL');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const other = await c.createSite('Other');
  const x = await c.createOperator(other.id, { name: 'Xenia' });
  const append = (op, id, text) => c.sql(`SELECT seq, duplicate FROM beseda_team_append('${site.id}', '${op.id}', '',
    '${id}', '${text}')`);
  assert.deepEqual(append(a, 'x1', 'one'), [['1', 'f']]);
  assert.deepEqual(append(x, 'x2', 'intruder'), []);
  assert.deepEqual(append({ id: randomUUID() }, 'x3', 'nobody'), []);
  assert.deepEqual(append(a, 'x1', 'one again'), [['1', 't']]);
  assert.deepEqual(append(a, 'x4', 'two'), [['2', 'f']]);
  assert.deepEqual(c.sql(`SELECT seq, body FROM team_messages WHERE site_id = '${site.id}' ORDER BY seq`),
    [['1', 'one'], ['2', 'two']]);
});
