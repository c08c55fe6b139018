// Hostile and broken input gets a clear error, never a crash; the process
// and every other client carry on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
let bystander;   // a chat that must keep working through all of this
before(async () => {
  c = await startCluster({ gateways: 1, routers: 1,
    env: { BESEDA_VISITOR_TOKEN_TTL: '2', BESEDA_LOGIN_MAX_FAILS: '3', BESEDA_RATE_PER_SEC: '5', BESEDA_RATE_BURST: '20' } });
  bystander = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
});
after(async () => {
  if (c) {
    // The gateway survived everything, and the bystander still chats.
    assert.ok(c.proc('gateway-0').running, 'gateway still running');
    const conv = bystander.welcome.conversation.id;
    const a = await bystander.request({ type: 'send', conversation: conv, client_id: clientId('b'), text: 'still here' }, 'ack');
    bystander.close();
    await c.stop();
    assert.equal(a.type, 'ack', 'a bystander chat carries on');
  }
});

const fresh = () => Client.connect(c.wsUrl(0, 'visitor'));
const hello = (cl) => cl.request({ type: 'hello', site: c.site.id }, 'welcome');

async function expectError(frame, code, { authed = true } = {}) {
  const cl = await fresh();
  if (authed) assert.equal((await hello(cl)).type, 'welcome');
  cl.send(frame);
  const e = await cl.next('error');
  assert.equal(e.code, code, JSON.stringify(e));
  assert.ok(e.message && e.message.length > 0, 'the error names the problem');
  // The connection is still usable.
  assert.equal((await cl.request({ type: 'ping' }, 'pong')).type, 'pong');
  cl.close();
  return e;
}

test('invalid JSON', () => expectError('{"type": "send", ', 'bad_json'));
test('a JSON value that is not an object', () => expectError('[1,2,3]', 'bad_json'));
test('nesting deeper than 8', () => expectError(JSON.stringify({ type: 'ping', a: [[[[[[[[[[1]]]]]]]]]] }), 'too_deep'));
test('unknown frame type', () => expectError({ type: 'launch_missiles' }, 'unknown_type'));
test('missing type', () => expectError({ hello: 1 }, 'unknown_type'));
test('missing field', async () => {
  const e = await expectError({ type: 'send', text: 'no conversation' }, 'missing_field');
  assert.match(e.message, /conversation|client_id/);
});
test('field of the wrong JSON type', () => expectError({ type: 'send', conversation: 5, client_id: 'x', text: 'hi' }, 'missing_field'));
test('too long field', () => expectError({ type: 'send', conversation: 'c', client_id: 'x'.repeat(65), text: 'hi' }, 'field_too_long'));
test('text over 8 KiB', async () => {
  const cl = await fresh();
  const w = await hello(cl);
  cl.send({ type: 'send', conversation: w.conversation.id, client_id: 'long', text: 'я'.repeat(4097) });
  const e = await cl.next('error');
  assert.equal(e.code, 'text_too_long');
  assert.equal(e.ref, 'long');
  cl.close();
});
test('empty text', async () => {
  const cl = await fresh();
  const w = await hello(cl);
  cl.send({ type: 'send', conversation: w.conversation.id, client_id: 'empty', text: '   ' });
  assert.equal((await cl.next('error')).code, 'empty_text');
  cl.close();
});
test('frames before hello', () => expectError({ type: 'send', conversation: 'x', client_id: 'y', text: 'z' }, 'not_authenticated', { authed: false }));
test('a second hello', () => expectError({ type: 'hello', site: 'x' }, 'already_authenticated'));
test('a site that does not exist', async () => {
  const cl = await fresh();
  const e = await cl.request({ type: 'hello', site: '00000000-0000-4000-8000-000000000000' }, 'welcome');
  assert.equal(e.code, 'no_such_site');
  const e2 = await cl.request({ type: 'hello', site: 'not-a-uuid' }, 'welcome');
  assert.equal(e2.code, 'no_such_site');
  cl.close();
});
test('a forged or malformed visitor token', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const [payload, mac] = v.welcome.token.split('.');
  const forgedPayload = Buffer.from(Buffer.from(payload, 'base64url').toString().replace(/\|[0-9a-f-]{36}\|/, '|00000000-0000-4000-8000-000000000001|')).toString('base64url');
  for (const token of [`${forgedPayload}.${mac}`, 'garbage', `${payload}.${mac.slice(0, -2)}AA`]) {
    const cl = await fresh();
    const e = await cl.request({ type: 'hello', site: c.site.id, token }, 'welcome');
    assert.equal(e.code, 'bad_token', token);
    cl.close();
  }
  // A token of one site is refused on another.
  const other = await c.createSite('Other');
  const cl = await fresh();
  const e = await cl.request({ type: 'hello', site: other.id, token: v.welcome.token }, 'welcome');
  assert.equal(e.code, 'bad_token');
  cl.close(); v.close();
});
test('an expired visitor token', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  v.close();
  // BESEDA_VISITOR_TOKEN_TTL is 2 s in this cluster: poll until it has expired.
  await waitFor(async () => {
    const cl = await fresh();
    const e = await cl.request({ type: 'hello', site: c.site.id, token: v.welcome.token }, 'welcome');
    cl.close();
    return e.code === 'token_expired';
  }, { what: 'token_expired', timeoutMs: 8000, intervalMs: 300 });
});
test('oversized frame: error, then close 1009', async () => {
  const cl = await fresh();
  await hello(cl);
  cl.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
  const e = await cl.next('error');
  assert.equal(e.code, 'frame_too_large');
  const closed = await cl.waitClosed();
  assert.equal(closed.code, 1009);
});
test('invalid UTF-8 closes with 1007', async () => {
  const cl = await fresh();
  await hello(cl);
  cl.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
  const closed = await cl.waitClosed();
  assert.equal(closed.code, 1007);
});
test('binary frames are refused', async () => {
  const cl = await fresh();
  await hello(cl);
  cl.sendRaw(Buffer.from('{"type":"ping"}'), { binary: true });
  assert.equal((await cl.next('error')).code, 'binary_frame');
  cl.close();
});
test('flooding is rate limited', async () => {
  const cl = await fresh();
  await hello(cl);
  for (let i = 0; i < 40; i++) cl.send({ type: 'ping' });
  const e = await cl.next('error');
  assert.equal(e.code, 'rate_limited');
  cl.close();
});
test('a foreign Origin is refused before the upgrade', async () => {
  await assert.rejects(Client.connect(c.wsUrl(0, 'visitor'), { origin: 'http://evil.example' }), (err) => err.status === 403);
  const ok = await Client.connect(c.wsUrl(0, 'visitor'), { origin: c.gatewayUrl(0) });
  ok.close();
});
test('wrong passwords are refused, then throttled', async () => {
  const op = await c.createOperator(c.site.id, { name: 'T' });
  for (let i = 0; i < 3; i++) {
    const cl = await Client.connect(c.wsUrl(0, 'operator'));
    const e = await cl.request({ type: 'login', email: op.email, password: 'wrong' }, 'welcome');
    assert.equal(e.code, 'bad_login');
    cl.close();
  }
  const cl = await Client.connect(c.wsUrl(0, 'operator'));
  const e = await cl.request({ type: 'login', email: op.email, password: op.password }, 'welcome');
  assert.equal(e.code, 'login_throttled', 'even the right password waits after too many failures');
  cl.close();
  const unknown = await Client.connect(c.wsUrl(0, 'operator'));
  const e2 = await unknown.request({ type: 'login', email: 'nobody@nowhere.example', password: 'x' }, 'welcome');
  assert.equal(e2.code, 'bad_login');
  unknown.close();
});
test('a visitor cannot post into a conversation id of their choosing', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const w = v.welcome;
  await v.request({ type: 'send', conversation: w.conversation.id, client_id: clientId('v'), text: 'mine' }, 'ack');
  const m = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const e = await m.request({ type: 'send', conversation: w.conversation.id, client_id: clientId('m'), text: 'intrude' }, 'ack');
  assert.equal(e.code, 'forbidden');
  const e2 = await m.request({ type: 'send', conversation: 'not-a-uuid', client_id: clientId('m'), text: 'x' }, 'ack');
  assert.equal(e2.type, 'error');
  v.close(); m.close();
});
test('unknown HTTP paths are 404 and static pages carry security headers', async () => {
  const r = await fetch(`${c.gatewayUrl(0)}/no/such/thing`);
  assert.equal(r.status, 404);
  const p = await fetch(`${c.gatewayUrl(0)}/widget/frame.html?site=${c.site.id}`);
  assert.equal(p.status, 200);
  assert.equal(p.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(p.headers.get('content-security-policy'), 'CSP present');
  const t = await fetch(`${c.gatewayUrl(0)}/../../etc/passwd`);
  assert.notEqual(t.status, 200);
});
