// Hostile WebSocket clients against the real processes: frames that keep
// streaming past the 64 KiB limit, a visitor that picks its own
// conversation id, and requests whose error codes must be the ones
// docs/PROTOCOL.md lists (ownership checked first). After each attack the
// gateway serves and a bystander chat still works.
import { test, before, after } from 'node:test';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
let bystander, anna;

before(async () => {
  c = await startCluster({ gateways: 1, routers: 1 });
  anna = await operator(c.wsUrl(0, 'operator'), c.operator);
  bystander = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  await send(bystander, 'hello');
  await anna.next((f) => f.type === 'assigned' && f.conversation?.id === bystander.welcome.conversation.id,
    { what: 'the bystander chat is assigned' });
});

after(async () => {
  bystander?.close();
  anna?.close();
  if (c) await c.stop();
});

async function send(cl, text, conv = cl.welcome.conversation.id) {
  const a = await cl.request({ type: 'send', conversation: conv, client_id: clientId('v'), text }, 'ack', { timeoutMs: 10000 });
  assert.equal(a.type, 'ack', `send acked: ${JSON.stringify(a)}`);
  return a;
}

/** The gateway serves and the bystander chat works both ways. */
async function alive(what) {
  assert.deepEqual(c.problems(), [], `no crash after ${what}`);
  const h = await fetch(`${c.gatewayUrl(0)}/healthz`, { signal: AbortSignal.timeout(3000) });
  assert.equal(h.status, 200, `/healthz after ${what}`);
  const text = `still here after ${what}`;
  await send(bystander, text);
  await anna.next((f) => f.type === 'message' && f.text === text, { what: `anna sees the bystander after ${what}` });
}

/** Sends frame on cl and expects an error with code. */
async function expectError(cl, frame, code, what) {
  cl.send(frame);
  const e = await cl.next((f) => f.type === 'error', { what: `error ${code} for ${what}` });
  assert.equal(e.code, code, `${what}: ${JSON.stringify(e)}`);
  assert.ok(e.message && e.message.length > 0, `${what}: the error says why`);
  return e;
}

/* ---------------------------------------------------------- frame limit */

/** Streams `send(ws)` at the gateway and expects frame_too_large, then a clean close 1009. */
async function tooLarge(what, stream) {
  const cl = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  stream(cl.ws);
  const e = await cl.next('error', { timeoutMs: 20000, what: `frame_too_large for ${what}` });
  assert.equal(e.code, 'frame_too_large', `${what}: ${JSON.stringify(e)}`);
  const closed = await cl.waitClosed(20000);
  assert.equal(closed.code, 1009, `${what}: a clean close 1009, not a reset (got ${closed.code})`);
  cl.close();
}

test('80 KB as a burst of fragments: frame_too_large and a clean close', async () => {
  await tooLarge('80 KB in 1 KB fragments', (ws) => {
    const piece = Buffer.alloc(1024, 'x');
    for (let i = 0; i < 80; i++) ws.send(piece, { binary: false, fin: false });
    ws.send(Buffer.from('x'), { binary: false, fin: true });
  });
  await tooLarge('80 KB in 100-byte fragments, then more frames', (ws) => {
    const piece = Buffer.alloc(100, 'y');
    for (let i = 0; i < 800; i++) ws.send(piece, { binary: false, fin: false });
    ws.send(Buffer.from('y'), { binary: false, fin: true });
    for (let i = 0; i < 50; i++) ws.send(JSON.stringify({ type: 'ping' }));
  });
  await alive('fragment bursts');
});

test('8 MB and 10 MB frames: frame_too_large and a clean close', async () => {
  await tooLarge('an 8 MB frame', (ws) => ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(8 * 1024 * 1024) })));
  await tooLarge('a 10 MB frame', (ws) => ws.send(Buffer.alloc(10 * 1024 * 1024, 'z'), { binary: false }));
  await tooLarge('two 8 MB frames back to back', (ws) => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'q');
    ws.send(big, { binary: false });
    ws.send(big, { binary: false });
  });
  await alive('huge frames');
});

/* ------------------------------------------------- conversation ids are issued */

const randomUuid = () => crypto.randomUUID();
const convRows = (id) => Number(c.sql(`SELECT count(*) FROM conversations WHERE id = '${id}'`)[0][0]);

test('a visitor with a new conversation cannot send to an id of its own choosing', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  assert.equal(v.welcome.conversation.state, 'new');
  const madeUp = randomUuid();
  const e = await expectError(v, { type: 'send', conversation: madeUp, client_id: clientId('m'), text: 'my own id' },
    'no_conversation', 'a send to a made-up id');
  assert.equal(e.ref.startsWith('m-'), true, 'ref is the client_id');
  assert.equal(convRows(madeUp), 0, 'no conversation was created under the made-up id');
  // Another visitor's existing conversation is not its own either.
  await expectError(v, { type: 'send', conversation: bystander.welcome.conversation.id, client_id: clientId('m'), text: 'hi' },
    'forbidden', 'a send to another visitor\'s conversation');
  // An id the server issued to another visitor (its new one) is not this one's.
  const other = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const theirs = other.welcome.conversation.id;
  await expectError(v, { type: 'send', conversation: theirs, client_id: clientId('m'), text: 'hi' },
    'no_conversation', 'a send to the id issued to another visitor');
  assert.equal(convRows(theirs), 0);
  other.close();
  // A second tab of the same visitor gets its own new id; once the first
  // tab's chat is open, the second id is refused (one open chat a visitor).
  const tab2 = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { token: v.welcome.token });
  assert.notEqual(tab2.welcome.conversation.id, v.welcome.conversation.id);
  // The id from its own welcome works, and only that one was created.
  const own = v.welcome.conversation.id;
  await send(v, 'the issued id', own);
  assert.equal(convRows(own), 1);
  await expectError(tab2, { type: 'send', conversation: tab2.welcome.conversation.id, client_id: clientId('m'), text: 'tab 2' },
    'forbidden', 'a second chat from the id of an earlier welcome');
  assert.equal(convRows(tab2.welcome.conversation.id), 0);
  tab2.close();
  // A reconnect with the token gets the same conversation and keeps writing in it.
  const again = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { token: v.welcome.token });
  assert.equal(again.welcome.conversation.id, own);
  await send(again, 'after a reconnect', own);
  v.close();
  again.close();
  await alive('made-up conversation ids');
});

/* ------------------------------------------------- error codes as documented */

test('typing and sync on a conversation that does not exist are no_conversation', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const own = v.welcome.conversation.id;
  const unknown = randomUuid();
  const s = await expectError(v, { type: 'sync', conversation: unknown, after: 0 }, 'no_conversation', 'sync of an unknown id');
  assert.equal(s.ref, 'sync');
  const t = await expectError(v, { type: 'typing', conversation: own, text: 'hel' }, 'no_conversation', 'typing on the new conversation');
  assert.equal(t.ref, 'typing');
  await expectError(v, { type: 'typing', conversation: unknown, text: 'x' }, 'no_conversation', 'typing on an unknown id');
  await expectError(v, { type: 'sync', conversation: own }, 'no_conversation', 'sync of the new conversation');
  // Once the first send made it real, both work.
  await send(v, 'now it exists', own);
  const m = await v.request({ type: 'sync', conversation: own, after: 0 }, 'messages');
  assert.equal(m.type, 'messages', JSON.stringify(m));
  assert.equal(m.messages.length, 1);
  v.send({ type: 'typing', conversation: own, text: 'more' });
  assert.equal((await v.request({ type: 'ping' }, 'pong')).type, 'pong');
  assert.ok(!v.frames.some((f) => f.type === 'error'), `no error for typing in an existing chat: ${JSON.stringify(v.frames)}`);
  // An operator's sync of an id nobody has stays no_conversation.
  await expectError(anna, { type: 'sync', conversation: unknown }, 'no_conversation', 'an operator\'s sync of an unknown id');
  v.close();
});

test('an integer beyond 64 bits is bad_value (valid JSON), with its ref', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  v.send(`{"type":"sync","conversation":"${conv}","after":123456789012345678901234567890}`);
  let e = await v.next('error');
  assert.equal(e.code, 'bad_value', JSON.stringify(e));
  assert.equal(e.ref, 'sync');
  v.send(`{"type":"send","conversation":"${conv}","client_id":"big-1","text":"x","n":-99999999999999999999999}`);
  e = await v.next('error');
  assert.equal(e.code, 'bad_value', JSON.stringify(e));
  assert.equal(e.ref, 'big-1');
  // Not JSON at all is still bad_json.
  v.send('{"type":"ping",');
  e = await v.next('error');
  assert.equal(e.code, 'bad_json');
  // The same on the HTTP API.
  const r = await fetch(`${c.gatewayUrl(0)}/api/v1/status`, {
    method: 'PUT', headers: { Authorization: `Bearer ${anna.welcome.session}` },
    body: '{"status":"online","n":123456789012345678901234567890}',
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'bad_value');
  v.close();
});

test('another site\'s operator transferring a chat gets forbidden whatever the target', async () => {
  const siteB = await c.createSite('Site B');
  const xenia = await c.createOperator(siteB.id, { name: 'Xenia' });
  const yuri = await c.createOperator(siteB.id, { name: 'Yuri' });
  const boris = await c.createOperator(c.site.id, { name: 'Boris' });
  const xws = await operator(c.wsUrl(0, 'operator'), xenia);
  const yws = await operator(c.wsUrl(0, 'operator'), yuri);
  const bws = await operator(c.wsUrl(0, 'operator'), boris);
  const conv = bystander.welcome.conversation.id;       // site A, assigned to Anna
  const targets = [
    { to_operator: yuri.id }, { to_operator: c.operator.id }, { to_operator: xenia.id }, { to_operator: randomUuid() },
    { to_group: 'sales' }, { to_group: 'no-such-group' },
  ];
  for (const target of targets) {
    const e = await expectError(xws, { type: 'transfer', conversation: conv, ...target }, 'forbidden',
      `another site's operator, ${JSON.stringify(target)}`);
    assert.equal(e.ref, 'transfer');
    // A colleague of the same site to whom the chat is not assigned: forbidden as well.
    await expectError(bws, { type: 'transfer', conversation: conv, ...target }, 'forbidden',
      `a colleague the chat is not assigned to, ${JSON.stringify(target)}`);
  }
  // An id no conversation has.
  await expectError(xws, { type: 'transfer', conversation: randomUuid(), to_operator: yuri.id }, 'no_conversation',
    'a transfer of an unknown conversation');
  // The owner's own refusals keep their codes.
  await expectError(anna, { type: 'transfer', conversation: conv, to_operator: c.operator.id }, 'bad_value', 'a transfer to yourself');
  await expectError(anna, { type: 'transfer', conversation: conv, to_operator: yuri.id }, 'bad_value', 'a transfer to another site\'s operator');
  const [row] = c.sql(`SELECT operator_id FROM conversations WHERE id = '${conv}'`);
  assert.equal(row[0], c.operator.id, 'the chat stayed with Anna');
  for (const w of [xws, yws, bws]) w.close();
  await alive('foreign transfers');
});
