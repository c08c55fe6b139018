// Findings of the security review, each with the attack that worked before
// its fix: oversized replies, throttling bypasses, conversations made at
// will, sessions that outlive a logout, subscriptions to chats that moved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 1,
    env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000', BESEDA_LOGIN_MAX_FAILS: '5',
      BESEDA_LOGIN_MAX_FAILS_IP: '3', BESEDA_REASSIGN_GRACE_MS: '1000' } });
  // gateway-1 stands behind a "balancer" on 127.0.0.1: it believes
  // X-Forwarded-For. Every failed login of these tests goes through it,
  // from an address of its own, so the counters do not mix.
  await c.startGateway(1, { BESEDA_TRUSTED_PROXIES: '127.0.0.1/32, ::1' });
});
after(async () => { if (c) await c.stop(); });

const vurl = () => c.wsUrl(0, 'visitor');
const ourl = () => c.wsUrl(0, 'operator');
let nextAddr = 1;
const freshAddr = () => `198.51.100.${nextAddr++}`;

/** A login through gateway-1 as if from `addr`: the reply frame. */
async function loginFrom(addr, email, password) {
  const cl = await Client.connect(c.wsUrl(1, 'operator'), { headers: { 'X-Forwarded-For': addr } });
  const r = await cl.request({ type: 'login', email, password }, 'welcome');
  cl.close();
  return r;
}
const big = (tag) => `${tag} ${'x'.repeat(8000)}`;

async function sendMany(v, conv, n, tag) {
  for (let i = 0; i < n; i++) {
    const a = await v.request({ type: 'send', conversation: conv, client_id: clientId(tag), text: big(`${tag}${i}`) }, 'ack');
    assert.equal(a.type, 'ack', JSON.stringify(a));
  }
}

test('control characters other than tab, CR and LF are refused in text and typing', async () => {
  const v = await visitor(vurl(), c.site.id);
  const conv = v.welcome.conversation.id;
  const e = await v.request({ type: 'send', conversation: conv, client_id: 'ctl', text: '\u0001'.repeat(8192) }, 'ack');
  assert.equal(e.code, 'bad_value', JSON.stringify(e));
  assert.equal(e.ref, 'ctl');
  const t = await v.request({ type: 'typing', conversation: conv, text: 'a\u001bb' }, 'none');
  assert.equal(t.code, 'bad_value');
  const ok = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'line\tone\r\nline two' }, 'ack');
  assert.equal(ok.type, 'ack', 'tab, CR and LF are fine');
  v.close();
});

test('sync replies are capped by bytes as well as by count', async () => {
  const v = await visitor(vurl(), c.site.id);
  const conv = v.welcome.conversation.id;
  await sendMany(v, conv, 40, 's');
  const m = await v.request({ type: 'sync', conversation: conv, after: 0 }, 'messages');
  assert.equal(m.type, 'messages');
  const bytes = m.messages.reduce((n, x) => n + Buffer.byteLength(x.text), 0);
  assert.ok(m.messages.length > 0 && m.messages.length < 40, `a part: ${m.messages.length}`);
  assert.ok(bytes <= 512 * 1024, `at most 512 KiB of text: ${bytes}`);
  assert.equal(m.more, true, 'more: ask again');
  const last = m.messages[m.messages.length - 1].seq;
  const rest = await v.request({ type: 'sync', conversation: conv, after: last }, 'messages');
  assert.equal(rest.messages[0].seq, last + 1, 'the next part follows on');
  assert.equal(m.messages.length + rest.messages.length, 40);
  assert.equal(rest.more, false);
  v.close();
});

test('history is capped by bytes: each conversation is a preview', async () => {
  const op = await operator(ourl(), await c.createOperator(c.site.id, { name: 'Hist' }));
  let v = await visitor(vurl(), c.site.id);
  const token = v.welcome.token;
  for (let round = 0; round < 2; round++) {
    const conv = v.welcome.conversation.id;
    await sendMany(v, conv, 40, `h${round}`);
    await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
    assert.equal((await op.request({ type: 'close', conversation: conv }, 'ok')).type, 'ok');
    v.close();
    v = await visitor(vurl(), c.site.id, { token });
  }
  const h = await op.request({ type: 'history', visitor: v.welcome.visitor_id }, 'history');
  assert.equal(h.type, 'history', JSON.stringify(h).slice(0, 200));
  assert.equal(h.conversations.length, 2);
  let bytes = 0;
  for (const one of h.conversations) {
    assert.ok(one.messages.length >= 1 && one.messages.length < 40, `a preview: ${one.messages.length}`);
    bytes += one.messages.reduce((n, x) => n + Buffer.byteLength(x.text), 0);
  }
  assert.ok(bytes <= 256 * 1024, `at most 256 KiB of text in all: ${bytes}`);
  v.close(); op.close();
});

test('behind a trusted proxy, login throttling is per client address (X-Forwarded-For)', async () => {
  const attacker = freshAddr();
  for (let i = 0; i < 3; i++)
    assert.equal((await loginFrom(attacker, `nobody${i}@x.example`, 'guess')).code, 'bad_login');
  assert.equal((await loginFrom(attacker, 'nobody9@x.example', 'guess')).code, 'login_throttled',
    'the attacking address is throttled');
  const op = await c.createOperator(c.site.id, { name: 'Behind' });
  const w = await loginFrom(freshAddr(), op.email, op.password);
  assert.equal(w.type, 'welcome', `another client behind the same balancer logs in: ${JSON.stringify(w)}`);
  // A gateway that trusts no proxy counts the TCP peer, whatever the header says.
  assert.ok(Number(c.redisCli('GET', `login:fail:ip:${attacker}`)) >= 3, 'counted under the forwarded address');
  const claimed = freshAddr();
  const forged = await Client.connect(ourl(), { headers: { 'X-Forwarded-For': claimed } });
  assert.equal((await forged.request({ type: 'login', email: 'nobody@x.example', password: 'guess' }, 'welcome')).code, 'bad_login');
  forged.close();
  assert.equal(c.redisCli('EXISTS', `login:fail:ip:${claimed}`), '0', 'a gateway that trusts no proxy ignores the header');
});

test('parallel wrong passwords cannot exceed the per-account limit', async () => {
  const op = await c.createOperator(c.site.id, { name: 'Target' });
  // 20 guesses at once, each from its own address (the address limit is 3).
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => loginFrom(freshAddr(), op.email, `guess-${i}`)));
  const codes = replies.map((r) => r.code);
  assert.ok(codes.filter((x) => x === 'bad_login').length <= 5, `at most 5 guesses checked: ${codes}`);
  assert.ok(codes.includes('login_throttled'), 'the rest are throttled');
  assert.equal((await loginFrom(freshAddr(), op.email, op.password)).code, 'login_throttled',
    'the account stays locked for its window');
});

test('look-alike Unicode spellings of an e-mail are refused, not counted', async () => {
  const op = await c.createOperator(c.site.id, { name: 'Kelvin', email: `k-${Date.now()}@test.example` });
  const addr = freshAddr();
  const kelvin = op.email.replace('k', '\u212a');   // KELVIN SIGN: lower() makes it 'k'
  for (let i = 0; i < 7; i++)
    assert.equal((await loginFrom(addr, kelvin, 'guess')).code, 'bad_login');
  assert.equal(c.redisCli('EXISTS', `login:fail:ip:${addr}`), '0', 'not even counted');
  const w = await loginFrom(freshAddr(), op.email, op.password);
  assert.equal(w.type, 'welcome', 'the real account is not locked');
  const upper = await loginFrom(freshAddr(), op.email.toUpperCase(), op.password);
  assert.equal(upper.type, 'welcome', 'ASCII case still does not matter');
});

test('a visitor cannot open a second conversation by choosing a fresh id', async () => {
  const v = await visitor(vurl(), c.site.id);
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'first chat' }, 'ack')).type, 'ack');
  const other = crypto.randomUUID();
  const e = await v.request({ type: 'send', conversation: other, client_id: clientId('v'), text: 'a second chat' }, 'ack');
  // An id the server did not issue to this visitor does not exist for it.
  assert.equal(e.code, 'no_conversation', JSON.stringify(e));
  assert.equal(c.sql(`SELECT count(*) FROM conversations WHERE id = '${other}'`)[0][0], '0');
  // Still one chat per visitor, on a new connection too.
  const v2 = await visitor(vurl(), c.site.id, { token: v.welcome.token });
  assert.equal(v2.welcome.conversation.id, conv, 'the open chat comes back');
  const e2 = await v2.request({ type: 'send', conversation: crypto.randomUUID(), client_id: clientId('v'), text: 'x' }, 'ack');
  assert.equal(e2.code, 'no_conversation');
  v.close(); v2.close();
});

test('a refused login does not log what was typed as the e-mail', async () => {
  const secret = `hunter2-typed-in-the-wrong-box-${Date.now()}`;
  assert.equal((await loginFrom(freshAddr(), secret, 'x')).code, 'bad_login');
  await new Promise((r) => setTimeout(r, 300));
  for (const p of ['store-0', 'router-0', 'gateway-0', 'gateway-1'])
    assert.ok(!c.proc(p).log().includes(secret), `${p} logged the e-mail field`);
});

test('with an admin listener, /metrics and /readyz are not on the public port', async () => {
  for (const path of ['/metrics', '/readyz'])
    assert.equal((await fetch(`${c.gatewayUrl(0)}${path}`)).status, 404, `${path} is not public`);
  assert.equal((await fetch(`${c.gatewayUrl(0)}/healthz`)).status, 200, '/healthz stays public');
  assert.equal((await fetch(`${c.adminUrl('gateway-0')}/metrics`)).status, 200, 'the admin port has them');
});

test('upper-case ids are the same conversation (lower-cased at the gateway)', async () => {
  const v = await visitor(vurl(), c.site.id.toUpperCase());
  assert.equal(v.welcome.type, 'welcome');
  const conv = v.welcome.conversation.id;
  const a1 = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'one' }, 'ack');
  const a2 = await v.request({ type: 'send', conversation: conv.toUpperCase(), client_id: clientId('v'), text: 'two' }, 'ack');
  assert.equal(a2.type, 'ack', JSON.stringify(a2));
  assert.equal(a2.conversation, conv, 'the ack names the canonical id');
  assert.equal(a2.seq, a1.seq + 1);
  const m = await v.request({ type: 'sync', conversation: conv.toUpperCase(), after: 0 }, 'messages');
  assert.equal(m.conversation, conv);
  assert.deepEqual(m.messages.map((x) => x.text), ['one', 'two']);
  v.close();
});

test('an operator whose chat moved away cannot re-subscribe by re-sending an old message', async () => {
  const site = await c.createSite('Moved away');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  let opA = await operator(ourl(), a);
  const v = await visitor(vurl(), site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hello?' }, 'ack');
  await opA.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to A' });
  const old = clientId('o');
  assert.equal((await opA.request({ type: 'send', conversation: conv, client_id: old, text: 'hi from A' }, 'ack')).type, 'ack');
  const opB = await operator(ourl(), b);
  opA.close();                              // A leaves; after the grace the chat goes to B
  await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to B', timeoutMs: 15000 });
  opA = await operator(ourl(), a);
  const dup = await opA.request({ type: 'send', conversation: conv, client_id: old, text: 'hi from A' }, 'ack');
  assert.equal(dup.duplicate, true, JSON.stringify(dup));
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'for B only' }, 'ack');
  await opB.next((f) => f.type === 'message' && f.text === 'for B only', { what: 'B gets it' });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!opA.frames.some((f) => f.type === 'message' && f.conversation === conv),
    `A hears nothing of the chat: ${JSON.stringify(opA.frames).slice(0, 300)}`);
  v.close(); opA.close(); opB.close();
});

test('logout ends the session on the server and closes the connection', async () => {
  const op = await operator(ourl(), await c.createOperator(c.site.id, { name: 'Leaving' }));
  const session = op.welcome.session;
  const ok = await op.request({ type: 'logout', session }, 'ok');
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  assert.equal(ok.ref, 'logout');
  assert.equal((await op.waitClosed()).code, 1000, 'the gateway closes the connection');
  const again = await Client.connect(ourl());
  const r = await again.request({ type: 'hello', session }, 'welcome');
  assert.equal(r.code, 'bad_session', 'the token resumes nothing any more');
  again.close();
  const v = await Client.connect(vurl());
  await v.request({ type: 'hello', site: c.site.id }, 'welcome');
  assert.equal((await v.request({ type: 'logout', session }, 'ok')).code, 'unknown_type', 'visitors have no logout');
  v.close();
});
