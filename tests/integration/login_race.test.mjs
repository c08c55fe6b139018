// An operator who logs in while chats wait in the queue gets them in the
// login's own queue pass, and the console hears each one as an `assigned`
// frame exactly once. The router publishes those right after the welcome,
// before the gateway's subscription to o:<operator> (made on the welcome)
// may have reached the routers; the per-gateway topic g:<gateway>,
// subscribed when the gateway starts, carries them to the connection that
// logged in (docs/ARCHITECTURE.md, "Assignment"). Many operators coming
// back at once keep the machine busy, which is when the subscription used
// to lose the race. Session resumes are cheap for the store (a login spends
// tens of milliseconds hashing the password, which spaces logins out), so
// they come in a burst.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startCluster, waitFor, freePort, } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

const SITES = 20;
const LOGIN_SITES = 6;     // a login hashes the password in the store: fewer at once
const QUEUED = 3;          // chats waiting on each site before its operator logs in

const SLOW_GW = 2;         // its subscriptions reach the broker SUB_DELAY_MS late
const SUB_DELAY_MS = 300;

let c;
let proxy;
before(async () => {
  c = await startCluster({ gateways: 2, routers: 2 });
  proxy = await slowUpstream(c.brokerPorts[2], SUB_DELAY_MS);
  await c.startGateway(SLOW_GW, { BESEDA_BROKER_SUB: `tcp://127.0.0.1:${proxy.port}` });
});
after(async () => {
  if (proxy) proxy.close();
  if (c) await c.stop();
});

/** A TCP proxy to the broker's XPUB that holds every byte from the gateway
 * (its subscriptions) for delayMs and passes deliveries back at once: a
 * subscription that travels slowly, as on a busy machine, every time. */
async function slowUpstream(targetPort, delayMs) {
  const port = await freePort();
  const sockets = new Set();
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    for (const s of [down, up]) { sockets.add(s); s.on('error', () => {}); s.on('close', () => { down.destroy(); up.destroy(); }); }
    down.on('data', (d) => setTimeout(() => { if (!up.destroyed) up.write(d); }, delayMs));
    up.pipe(down);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, close: () => { server.close(); for (const s of sockets) s.destroy(); } };
}

/** Every frame the client receives from now on, including those next() takes out. */
function tap(client) {
  const seen = [...client.frames];
  const onFrame = client.onFrame.bind(client);
  client.onFrame = (data, isBinary) => { onFrame(data, isBinary); seen.push(client.frames[client.frames.length - 1]); };
  return seen;
}

const assignedTo = (opId, convs) => c.sql(
  `SELECT id FROM conversations WHERE operator_id = '${opId}' AND id IN (${convs.map((x) => `'${x}'`).join(',')})`,
).map((r) => r[0]).sort();

/** A site with one operator (logged in once for a session, then gone) and
 * QUEUED chats in the queue (nobody online). */
async function queuedSite(round, i) {
  const site = await c.createSite(`Login race ${round}/${i}`);
  const op = await c.createOperator(site.id, { name: `Op ${i}`, maxChats: QUEUED + 2 });
  const once = await operator(c.wsUrl(i % 2, 'operator'), op);
  op.session = once.welcome.session;
  once.close();
  await waitFor(() => c.redisCli('ZCARD', `op:${op.id}:conns`) === '0', { what: `operator ${i} offline` });
  const visitors = [];
  for (let k = 0; k < QUEUED; k++) {
    const v = await visitor(c.wsUrl(k % 2, 'visitor'), site.id);
    const conv = v.welcome.conversation.id;
    const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('q'), text: 'anyone?' }, 'ack');
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    visitors.push({ v, conv });
  }
  return { site, op, visitors };
}

/** Logs in (or resumes the session) without waiting for the welcome, so
 * that all of them run at once. */
async function startLogin(gw, op, how) {
  const client = await Client.connect(c.wsUrl(gw, 'operator'));
  const seen = tap(client);
  if (how === 'resume') client.send({ type: 'hello', session: op.session });
  else client.send({ type: 'login', email: op.email, password: op.password });
  return { client, seen };
}

const ROUNDS = ['resume', 'resume', 'resume', 'login'];
for (let round = 0; round < ROUNDS.length; round++) {
  const how = ROUNDS[round];
  const n = how === 'login' ? LOGIN_SITES : SITES;
  test(`${n} operators coming online at once (${how}) each hear every queued chat given to them, once (round ${round + 1})`, async () => {
    const sites = [];
    for (let i = 0; i < n; i++) sites.push(await queuedSite(round, i));
    for (const { visitors } of sites) {
      for (const { conv } of visitors) {
        assert.equal(c.sql(`SELECT state FROM conversations WHERE id = '${conv}'`)[0][0], 'queued');
      }
    }

    const logins = await Promise.all(sites.map(({ op }, i) => startLogin(i % 2, op, how)));
    for (const { client } of logins) {
      const w = await client.next((f) => f.type === 'welcome' || f.type === 'error', { what: 'welcome' });
      assert.equal(w.type, 'welcome', JSON.stringify(w));
      assert.equal(w.conversations.length, 0, 'nothing was assigned before the login');
    }

    const missing = [];
    for (let i = 0; i < n; i++) {
      const { op, visitors } = sites[i];
      const { client, seen } = logins[i];
      const convs = visitors.map((x) => x.conv);
      const mine = await waitFor(() => {
        const ids = assignedTo(op.id, convs);
        return ids.length === QUEUED && ids;
      }, { what: `the queue of site ${i} assigned to its operator` });
      for (const conv of mine) {
        const got = await client.next((f) => f.type === 'assigned' && f.conversation.id === conv,
          { what: `assigned ${conv}`, timeoutMs: 5000 }).then(() => true, () => false);
        if (!got) missing.push(`site ${i}: ${conv}`);
      }
      // Each chat goes on with its operator, which also lets any late
      // duplicate frame arrive before the count below.
      for (const { v, conv } of visitors) {
        const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'still here' }, 'ack');
        assert.equal(ack.type, 'ack', JSON.stringify(ack));
        await client.next((f) => f.type === 'message' && f.seq === ack.seq, { what: `operator ${i} receives ${conv}` });
      }
      const frames = seen.filter((f) => f.type === 'assigned').map((f) => f.conversation.id).sort();
      assert.ok(frames.every((id) => mine.includes(id)), `site ${i}: only its own chats announced`);
      assert.equal(new Set(frames).size, frames.length, `site ${i}: no chat announced twice: ${frames}`);
    }
    assert.deepEqual(missing, [], 'every chat assigned at login was announced to the operator');

    for (const { client } of logins) client.close();
    for (const { visitors } of sites) visitors.forEach(({ v }) => v.close());
  });
}

test('a login whose gateway subscribes slowly still hears the chats it got, once', async () => {
  const sites = [];
  for (let i = 0; i < 3; i++) sites.push(await queuedSite('slow', i));
  const logins = await Promise.all(sites.map(({ op }, i) => startLogin(SLOW_GW, op, i === 0 ? 'login' : 'resume')));
  for (let i = 0; i < sites.length; i++) {
    const { op, visitors } = sites[i];
    const { client, seen } = logins[i];
    const w = await client.next((f) => f.type === 'welcome' || f.type === 'error', { what: 'welcome' });
    assert.equal(w.type, 'welcome', JSON.stringify(w));
    const convs = visitors.map((x) => x.conv);
    const mine = await waitFor(() => { const ids = assignedTo(op.id, convs); return ids.length === QUEUED && ids; },
      { what: `the queue of site ${i} assigned` });
    for (const conv of mine) {
      await client.next((f) => f.type === 'assigned' && f.conversation.id === conv,
        { what: `assigned ${conv} through the slow gateway`, timeoutMs: 5000 });
    }
    // By the time the conversation's own topic works (its subscription is
    // slow too), anything the router published before it is in.
    const { v, conv } = visitors[0];
    await waitFor(async () => {
      const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'there?' }, 'ack');
      return client.next((f) => f.type === 'message' && f.seq === ack.seq, { timeoutMs: 300 }).then(() => true, () => false);
    }, { what: 'messages reach the operator', timeoutMs: 10000, intervalMs: 0 });
    const frames = seen.filter((f) => f.type === 'assigned').map((f) => f.conversation.id).sort();
    assert.deepEqual(frames, mine, `site ${i}: each chat announced once`);
  }
  for (const { client } of logins) client.close();
  for (const { visitors } of sites) visitors.forEach(({ v }) => v.close());
});

test('a resumed session with a second console: each connection hears an assignment once', async () => {
  const site = await c.createSite('Login race, two consoles');
  const op = await c.createOperator(site.id, { name: 'Two tabs', maxChats: 5 });
  const first = await operator(c.wsUrl(0, 'operator'), op);
  const away = await first.request({ type: 'status', status: 'away' }, 'ok');
  assert.equal(away.type, 'ok', JSON.stringify(away));
  const seenFirst = tap(first);
  const v = await visitor(c.wsUrl(1, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('q'), text: 'hi' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));

  // A second console on the same gateway resumes the session: its queue
  // pass gives it the chat; both consoles are the operator's.
  const second = await Client.connect(c.wsUrl(0, 'operator'));
  const seenSecond = tap(second);
  second.send({ type: 'hello', session: first.welcome.session });
  const w = await second.next((f) => f.type === 'welcome' || f.type === 'error', { what: 'welcome' });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  await waitFor(() => assignedTo(op.id, [conv]).length === 1, { what: 'the chat assigned' });
  await second.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned on the resumed console' });
  await first.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned on the first console' });
  const ack2 = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hello?' }, 'ack');
  await second.next((f) => f.type === 'message' && f.seq === ack2.seq, { what: 'second console gets the message' });
  await first.next((f) => f.type === 'message' && f.seq === ack2.seq, { what: 'first console gets the message' });
  for (const seen of [seenFirst, seenSecond]) {
    assert.equal(seen.filter((f) => f.type === 'assigned' && f.conversation.id === conv).length, 1, 'one assigned frame');
  }
  first.close(); second.close(); v.close();
});

test('a login whose gateway subscribes slowly still hears the chat that rings for it (ring mode)', async () => {
  const site = await c.createSite('Login race ring');
  const op = await c.createOperator(site.id, { name: 'Ringo' });
  c.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}', '${JSON.stringify({
    groups: [{ id: 'all', name: 'All', operators: [op.id] }],
    rules: [{ name: 'Ring all', match: {}, groups: ['all'], mode: 'ring', notify: 2, response_limit_s: 600 }] })}')`);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('q'), text: 'anyone?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  const { client, seen } = await startLogin(SLOW_GW, op, 'login');
  const w = await client.next((f) => f.type === 'welcome' || f.type === 'error', { what: 'welcome' });
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  const rang = w.ringing.some((x) => x.id === conv) ? null
    : await client.next((f) => f.type === 'ring' && f.conversation.id === conv, { what: 'ring through the slow gateway', timeoutMs: 5000 });
  if (rang) assert.ok(rang.conversation.ringing.includes(op.id));
  const ok = await client.request({ type: 'accept', conversation: conv }, 'ok');
  assert.deepEqual([ok.type, ok.ref], ['ok', 'accept'], JSON.stringify(ok));
  await client.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned after accept' });
  assert.ok(seen.filter((f) => f.type === 'assigned').length >= 1);
  client.close();
  v.close();
});
