// Transfer with an internal note (docs/ROUTING.md "Transfer and team chat"):
// the operator a chat is assigned to hands it to a colleague or to a group's
// least loaded online member with a free place. The new operator gets
// `assigned` with the note and who transferred; the visitor sees the system
// message "<name> joined the chat" and the new operator's name, and never
// the note (checked on every frame the visitor got, and on its sync); the
// old operator sees the chat go. Refusals change nothing. Below, the store's
// compare-and-set itself: a retried transfer is applied once, two transfers
// of one chat at once cannot both win.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

const NOTE = 'VIP, wants a discount: secret-note-7f3a';
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
const say = (client, conv, text) =>
  client.request({ type: 'send', conversation: conv, client_id: clientId('m'), text }, 'ack');
const row = (conv) => c.sql(`SELECT state, coalesce(operator_id::text, ''), last_seq FROM conversations WHERE id = '${conv}'`)[0];
const openChats = (op) => Number(c.sql(`SELECT open_chats FROM operators WHERE id = '${op.id}'`)[0][0]);
const setGroups = (site, groups) => c.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}',
  '${JSON.stringify({ groups })}') ON CONFLICT (site_id) DO UPDATE SET routing = EXCLUDED.routing`);

/** A visitor (tapped from its hello on) whose chat is assigned to `op`, the only operator online. */
async function chatWith(op, site, gw = 0) {
  const v = await visitor(c.wsUrl(gw, 'visitor'), site.id);
  const seen = tap(v);
  const conv = v.welcome.conversation.id;
  const ack = await say(v, conv, 'hello?');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'first assignment' });
  await v.next((f) => f.type === 'conversation' && f.conversation.state === 'assigned', { what: 'visitor told assigned' });
  return { v, conv, seen };
}

/** Nothing a visitor got may carry the note or operator-only fields. */
function assertNoNote(frames) {
  const text = JSON.stringify(frames);
  assert.ok(!text.includes('secret-note'), `the note reached the visitor: ${text.slice(0, 2000)}`);
  assert.ok(!text.includes('"note"') && !text.includes('transferred_by'), `operator fields reached the visitor: ${text.slice(0, 2000)}`);
}

test('transfer to an operator: the new one gets the note, the visitor the system message and the name, never the note', async () => {
  const site = await c.createSite('Transfer to an operator');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const { v, conv, seen } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(1, 'operator'), b);
  assert.equal(openChats(a), 1);

  const r = await opA.request({ type: 'transfer', conversation: conv, to_operator: b.id, note: NOTE }, 'ok');
  assert.deepEqual([r.type, r.ref, r.conversation], ['ok', 'transfer', conv], JSON.stringify(r));

  const got = await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to Boris' });
  assert.equal(got.conversation.note, NOTE);
  assert.equal(got.conversation.transferred_by.id, a.id);
  assert.equal(got.conversation.transferred_by.name, 'Anna');
  assert.equal(got.conversation.operator.id, b.id);

  const sys = await v.next((f) => f.type === 'message' && f.conversation === conv && f.author.kind === 'system',
    { what: 'system message' });
  assert.equal(sys.text, 'Boris joined the chat');
  assert.equal(sys.seq, 2);
  const named = await v.next((f) => f.type === 'conversation' && f.conversation.operator && f.conversation.operator.id === b.id,
    { what: 'visitor sees Boris' });
  assert.equal(named.conversation.operator.name, 'Boris');
  // The old operator sees the chat named for someone else (the console drops it).
  await opA.next((f) => f.type === 'conversation' && f.conversation.id === conv
    && f.conversation.operator && f.conversation.operator.id === b.id, { what: 'Anna sees it go' });

  assert.deepEqual(row(conv), ['assigned', b.id, '2']);
  assert.equal(openChats(a), 0);
  assert.equal(openChats(b), 1);
  assert.equal(c.sql(`SELECT count(*) FROM conversation_notes WHERE conversation_id = '${conv}' AND body = '${NOTE}'
    AND author_id = '${a.id}' AND to_operator_id = '${b.id}'`)[0][0], '1');

  // Boris writes now; Anna no longer may.
  const ackB = await say(opB, conv, 'Boris here, how can I help?');
  assert.equal(ackB.type, 'ack', JSON.stringify(ackB));
  await v.next((f) => f.type === 'message' && f.text === 'Boris here, how can I help?', { what: "Boris's message" });
  const refused = await say(opA, conv, 'still mine?');
  assert.equal(refused.code, 'forbidden', JSON.stringify(refused));

  const sync = await v.request({ type: 'sync', conversation: conv, after: 0 }, 'messages');
  assert.deepEqual(sync.messages.map((m) => [m.seq, m.author.kind]), [[1, 'visitor'], [2, 'system'], [3, 'operator']]);
  assertNoNote([...seen, ...v.frames, sync]);
  for (const cl of [v, opA, opB]) cl.close();
});

test('transfer to a group: its least loaded online member with a free place, never the sender, an away or offline one', async () => {
  const site = await c.createSite('Transfer to a group');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const vera = await c.createOperator(site.id, { name: 'Vera' });
  const w = await c.createOperator(site.id, { name: 'Wanda' });         // never logs in
  setGroups(site, [{ id: 'sales', name: 'Sales', operators: [a.id, b.id, vera.id, w.id] },
    { id: 'nobody', name: 'Nobody', operators: [w.id] }]);
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const { v, conv, seen } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(1, 'operator'), b);
  const opV = await operator(c.wsUrl(0, 'operator'), vera);
  c.sql(`UPDATE operators SET max_chats = 0 WHERE id = '${b.id}'`);     // Boris has no free place

  const unknown = await opA.request({ type: 'transfer', conversation: conv, to_group: 'no-such-group' }, 'ok');
  assert.equal(unknown.code, 'bad_value', JSON.stringify(unknown));
  const empty = await opA.request({ type: 'transfer', conversation: conv, to_group: 'nobody' }, 'ok');
  assert.equal(empty.code, 'no_operator_available', JSON.stringify(empty));

  const r = await opA.request({ type: 'transfer', conversation: conv, to_group: 'sales', note: NOTE }, 'ok');
  assert.equal(r.type, 'ok', JSON.stringify(r));
  const got = await opV.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to Vera' });
  assert.equal(got.conversation.note, NOTE);
  assert.equal(got.conversation.transferred_by.id, a.id);
  const sys = await v.next((f) => f.type === 'message' && f.author.kind === 'system', { what: 'system message' });
  assert.equal(sys.text, 'Vera joined the chat');
  assert.deepEqual(row(conv).slice(0, 2), ['assigned', vera.id]);

  // Back to the group from Vera: Anna is away, Boris full, Wanda offline, Vera the sender.
  const away = await opA.request({ type: 'status', status: 'away' }, 'ok');
  assert.equal(away.type, 'ok', JSON.stringify(away));
  const none = await opV.request({ type: 'transfer', conversation: conv, to_group: 'sales' }, 'ok');
  assert.equal(none.code, 'no_operator_available', JSON.stringify(none));
  assert.deepEqual(row(conv).slice(0, 2), ['assigned', vera.id]);
  assert.ok(!opB.frames.some((f) => f.type === 'assigned' && f.conversation.id === conv), 'a full operator got it');
  assertNoNote([...seen, ...v.frames]);
  for (const cl of [v, opA, opB, opV]) cl.close();
});

test('refused transfers change nothing: not yours, to yourself, to an offline, away or foreign operator', async () => {
  const site = await c.createSite('Transfer refused');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const off = await c.createOperator(site.id, { name: 'Offline Oleg' });
  const other = await c.createSite('Another shop');
  const x = await c.createOperator(other.id, { name: 'Xenia' });
  const opA = await operator(c.wsUrl(0, 'operator'), a);
  const { v, conv, seen } = await chatWith(opA, site);
  const opB = await operator(c.wsUrl(1, 'operator'), b);
  const opX = await operator(c.wsUrl(1, 'operator'), x);
  const transfer = (client, body) => client.request({ type: 'transfer', conversation: conv, ...body }, 'ok');

  assert.equal((await transfer(opB, { to_operator: b.id })).code, 'forbidden');        // to yourself, but not Boris's chat: ownership first
  assert.equal((await transfer(opB, { to_operator: a.id })).code, 'forbidden');        // not Boris's chat
  assert.equal((await transfer(opA, { to_operator: a.id })).code, 'bad_value');        // to yourself
  assert.equal((await transfer(opA, { to_operator: off.id })).code, 'no_operator_available');
  assert.equal((await transfer(opA, { to_operator: x.id })).code, 'bad_value');        // another site's
  assert.equal((await transfer(opX, { to_operator: a.id })).type, 'error');           // another site's chat
  assert.equal((await transfer(opA, { to_operator: randomUUID() })).code, 'no_operator_available');
  const both = await transfer(opA, { to_operator: b.id, to_group: 'sales' });
  assert.equal(both.type, 'error', JSON.stringify(both));
  assert.equal((await opB.request({ type: 'status', status: 'away' }, 'ok')).type, 'ok');
  assert.equal((await transfer(opA, { to_operator: b.id })).code, 'no_operator_available');   // away
  const fromVisitor = await v.request({ type: 'transfer', conversation: conv, to_operator: b.id }, 'ok');
  assert.equal(fromVisitor.type, 'error', JSON.stringify(fromVisitor));

  assert.deepEqual(row(conv), ['assigned', a.id, '1']);
  assert.equal(c.sql(`SELECT count(*) FROM conversation_notes WHERE conversation_id = '${conv}'`)[0][0], '0');
  assert.equal(openChats(a), 1);
  const sync = await v.request({ type: 'sync', conversation: conv, after: 0 }, 'messages');
  assert.equal(sync.messages.length, 1);
  assert.ok(!seen.some((f) => f.type === 'message' && f.author && f.author.kind === 'system'));
  for (const cl of [v, opA, opB, opX]) cl.close();
});

// ---- the store's compare-and-set, straight through SQL

/** A conversation of the site assigned to op (as beseda_assign makes it). */
function assignedConversation(site, op) {
  const visitorId = randomUUID(), conv = randomUUID();
  c.sql(`INSERT INTO visitors (id, site_id) VALUES ('${visitorId}', '${site.id}')`);
  c.sql(`SELECT status FROM beseda_append('${site.id}', '${conv}', 'visitor', '${visitorId}', '', '${randomUUID()}', 'hi', 1)`);
  assert.equal(c.sql(`SELECT updated FROM beseda_assign('${site.id}', '${conv}', '${op.id}', 1, NULL, NULL)`)[0][0], 't');
  return conv;
}
const transferSql = (site, conv, from, to, id, epoch = 1) =>
  `SELECT applied, refused, coalesce(msg_seq, 0) FROM beseda_transfer('${site.id}', '${conv}', '${from.id}',
     '${to.id}', '{}', 'n', ${epoch}, '${id}')`;

test('store: a retried transfer is applied once (same system message), a stale epoch is refused, the stage moves on', async () => {
  const site = await c.createSite('Transfer SQL');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const conv = assignedConversation(site, a);
  const stage = Number(c.sql(`SELECT route_stage FROM conversations WHERE id = '${conv}'`)[0][0]);
  c.sql(`UPDATE conversations SET owner_epoch = 5 WHERE id = '${conv}'`);
  assert.deepEqual(c.sql(transferSql(site, conv, a, b, randomUUID(), 4))[0], ['f', 'stale_epoch', '0']);
  const id = randomUUID();
  assert.deepEqual(c.sql(transferSql(site, conv, a, b, id, 5))[0], ['t', '', '2']);
  assert.deepEqual(c.sql(transferSql(site, conv, a, b, id, 5))[0], ['t', '', '2']);      // the retry
  assert.deepEqual(c.sql(transferSql(site, conv, a, b, randomUUID(), 5))[0], ['f', 'forbidden', '0']);
  assert.equal(c.sql(`SELECT count(*) FROM messages WHERE conversation_id = '${conv}' AND author_kind = 'system'`)[0][0], '1');
  assert.equal(c.sql(`SELECT count(*) FROM conversation_notes WHERE conversation_id = '${conv}'`)[0][0], '1');
  const [r] = c.sql(`SELECT route_stage, last_seq, deadline_at IS NULL FROM conversations WHERE id = '${conv}'`);
  assert.deepEqual(r, [String(stage + 1), '2', 't']);
});

test('store: two transfers of one chat at once: exactly one wins', async () => {
  const site = await c.createSite('Transfer race');
  const a = await c.createOperator(site.id, { name: 'Anna' });
  const b = await c.createOperator(site.id, { name: 'Boris' });
  const vera = await c.createOperator(site.id, { name: 'Vera' });
  for (let round = 0; round < 5; round++) {
    const conv = assignedConversation(site, a);
    const run = (to) => new Promise((resolve, reject) => {
      const p = spawn('psql', ['-h', '127.0.0.1', '-p', String(c.pgPort), '-U', 'beseda', '-d', 'beseda',
        '-qAt', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', transferSql(site, conv, a, to, randomUUID())]);
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.on('close', (code) => (code === 0 ? resolve(out.trim().split('\t')) : reject(new Error(`psql ${code}`))));
    });
    const results = await Promise.all([run(b), run(vera)]);
    assert.equal(results.filter((x) => x[0] === 't').length, 1, JSON.stringify(results));
    assert.deepEqual(results.filter((x) => x[0] === 'f').map((x) => x[1]), ['forbidden']);
    assert.equal(c.sql(`SELECT count(*) FROM messages WHERE conversation_id = '${conv}' AND author_kind = 'system'`)[0][0], '1');
  }
  await waitFor(() => openChats(a) === 0, { what: 'open chats settled' });
  assert.equal(openChats(b) + openChats(vera), 5);
});
