// Messages one sender sends in order over one WebSocket are stored (get
// seqs) in that order across faults: a router stopped for 10 s, a store
// killed and restarted. The senders here type ahead, as people do: each
// sends a message every 100 ms without waiting for the previous ack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c, op;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 2, env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000' } });
  op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Ops', maxChats: 100 }));
});
after(async () => { op?.close(); if (c) await c.stop(); });

const PERIOD_MS = 100;
const MAX_UNACKED = 30;

// A visitor that sends `<name>-<n>` every PERIOD_MS (n = 0, 1, ...) without
// waiting for acks (at most MAX_UNACKED outstanding), and records every ack
// and every error frame.
async function typingAhead(name) {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const s = { name, v, conv: v.welcome.conversation.id, sent: [], acked: new Map(), errors: [], stop: false };
  s.harvest = () => {
    for (const f of v.frames.splice(0)) {
      if (f.type === 'ack') s.acked.set(f.client_id, f.seq);
      else if (f.type === 'error') s.errors.push(f);
    }
  };
  s.loop = (async () => {
    for (let n = 0; !s.stop; n++) {
      while (s.sent.length - s.acked.size >= MAX_UNACKED && !s.stop) { await new Promise((r) => setTimeout(r, 20)); s.harvest(); }
      const cid = clientId(name);
      s.sent.push(cid);
      v.send({ type: 'send', conversation: s.conv, client_id: cid, text: `${name}-${n}` });
      await new Promise((r) => setTimeout(r, PERIOD_MS));
      s.harvest();
    }
  })();
  return s;
}

async function runWithFault(fault, prefix) {
  const senders = [];
  for (let i = 0; i < 10; i++) senders.push(await typingAhead(`${prefix}${i}`));
  try {
    await waitFor(() => senders.every((s) => s.acked.size >= 5), { what: 'chats running' });
    await fault();
    const from = senders.map((s) => s.acked.size);
    await waitFor(() => senders.every((s, i) => s.acked.size >= from[i] + 5), { what: 'every chat goes on', timeoutMs: 20000 });
  } finally {
    senders.forEach((s) => { s.stop = true; });
    await Promise.all(senders.map((s) => s.loop));
  }
  // Everything sent is answered.
  await waitFor(() => senders.every((s) => { s.harvest(); return s.acked.size + s.errors.length >= s.sent.length; }),
    { what: 'every message answered', timeoutMs: 30000 });
  const out = [];
  for (const s of senders) {
    assert.deepEqual(s.errors, [], `${s.name}: no error frame`);
    const rows = c.sql(`SELECT seq, client_msg_id FROM messages WHERE conversation_id='${s.conv}' ORDER BY seq`);
    const stored = rows.map((r) => r[1]);
    // Stored in the order sent, each once, nothing acked missing.
    assert.deepEqual(stored, s.sent.filter((cid) => stored.includes(cid)), `${s.name}: stored in the order sent`);
    for (const [cid, seq] of s.acked) assert.equal(rows.find((r) => r[1] === cid)?.[0], String(seq), `${s.name}: ${cid} at its acked seq`);
    assert.equal(stored.length, s.sent.length, `${s.name}: every message stored`);
    out.push(stored.length);
    s.v.close();
  }
  return out;
}

test('a router stopped for 10 s keeps every sender\'s messages in the order sent', async () => {
  const stored = await runWithFault(async () => {
    const r = c.proc('router-0');
    r.child.kill('SIGSTOP');
    try {
      await new Promise((res) => setTimeout(res, 10000));   // the fault is a 10 s pause
    } finally {
      r.child.kill('SIGCONT');
    }
  }, 'p');
  assert.ok(stored.every((n) => n > 20), JSON.stringify(stored));
});

test('a store killed and restarted keeps every sender\'s messages in the order sent', async () => {
  const stored = await runWithFault(async () => {
    await c.proc('store-0').kill('SIGKILL');
    c.startStore(0);
  }, 's');
  assert.ok(stored.every((n) => n > 10), JSON.stringify(stored));
});
