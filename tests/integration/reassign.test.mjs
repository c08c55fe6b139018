// An operator who goes offline does not strand their chats: when their
// presence ends (a dead gateway's TTL runs out, or the console closed and
// the reassign grace passed) one router notices, tells the site the new
// count, and hands each open chat to another online operator with room, or
// back to the queue. A chat is announced (`assigned`) once per change, to
// one operator, whatever races between the two routers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

const GRACE_MS = 1000;
let c;
before(async () => {
  c = await startCluster({
    gateways: 2, routers: 2,
    env: { BESEDA_PRESENCE_BEAT_MS: '500', BESEDA_PRESENCE_TTL_MS: '2000', BESEDA_REASSIGN_GRACE_MS: String(GRACE_MS) },
  });
});
after(async () => { if (c) await c.stop(); });

/** Every frame the client receives from now on (next() takes frames out of its queue). */
function tap(client) {
  const seen = [];
  const onFrame = client.onFrame.bind(client);
  client.onFrame = (data, isBinary) => { onFrame(data, isBinary); seen.push(client.frames[client.frames.length - 1]); };
  return seen;
}
const assignedOf = (seen, conv) => seen.filter((f) => f.type === 'assigned' && f.conversation.id === conv);
const row = (conv) => c.sql(`SELECT state, coalesce(operator_id::text, '') FROM conversations WHERE id = '${conv}'`)[0];
const say = (client, conv, text) =>
  client.request({ type: 'send', conversation: conv, client_id: clientId('m'), text }, 'ack');

/** A visitor whose chat is assigned to the operator client `op` (who must be the only one free). */
async function chatWith(op, site, gw = 0) {
  const v = await visitor(c.wsUrl(gw, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  const ack = await say(v, conv, 'hello?');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'first assignment' });
  // Take the visitor's frames so far (created: queued; then assigned) out of the way.
  await v.next((f) => f.type === 'conversation' && f.conversation.state === 'assigned', { what: 'visitor told assigned' });
  v.frames = v.frames.filter((f) => f.type !== 'conversation');
  return { v, conv };
}

test('a killed gateway\'s operator hands their chat to an online colleague without a visitor message', async () => {
  const site = await c.createSite('Reassign on expiry');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(1, 'operator'), a);          // on the gateway we kill
  const { v, conv } = await chatWith(opA, site);
  assert.equal(v.welcome.operators_online, 1);
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  await v.next((f) => f.type === 'operators' && f.online === 2, { what: 'operators 2' });

  await c.proc('gateway-1').kill('SIGKILL');
  const got = await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv,
    { what: 'assigned to B after A expired', timeoutMs: 10000 });
  assert.equal(got.conversation.state, 'assigned');
  const moved = await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === b.id,
    { what: 'visitor told B has the chat' });
  assert.equal(moved.conversation.operator.name, 'B');
  await v.next((f) => f.type === 'operators' && f.online === 1, { what: 'operators 1 after expiry' });
  assert.deepEqual(row(conv), ['assigned', b.id]);

  // The chat goes on with B, and B was told once.
  const ack = await say(v, conv, 'still there?');
  await opB.next((f) => f.type === 'message' && f.seq === ack.seq, { what: 'B receives the visitor' });
  const reply = await opB.request({ type: 'send', conversation: conv, client_id: clientId('b'), text: 'Yes, B here' }, 'ack');
  assert.equal(reply.type, 'ack', JSON.stringify(reply));
  await v.next((f) => f.type === 'message' && f.seq === reply.seq, { what: 'visitor receives B' });
  assert.equal(assignedOf(seenB, conv).length, 1, 'one assigned frame');

  // A comes back: the chat is no longer in their list.
  const opA2 = await operator(c.wsUrl(0, 'operator'), a);
  assert.ok(!opA2.welcome.conversations.some((x) => x.id === conv), 'not in A\'s welcome any more');
  opA.close(); opA2.close(); opB.close(); v.close();
  await c.startGateway(1);
});

test('closing the console hands the chats on once the grace has passed', async () => {
  const site = await c.createSite('Reassign on close');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(1, 'operator'), a);
  const { v, conv } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  await v.next((f) => f.type === 'operators' && f.online === 2, { what: 'operators 2' });

  const closedAt = Date.now();
  opA.close();
  await v.next((f) => f.type === 'operators' && f.online === 1, { what: 'operators 1 at once' });
  await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to B' });
  assert.ok(Date.now() - closedAt >= GRACE_MS - 100, 'not before the grace');
  await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === b.id, { what: 'visitor told B' });
  assert.deepEqual(row(conv), ['assigned', b.id]);
  const reply = await opB.request({ type: 'send', conversation: conv, client_id: clientId('b'), text: 'B here' }, 'ack');
  assert.equal(reply.type, 'ack', JSON.stringify(reply));
  await v.next((f) => f.type === 'message' && f.seq === reply.seq, { what: 'visitor receives B' });
  assert.equal(assignedOf(seenB, conv).length, 1, 'one assigned frame');

  const opA2 = await operator(c.wsUrl(1, 'operator'), a);
  assert.ok(!opA2.welcome.conversations.some((x) => x.id === conv), 'not in A\'s welcome any more');
  opA2.close(); opB.close(); v.close();
});

test('a console reload within the grace keeps the chats', async () => {
  const site = await c.createSite('Reload');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const { v, conv } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  opA.close();
  const opA2 = await operator(c.wsUrl(1, 'operator'), a);
  assert.ok(opA2.welcome.conversations.some((x) => x.id === conv), 'still A\'s after the reload');

  // A marker that the sweeps went past A's grace: an operator of another
  // site who closes now is swept later than A would have been (sweeps take
  // every due operator, oldest first).
  const other = await c.createSite('Reload marker');
  const m1 = await c.createOperator(other.id, { name: 'M1' });
  const m2 = await c.createOperator(other.id, { name: 'M2' });
  const opM1 = await operator(c.wsUrl(0, 'operator'), m1);
  const marker = await chatWith(opM1, other);
  const opM2 = await operator(c.wsUrl(0, 'operator'), m2);
  opM1.close();
  await opM2.next((f) => f.type === 'assigned' && f.conversation.id === marker.conv, { what: 'marker chat moved' });

  assert.deepEqual(row(conv), ['assigned', a.id]);
  assert.equal(assignedOf(seenB, conv).length, 0, 'B was never given A\'s chat');
  const ack = await say(v, conv, 'are you back?');
  await opA2.next((f) => f.type === 'message' && f.seq === ack.seq, { what: 'A still receives the visitor' });
  assert.deepEqual(row(conv), ['assigned', a.id]);
  opA2.close(); opB.close(); opM2.close(); v.close(); marker.v.close();
});

test('with nobody free the chat goes back to the queue, then to the next operator who logs in', async () => {
  const site = await c.createSite('Requeue');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const { v, conv } = await chatWith(opA, site);
  opA.close();
  const queued = await v.next((f) => f.type === 'conversation' && f.conversation.state === 'queued',
    { what: 'visitor told the chat is queued' });
  assert.equal(queued.conversation.operator, undefined);
  assert.deepEqual(row(conv), ['queued', '']);

  const opB = await operator(c.wsUrl(1, 'operator'), b);
  const seenB = tap(opB);
  seenB.push(...opB.frames);
  await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === b.id, { what: 'visitor told B' });
  assert.deepEqual(row(conv), ['assigned', b.id]);
  // The login's own queue pass gives B the chat right after the welcome;
  // the frame comes on g:<gateway> even if B's o: subscription is late.
  await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'queued chat to B' });
  const ack = await say(v, conv, 'hi B');
  await opB.next((f) => f.type === 'message' && f.seq === ack.seq, { what: 'B receives the visitor' });
  assert.equal(assignedOf(seenB, conv).length, 1, 'one assigned frame');
  opB.close(); v.close();
});

test('a visitor message moves a chat whose operator is gone when no sweep did', async () => {
  const site = await c.createSite('Reassign on message');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(1, 'operator'), a);
  const { v, conv } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  // As if Redis lost the expiry index (or the router that swept A died):
  // nobody will notice A's expiry by itself.
  await c.proc('gateway-1').kill('SIGKILL');
  assert.equal(Number(c.redisCli('ZREM', 'presence:expiry', `${site.id}/${a.id}`)), 1);
  await waitFor(() => c.redisCli('ZCOUNT', `op:${a.id}:conns`, String(Date.now()), '+inf') === '0',
    { what: 'A\'s connection expired', timeoutMs: 10000 });
  assert.deepEqual(row(conv), ['assigned', a.id], 'no sweep moved it');

  const ack = await say(v, conv, 'anyone?');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to B on the message' });
  await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === b.id, { what: 'visitor told B' });
  assert.deepEqual(row(conv), ['assigned', b.id]);
  const ack2 = await say(v, conv, 'thanks');
  await opB.next((f) => f.type === 'message' && f.seq === ack2.seq, { what: 'B receives the visitor' });
  assert.equal(assignedOf(seenB, conv).length, 1, 'one assigned frame');
  opA.close(); opB.close(); v.close();
  await c.startGateway(1);
});

test('consecutive messages assign a chat once', async () => {
  const site = await c.createSite('Assign once');
  const b = await c.createOperator(site.id, { name: 'B' });
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  const v = await visitor(c.wsUrl(1, 'visitor'), site.id);
  const seenV = tap(v);
  const conv = v.welcome.conversation.id;
  const ids = Array.from({ length: 5 }, () => clientId('burst'));
  for (const id of ids) v.send({ type: 'send', conversation: conv, client_id: id, text: `message ${id}` });
  for (const id of ids) await v.next((f) => f.type === 'ack' && f.client_id === id, { what: `ack ${id}` });
  await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  const ack = await say(v, conv, 'one more');
  await opB.next((f) => f.type === 'message' && f.seq === ack.seq, { what: 'B receives the last message' });
  assert.equal(assignedOf(seenB, conv).length, 1, 'one assigned frame');
  const told = seenV.filter((f) => f.type === 'conversation' && f.conversation.state === 'assigned');
  assert.equal(told.length, 1, 'the visitor is told once');
  opB.close(); v.close();
});

test('an operator coming online while visitors write gets each queued chat once', async () => {
  const site = await c.createSite('Online race');
  const b = await c.createOperator(site.id, { name: 'B', maxChats: 10 });
  // Logged in but away, so that "online" below (not the login) assigns the
  // queue, racing the visitors' messages.
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const seenB = tap(opB);
  const away = await opB.request({ type: 'status', status: 'away' }, 'ok');
  assert.equal(away.type, 'ok', JSON.stringify(away));
  const visitors = [];
  for (let i = 0; i < 4; i++) {
    const v = await visitor(c.wsUrl(i % 2, 'visitor'), site.id);
    const conv = v.welcome.conversation.id;
    await say(v, conv, 'queued');
    visitors.push({ v, conv });
  }
  for (const { conv } of visitors) assert.equal(row(conv)[0], 'queued');
  // "online" assigns the site's queue on one router while the visitors'
  // messages make the conversations' owners (both routers) assign them too.
  opB.send({ type: 'status', status: 'online' });
  await Promise.all(visitors.map(({ v, conv }) => say(v, conv, 'now?')));
  for (const { conv } of visitors) {
    await waitFor(() => row(conv)[1] === b.id, { what: `${conv} assigned to B` });
    await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: `assigned frame for ${conv}` });
  }
  // Every conversation goes on with B; by then any late duplicate would be in.
  for (const { v, conv } of visitors) {
    const ack = await say(v, conv, 'last');
    await opB.next((f) => f.type === 'message' && f.seq === ack.seq, { what: `B receives ${conv}` });
  }
  for (const { conv } of visitors) assert.equal(assignedOf(seenB, conv).length, 1, `one assigned frame for ${conv}`);
  opB.close(); visitors.forEach(({ v }) => v.close());
});
