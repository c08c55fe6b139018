// SIGTERM drains under a running load of many chats, and routers scaled
// 2 → 4 → 1 while it runs: every drained process exits 0, chats go on, every
// acked message is in PostgreSQL at its acked seq exactly once, sequences
// have no gaps. The numbers measured (drain time, `unavailable` answers,
// reconnects, worst send-to-ack latency) are printed as test diagnostics;
// docs/OPERATIONS.md ("Drain and scaling") quotes them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, sleep } from '../lib/cluster.mjs';
import { Client } from '../lib/client.mjs';
import { startLoad, verifyChats } from '../lib/chatload.mjs';

// Every chat sends its next message as soon as the last one is acked, so a
// drain always finds requests in flight. DRAIN_CHATS / DRAIN_PAUSE_MS change the load.
const CHATS = Number(process.env.DRAIN_CHATS || 24);
const PAUSE_MS = Number(process.env.DRAIN_PAUSE_MS || 0);
let c, op;
// The rate limit is not under test: lift it so chats send as fast as acks come.
before(async () => {
  c = await startCluster({ gateways: 2, routers: 2, stores: 2, env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000' } });
  // One operator with room for every chat, on the gateway no test stops, so chats get assigned.
  const account = await c.createOperator(c.site.id, { name: 'Ops', maxChats: 1000 });
  // A login may be answered `unavailable` on a busy machine (argon2): retry it, as a client does.
  for (let attempt = 1; !op; attempt++) {
    const client = await Client.connect(c.wsUrl(1, 'operator'));
    const w = await client.request({ type: 'login', email: account.email, password: account.password }, 'welcome', { timeoutMs: 15000 });
    if (w.type === 'welcome') { op = client; break; }
    client.close();
    if (w.code !== 'unavailable' || attempt >= 4) throw new Error(`operator login: ${JSON.stringify(w)}`);
  }
  await waitFor(async () => (await workers('router')).length === 2 && (await workers('store')).length === 2, { what: 'workers registered' });
});
after(async () => { op?.close(); if (c) await c.stop(); });

async function status(keys = []) {
  const r = await c.ctl(['status', ...keys.flatMap((k) => ['--key', k]), '--json']);
  assert.equal(r.code, 0, `besedactl status: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}
const workers = async (service) => (await status()).workers.filter((w) => w.service === service);
/** conversation id -> router that owns it now (the broker's rendezvous answer). */
async function routerOwners(convs) {
  const s = await status(convs);
  return new Map(s.owners.filter((o) => o.service === 'router').map((o) => [o.key, o.worker]));
}

const liveGateways = () => [0, 1].filter((i) => c.proc(`gateway-${i}`)?.running);

/** Sends SIGTERM, waits for the exit (bounded), asserts exit code 0; returns the drain time in ms. */
async function sigterm(name, timeoutMs = 10000) {
  const p = c.proc(name);
  const t0 = Date.now();
  p.child.kill('SIGTERM');
  let timer;
  await Promise.race([p.exited, new Promise((r) => { timer = setTimeout(r, timeoutMs); })]);
  clearTimeout(timer);
  assert.ok(!p.running, `${name} exited within ${timeoutMs} ms of SIGTERM`);
  assert.equal(p.exitCode, 0, `${name} exit code after SIGTERM (signal ${p.exitSignal})`);
  return Date.now() - t0;
}

async function load(prefix) {
  const l = await startLoad(c, { chats: CHATS, gateways: liveGateways, placement: (i) => i % 2, prefix, pauseMs: PAUSE_MS });
  await l.progressed(5, undefined, 15000, 'chats running');
  return l;
}

function report(t, what, l, extra = {}) {
  const totals = { ...l.totals(), ...extra };
  t.diagnostic(`${what}: ${JSON.stringify(totals)}`);
  return totals;
}

test('SIGTERM of a router under load: exit 0, chats go on, nothing lost or doubled', async (t) => {
  const l = await load('r');
  const owners = await routerOwners(l.chats.map((v) => v.conv));
  const owned = l.chats.filter((v) => owners.get(v.conv) === 'router-0');
  assert.ok(owned.length > 0 && owned.length < CHATS, `router-0 owns ${owned.length} of ${CHATS} chats`);
  const before = l.counts();
  const drainMs = await sigterm('router-0');
  const stoppedAt = l.counts();
  await l.progressed(10, stoppedAt, 10000, 'every chat goes on after the drain');
  assert.ok(l.chats.every((v, i) => v.acked.length > before[i]), 'chats went on');
  await l.stop();
  const after = await routerOwners(owned.map((v) => v.conv));
  assert.ok([...after.values()].every((w) => w === 'router-1'), 'router-0\'s chats moved to router-1');
  verifyChats(c, l.chats);
  const totals = report(t, 'router drain', l, { drainMs });
  assert.equal(totals.errors, 0);
  assert.equal(totals.unavailable, 0, 'a graceful router drain answers no request `unavailable`');
  assert.equal(totals.slowAcks, 0, 'no request waited for a bus resend (none was left behind at the drained router)');
  assert.match(c.proc('router-0').log(), /"msg":"router stopped","pending_dropped":"0"/);
  l.close();
  c.startRouter(0);
  await waitFor(async () => (await workers('router')).length === 2, { what: 'router-0 back' });
});

test('SIGTERM of a store while another runs: exit 0, chats go on, nothing lost or doubled', async (t) => {
  const l = await load('s');
  const drainMs = await sigterm('store-0');
  const stoppedAt = l.counts();
  await l.progressed(10, stoppedAt, 10000, 'every chat goes on after the drain');
  await l.stop();
  assert.deepEqual((await workers('store')).map((w) => w.name), ['store-1']);
  verifyChats(c, l.chats);
  const totals = report(t, 'store drain', l, { drainMs });
  assert.equal(totals.errors, 0);
  assert.equal(totals.unavailable, 0, 'a graceful store drain answers no request `unavailable`');
  assert.equal(totals.slowAcks, 0, 'no request waited for a bus resend (none was left behind at the drained store)');
  l.close();
  c.startStore(0);
  await waitFor(async () => (await workers('store')).length === 2, { what: 'store-0 back' });
});

test('SIGTERM of a gateway: its clients get reconnect, resume on the other gateway, nothing lost or doubled', async (t) => {
  const l = await load('g');
  const onGw0 = l.chats.filter((v) => v.gw === 0);
  assert.equal(onGw0.length, CHATS / 2);
  const drainMs = await sigterm('gateway-0');
  const stoppedAt = l.counts();
  await l.progressed(10, stoppedAt, 10000, 'every chat goes on after the drain');
  await l.stop();
  // Each client of the drained gateway was told to reconnect, did, and is on gateway-1 now.
  for (const v of onGw0) {
    assert.deepEqual(v.closeCodes, { 1001: 1 }, `${v.name} was closed once, with 1001 (going away)`);
    assert.equal(v.stats.reconnectFrames, 1, `${v.name} got one reconnect frame`);
    assert.equal(v.stats.reconnects, 1, `${v.name} reconnected once`);
  }
  assert.ok(l.chats.every((v) => v.gw === 1), 'everyone is on gateway-1');
  assert.ok(l.chats.filter((v) => !onGw0.includes(v)).every((v) => v.stats.reconnects === 0), 'gateway-1 clients untouched');
  verifyChats(c, l.chats);
  const totals = report(t, 'gateway drain', l, { drainMs });
  assert.equal(totals.errors, 0);
  l.close();
  await c.startGateway(0);
});

test('routers 2 → 4 → 1 under load: keys move, chats flow, nothing lost or doubled', async (t) => {
  const l = await load('x');
  const convs = l.chats.map((v) => v.conv);
  const drains = {};
  // Scale up: the new routers take their rendezvous share of the keys at once.
  c.startRouter(2); c.startRouter(3);
  await waitFor(async () => (await workers('router')).length === 4, { what: 'four routers' });
  await l.progressed(10, l.counts(), 10000, 'chats go on with four routers');
  const owners4 = await routerOwners(convs);
  const newOwned = convs.filter((k) => ['router-2', 'router-3'].includes(owners4.get(k)));
  assert.ok(newOwned.length > 0, `the new routers own ${newOwned.length} of ${CHATS} chats`);
  const served = (await workers('router')).filter((w) => ['router-2', 'router-3'].includes(w.name));
  assert.ok(served.every((w) => w.requests > 0), `the new routers served requests: ${JSON.stringify(served)}`);
  // Scale down to one, one SIGTERM at a time, the load running throughout.
  for (const name of ['router-0', 'router-1', 'router-2']) {
    drains[name] = await sigterm(name);
    await l.progressed(5, l.counts(), 10000, `chats go on after ${name} left`);
  }
  assert.deepEqual((await workers('router')).map((w) => w.name), ['router-3']);
  const owners1 = await routerOwners(convs);
  assert.ok(convs.every((k) => owners1.get(k) === 'router-3'), 'router-3 owns every chat');
  await l.progressed(5, l.counts(), 10000, 'chats go on with one router');
  await l.stop();
  verifyChats(c, l.chats);
  const totals = report(t, 'routers 2→4→1', l, { drains, movedToNew: newOwned.length });
  assert.equal(totals.errors, 0);
  assert.equal(totals.unavailable, 0, 'scaling answers no request `unavailable`');
  assert.equal(totals.slowAcks, 0, 'no request waited for a bus resend while routers joined and left');
  // The operator sees every chat in full after all the moves.
  for (const v of l.chats) {
    const seqs = [];
    for (let more = true, page = 0; more && page < 1000; page++) {
      const m = await op.request({ type: 'sync', conversation: v.conv, after: seqs.length }, 'messages', { timeoutMs: 10000 });
      assert.equal(m.type, 'messages', JSON.stringify(m));
      seqs.push(...m.messages.map((x) => x.seq));
      more = m.more && m.messages.length > 0;
    }
    assert.deepEqual(seqs, v.acked.map((_, i) => i + 1), `${v.name}: the operator reads 1..${v.acked.length}`);
  }
  l.close();
});
