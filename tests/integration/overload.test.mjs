// Past its in-flight bound a gateway refuses new requests at once with a
// retryable `overloaded` error carrying retry_after_ms, instead of queueing
// them: a client that re-sends after retry_after_ms with the same client_id
// gets every message acked and stored exactly once, the gateway stays quick
// to answer /healthz, and no process's memory runs away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, clientId } from '../lib/client.mjs';

const VISITORS = 40;
const MESSAGES = 8;          // each visitor sends them all at once, then retries the refused ones

let c;
before(async () => {
  c = await startCluster({
    gateways: 1, routers: 1,
    env: {
      BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000',
      BESEDA_MAX_IN_FLIGHT: '4', BESEDA_MAX_CONN_IN_FLIGHT: '2', BESEDA_OVERLOAD_RETRY_AFTER_MS: '200',
    },
  });
});
after(async () => { if (c) await c.stop(); });

function rssKiB(name) {
  const status = fs.readFileSync(`/proc/${c.procs.get(name).child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function healthzMs() {
  const t0 = Date.now();
  const res = await fetch(`${c.gatewayUrl(0)}/healthz`);
  assert.equal(res.status, 200);
  return Date.now() - t0;
}

test('a flood past the in-flight bound is refused with retry_after_ms, and every retried message is stored once', async () => {
  const procs = ['gateway-0', 'router-0', 'store-0'];
  const idle = Object.fromEntries(procs.map((p) => [p, rssKiB(p)]));
  const visitors = [];
  for (let i = 0; i < VISITORS; i++) visitors.push(await visitor(c.wsUrl(0, 'visitor'), c.site.id));

  const acked = new Map();        // client_id -> seq (acked once per client_id at most counted)
  const ackCount = new Map();     // client_id -> acks seen
  const refusals = [];
  const other = [];
  const texts = new Map();        // client_id -> [visitor, conversation, text]
  const timers = new Set();
  const resend = (v, cid) => {
    const [, conv, text] = texts.get(cid);
    v.send({ type: 'send', conversation: conv, client_id: cid, text });
  };
  const harvest = () => {
    for (const v of visitors) {
      for (const f of v.frames.splice(0)) {
        if (f.type === 'ack') {
          acked.set(f.client_id, f.seq);
          ackCount.set(f.client_id, (ackCount.get(f.client_id) || 0) + 1);
        } else if (f.type === 'error' && f.code === 'overloaded') {
          refusals.push(f);
          assert.ok(Number.isInteger(f.retry_after_ms) && f.retry_after_ms >= 200 && f.retry_after_ms < 400,
            `retry_after_ms with jitter: ${JSON.stringify(f)}`);
          assert.ok(texts.has(f.ref), `the refusal names the message: ${JSON.stringify(f)}`);
          const t = setTimeout(() => { timers.delete(t); resend(v, f.ref); }, f.retry_after_ms);
          timers.add(t);
        } else if (f.type === 'error') {
          other.push(f);
        }
      }
    }
  };

  // The flood: every visitor sends all its messages at once (a bounded loop).
  for (const [i, v] of visitors.entries()) {
    const conv = v.welcome.conversation.id;
    for (let n = 0; n < MESSAGES; n++) {
      const cid = clientId(`ov${i}`);
      texts.set(cid, [v, conv, `v${i}-m${n}`]);
      v.send({ type: 'send', conversation: conv, client_id: cid, text: `v${i}-m${n}` });
    }
  }
  const slowest = { healthz: 0 };
  const peak = { ...idle };
  try {
    await waitFor(async () => {
      harvest();
      slowest.healthz = Math.max(slowest.healthz, await healthzMs());
      for (const p of procs) peak[p] = Math.max(peak[p], rssKiB(p));
      return acked.size === texts.size;
    }, { what: 'every message acked after retries', timeoutMs: 60000, intervalMs: 100 });
  } finally {
    timers.forEach((t) => clearTimeout(t));
  }
  harvest();

  assert.ok(refusals.length > 0, 'some sends were refused as overloaded');
  assert.deepEqual(other, [], 'no other errors');
  assert.ok(slowest.healthz < 2000, `/healthz stayed quick (slowest ${slowest.healthz} ms)`);

  // Stored exactly once each: the client ids in the database are the sent ones, once.
  const rows = c.sql(`SELECT client_msg_id, count(*) FROM messages WHERE site_id = '${c.site.id}' GROUP BY client_msg_id`);
  const stored = new Map(rows.map(([cid, n]) => [cid, Number(n)]));
  for (const cid of texts.keys()) assert.equal(stored.get(cid), 1, `${cid} stored once`);
  assert.equal(stored.size, texts.size, 'nothing else stored');
  // Acks of one message all name one seq (a retry of an acked one is a duplicate).
  for (const [cid, n] of ackCount) assert.ok(n >= 1, cid);

  // Memory stays bounded: no process above 3x its idle RSS (+ 16 MiB for small idle sizes).
  for (const p of procs) {
    assert.ok(peak[p] < idle[p] * 3 + 16384, `${p} RSS ${peak[p]} KiB (idle ${idle[p]} KiB)`);
  }
  const metrics = await (await fetch(`${c.adminUrl('gateway-0')}/metrics`)).text();
  assert.match(metrics, /beseda_gateway_errors_total\{code="overloaded"\} [1-9]/, 'refusals are counted');
  visitors.forEach((v) => v.close());
});

async function metric(name, re) {
  const text = await (await fetch(`${c.adminUrl(name)}/metrics`)).text();
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

test('a request the router reaches after its gateway stopped waiting is dropped, not executed', async () => {
  await c.startGateway(1, { BESEDA_REQUEST_TIMEOUT_MS: '1000' });
  const v = await visitor(c.wsUrl(1, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  const first = clientId('late');
  v.send({ type: 'send', conversation: conv, client_id: first, text: 'before' });
  await v.next((f) => f.type === 'ack' && f.client_id === first, { what: 'first ack' });

  const router = c.procs.get('router-0').child;
  const late = clientId('late');
  const expired = /beseda_router_skipped_total\{reason="expired"\} (\d+)/;
  const before = await metric('router-0', expired);
  router.kill('SIGSTOP');          // a router far behind: the request waits in its queue
  try {
    v.send({ type: 'send', conversation: conv, client_id: late, text: 'too late' });
    const err = await v.next((f) => f.type === 'error' && f.ref === late, { what: 'unavailable', timeoutMs: 10000 });
    assert.equal(err.code, 'unavailable');
  } finally {
    router.kill('SIGCONT');
  }
  await waitFor(async () => (await metric('router-0', expired)) > before, { what: 'the router counts the drop' });
  assert.deepEqual(c.sql(`SELECT count(*) FROM messages WHERE client_msg_id = '${late}'`), [['0']],
    'the expired send was not stored');
  // The client's retry with the same client_id is stored, once.
  v.send({ type: 'send', conversation: conv, client_id: late, text: 'too late' });
  const ack = await v.next((f) => f.type === 'ack' && f.client_id === late, { what: 'retry acked' });
  assert.equal(ack.duplicate ?? false, false);
  assert.deepEqual(c.sql(`SELECT count(*) FROM messages WHERE client_msg_id = '${late}'`), [['1']]);
  v.close();
});
