// The whole chat through the real processes: visitor on one gateway, operator
// on another; assignment, typing, ack/dedupe, resume, history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 2, routers: 2 }); });
after(async () => { if (c) await c.stop(); });

const msgFrom = (conv, kind) => (f) => f.type === 'message' && f.conversation === conv && f.author?.kind === kind;

test('a visitor and an operator chat across two gateways', async () => {
  const op = await operator(c.wsUrl(1, 'operator'), c.operator);
  assert.equal(op.welcome.operator.name, 'Anna');
  assert.ok(op.welcome.session.length >= 32, 'session token is long and random');

  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { page: { url: 'http://shop.test/cart', title: 'Cart' } });
  assert.equal(v.welcome.site_name, 'Demo shop');
  assert.equal(v.welcome.operators_online, 1, 'the visitor sees the operator online');
  const conv = v.welcome.conversation.id;
  assert.equal(v.welcome.conversation.state, 'new');

  // Sneak peek: the operator does not see typing before the chat is theirs;
  // send the first message, then typing flows both ways.
  const cid = clientId('v');
  const ack = await v.request({ type: 'send', conversation: conv, client_id: cid, text: 'Hello, is the red one in stock?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  assert.equal(ack.seq, 1);
  assert.equal(ack.client_id, cid);
  assert.equal(ack.duplicate, false);

  const assigned = await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  assert.equal(assigned.conversation.visitor_id, v.welcome.visitor_id);
  await op.request({ type: 'sync', conversation: conv, after: 0 }, 'messages').then((m) => {
    assert.deepEqual(m.messages.map((x) => x.text), ['Hello, is the red one in stock?']);
  });

  v.send({ type: 'typing', conversation: conv, text: 'And the blu' });
  const peek = await op.next((f) => f.type === 'typing' && f.conversation === conv, { what: 'visitor typing' });
  assert.equal(peek.text, 'And the blu', 'the operator sees the draft (sneak peek)');
  assert.equal(peek.author.kind, 'visitor');

  op.send({ type: 'typing', conversation: conv });
  const opTyping = await v.next((f) => f.type === 'typing' && f.conversation === conv, { what: 'operator typing' });
  assert.equal(opTyping.author.kind, 'operator');
  assert.equal(opTyping.text, undefined, 'the operator draft is never sent to visitors');

  const rid = clientId('o');
  const opAck = await op.request({ type: 'send', conversation: conv, client_id: rid, text: 'Yes, we have it.' }, 'ack');
  assert.equal(opAck.seq, 2);
  const reply = await v.next(msgFrom(conv, 'operator'), { what: 'operator reply' });
  assert.equal(reply.text, 'Yes, we have it.');
  assert.equal(reply.seq, 2);
  assert.equal(reply.author.name, 'Anna');

  const rows = c.sql(`SELECT seq, body FROM messages WHERE conversation_id = '${conv}' ORDER BY seq`);
  assert.deepEqual(rows, [['1', 'Hello, is the red one in stock?'], ['2', 'Yes, we have it.']]);
  v.close(); op.close();
});

test('a retried message is acknowledged with its first sequence and stored once', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  const cid = clientId('v');
  const first = await v.request({ type: 'send', conversation: conv, client_id: cid, text: 'once' }, 'ack');
  const second = await v.request({ type: 'send', conversation: conv, client_id: cid, text: 'once' }, 'ack');
  assert.equal(second.seq, first.seq);
  assert.equal(second.duplicate, true);
  // And through another gateway, as after a reconnect.
  const v2 = await visitor(c.wsUrl(1, 'visitor'), c.site.id, { token: v.welcome.token });
  const third = await v2.request({ type: 'send', conversation: conv, client_id: cid, text: 'once' }, 'ack');
  assert.equal(third.seq, first.seq);
  const n = c.sql(`SELECT count(*) FROM messages WHERE conversation_id = '${conv}' AND client_msg_id = '${cid}'`);
  assert.equal(n[0][0], '1');
  v.close(); v2.close();
});

test('a visitor who reconnects elsewhere resumes the same conversation in order', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  const texts = ['one', 'two', 'three', 'four', 'five'];
  for (const t of texts) {
    const a = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: t }, 'ack');
    assert.equal(a.type, 'ack');
  }
  v.close();
  const again = await visitor(c.wsUrl(1, 'visitor'), c.site.id, { token: v.welcome.token });
  assert.equal(again.welcome.visitor_id, v.welcome.visitor_id, 'same visitor');
  assert.equal(again.welcome.conversation.id, conv, 'same conversation');
  assert.equal(again.welcome.conversation.last_seq, 5);
  const missed = await again.request({ type: 'sync', conversation: conv, after: 2 }, 'messages');
  assert.deepEqual(missed.messages.map((m) => [m.seq, m.text]), [[3, 'three'], [4, 'four'], [5, 'five']]);
  assert.equal(missed.more, false);
  again.close();
});

test('the operator sees the visitor\'s earlier conversations', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), c.operator);
  const v = await visitor(c.wsUrl(1, 'visitor'), c.site.id);
  const first = v.welcome.conversation.id;
  const firstCid = clientId('v');
  const firstAck = await v.request({ type: 'send', conversation: first, client_id: firstCid, text: 'my first chat' }, 'ack');
  await op.next((f) => f.type === 'assigned' && f.conversation.id === first, { what: 'assigned' });
  const ok = await op.request({ type: 'close', conversation: first }, 'ok');
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  const closedNote = await v.next((f) => f.type === 'conversation' && f.conversation.id === first && f.conversation.state === 'closed', { what: 'closed' });
  assert.equal(closedNote.conversation.state, 'closed');
  const refused = await v.request({ type: 'send', conversation: first, client_id: clientId('v'), text: 'late' }, 'ack');
  assert.equal(refused.code, 'conversation_closed');
  v.send({ type: 'typing', conversation: first, text: 'still typing' });
  const typingRefused = await v.next((f) => f.type === 'error' && f.code === 'conversation_closed' && f.ref === 'typing',
    { what: 'typing refused on a closed chat' });
  assert.ok(typingRefused.message);
  // A retry of a message stored before the close is still its first ack, not a refusal.
  const retry = await v.request({ type: 'send', conversation: first, client_id: firstCid, text: 'my first chat' }, 'ack');
  assert.equal(retry.type, 'ack', JSON.stringify(retry));
  assert.equal(retry.seq, firstAck.seq);
  assert.equal(retry.duplicate, true);

  const back = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { token: v.welcome.token });
  const second = back.welcome.conversation.id;
  assert.notEqual(second, first, 'a closed conversation is not resumed');
  await back.request({ type: 'send', conversation: second, client_id: clientId('v'), text: 'back again' }, 'ack');
  await op.next((f) => f.type === 'assigned' && f.conversation.id === second, { what: 'second assigned' });
  const h = await op.request({ type: 'history', visitor: v.welcome.visitor_id }, 'history');
  assert.equal(h.type, 'history', JSON.stringify(h));
  const ids = h.conversations.map((x) => x.conversation.id);
  assert.ok(ids.includes(first) && ids.includes(second), 'both conversations listed');
  const old = h.conversations.find((x) => x.conversation.id === first);
  assert.deepEqual(old.messages.map((m) => m.text), ['my first chat']);
  op.close(); v.close(); back.close();
});

test('chats go to the least loaded operator within their limit, else wait in the queue', async () => {
  const site = await c.createSite('Two operators');
  const a = await c.createOperator(site.id, { name: 'A', maxChats: 1 });
  const b = await c.createOperator(site.id, { name: 'B', maxChats: 1 });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const opB = await operator(c.wsUrl(1, 'operator'), b);
  const start = async (gw) => {
    const v = await visitor(c.wsUrl(gw, 'visitor'), site.id);
    await v.request({ type: 'send', conversation: v.welcome.conversation.id, client_id: clientId('v'), text: 'hi' }, 'ack');
    return v;
  };
  const v1 = await start(0);
  const v2 = await start(1);
  const gotA = await opA.next('assigned');
  const gotB = await opB.next('assigned');
  assert.deepEqual(new Set([gotA.conversation.id, gotB.conversation.id]),
    new Set([v1.welcome.conversation.id, v2.welcome.conversation.id]), 'one chat each');
  // Both are at their limit: the third chat waits.
  const v3 = await start(0);
  const conv3 = v3.welcome.conversation.id;
  await waitFor(() => c.sql(`SELECT state FROM conversations WHERE id='${conv3}'`)[0]?.[0] === 'queued', { what: 'queued' });
  // A freed slot (close) is not required: a new operator who logs in takes it.
  const cc = await c.createOperator(site.id, { name: 'C', maxChats: 2 });
  const opC = await operator(c.wsUrl(0, 'operator'), cc);
  const gotC = opC.welcome.conversations.find((x) => x.id === conv3) || (await opC.next('assigned')).conversation;
  assert.equal(gotC.id, conv3, 'the queued chat goes to the operator who came online');
  [opA, opB, opC, v1, v2, v3].forEach((x) => x.close());
});

test('an operator cannot read or write another site\'s conversation', async () => {
  const other = await c.createSite('Other site');
  const stranger = await c.createOperator(other.id, { name: 'Eve' });
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'private' }, 'ack');
  const eve = await operator(c.wsUrl(1, 'operator'), stranger);
  const r1 = await eve.request({ type: 'sync', conversation: conv, after: 0 }, 'messages');
  assert.equal(r1.type, 'error'); assert.equal(r1.code, 'forbidden');
  const r2 = await eve.request({ type: 'send', conversation: conv, client_id: clientId('e'), text: 'hi' }, 'ack');
  assert.equal(r2.type, 'error'); assert.equal(r2.code, 'forbidden');
  const r3 = await eve.request({ type: 'history', visitor: v.welcome.visitor_id }, 'history');
  assert.ok(r3.type === 'error' || r3.conversations.length === 0, 'no history of another site');
  // A visitor cannot read another visitor's conversation either.
  const mallory = await visitor(c.wsUrl(1, 'visitor'), c.site.id);
  const r4 = await mallory.request({ type: 'sync', conversation: conv, after: 0 }, 'messages');
  assert.equal(r4.code, 'forbidden');
  [v, eve, mallory].forEach((x) => x.close());
});

test('an operator session token resumes the login on another gateway', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), c.operator);
  const again = await Client.connect(c.wsUrl(1, 'operator'));
  const w = await again.request({ type: 'hello', session: op.welcome.session }, 'welcome');
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  assert.equal(w.operator.id, op.welcome.operator.id);
  const bad = await Client.connect(c.wsUrl(1, 'operator'));
  const e = await bad.request({ type: 'hello', session: 'not-a-session' }, 'welcome');
  assert.equal(e.code, 'bad_session');
  [op, again, bad].forEach((x) => x.close());
});
