// Login throttling counts failed logins, not logins: a whole team behind one
// address logs in at once, wrong passwords lock the account (and, past the
// address's own limit, the address), a refused attempt does not move the
// window, and when the window is over login works again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client } from '../lib/client.mjs';

// Long enough for the steps before the window ends, on a slow shared machine.
const WINDOW_S = 8;
let c;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 2,
    env: { BESEDA_LOGIN_MAX_FAILS: '3', BESEDA_LOGIN_MAX_FAILS_IP: '5',
      BESEDA_LOGIN_FAIL_WINDOW: String(WINDOW_S),
      // 50 argon2id checks at once take seconds on a small, shared machine:
      // this test is about the throttle, not the store's login capacity.
      BESEDA_AUTH_THREADS: '2', BESEDA_STORE_TIMEOUT_MS: '60000',
      BESEDA_REQUEST_TIMEOUT_MS: '60000' } });
  // gateway-1 believes X-Forwarded-For from 127.0.0.1, so each test can log
  // in from an address of its own (the counters do not mix).
  await c.startGateway(1, { BESEDA_TRUSTED_PROXIES: '127.0.0.1/32, ::1' });
});
after(async () => { if (c) await c.stop(); });

let nextAddr = 1;
const freshAddr = () => `203.0.113.${nextAddr++}`;

/** A login through gateway-1 as if from `addr`: the reply frame. */
async function loginFrom(addr, email, password) {
  const cl = await Client.connect(c.wsUrl(1, 'operator'), { headers: { 'X-Forwarded-For': addr } });
  try {
    return await cl.request({ type: 'login', email, password }, 'welcome', { timeoutMs: 60000 });
  } finally { cl.close(); }
}

test('50 operators logging in at once from one address all get in', async () => {
  const ops = [];
  for (let i = 0; i < 50; i++) ops.push(await c.createOperator(c.site.id, { name: `Team ${i}` }));
  const office = freshAddr();
  const replies = await Promise.all(ops.map((op) => loginFrom(office, op.email, op.password)));
  const refused = replies.filter((r) => r.type !== 'welcome').map((r) => r.code);
  assert.deepEqual(refused, [], `every login succeeds: ${refused.length} refused: ${refused}`);
  // And again, right away: successes never count against the address.
  const again = await Promise.all(ops.slice(0, 25).map((op) => loginFrom(office, op.email, op.password)));
  assert.ok(again.every((r) => r.type === 'welcome'), JSON.stringify(again.filter((r) => r.type !== 'welcome')));
});

test('wrong passwords lock the account, then the address; the window ends and login works again', async () => {
  const office = freshAddr();
  const target = await c.createOperator(c.site.id, { name: 'Mistyped' });
  const colleague = await c.createOperator(c.site.id, { name: 'Colleague' });
  for (let i = 0; i < 3; i++)
    assert.equal((await loginFrom(office, target.email, `wrong-${i}`)).code, 'bad_login');
  const locked = await loginFrom(office, target.email, target.password);
  assert.equal(locked.code, 'login_throttled', 'the account is locked after 3 failures');
  const from = Date.now();
  assert.equal((await loginFrom(freshAddr(), target.email, target.password)).code, 'login_throttled',
    'from any address');
  assert.equal((await loginFrom(office, colleague.email, colleague.password)).type, 'welcome',
    'a colleague behind the same address still gets in');
  // Two more failures (another account) reach the address's limit of 5.
  for (let i = 0; i < 2; i++)
    assert.equal((await loginFrom(office, `nobody${i}@x.example`, 'guess')).code, 'bad_login');
  assert.equal((await loginFrom(office, colleague.email, colleague.password)).code, 'login_throttled',
    'the address is locked after 5 failures');
  assert.equal((await loginFrom(freshAddr(), colleague.email, colleague.password)).type, 'welcome',
    'the colleague from elsewhere is not');
  // A client that keeps retrying does not keep itself locked: the window is
  // fixed (from the first failure), refused attempts count for nothing.
  let tries = 0;
  await waitFor(async () => {
    tries++;
    return (await loginFrom(office, target.email, target.password)).type === 'welcome';
  }, { timeoutMs: 4 * WINDOW_S * 1000, intervalMs: 100, what: 'the window to end while retrying' });
  assert.ok(tries > 3, `retried while locked (${tries} tries)`);
  assert.ok(Date.now() - from < 3 * WINDOW_S * 1000, 'it ended with the window');
  assert.equal((await loginFrom(office, colleague.email, colleague.password)).type, 'welcome',
    'the address works again too');
});

test('a refused attempt is not counted', async () => {
  const office = freshAddr();
  const op = await c.createOperator(c.site.id, { name: 'Counted' });
  for (let i = 0; i < 3; i++) await loginFrom(office, op.email, 'wrong');
  for (let i = 0; i < 5; i++)
    assert.equal((await loginFrom(office, op.email, 'wrong')).code, 'login_throttled');
  assert.equal(c.redisCli('GET', `login:fail:acct:${op.email}`), '3', 'three failures, not eight');
  assert.equal(c.redisCli('GET', `login:fail:ip:${office}`), '3');
  const ttl = Number(c.redisCli('PTTL', `login:fail:acct:${op.email}`));
  assert.ok(ttl > 0 && ttl <= WINDOW_S * 1000, `the window: ${ttl} ms`);
});
