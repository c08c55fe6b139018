// A message PostgreSQL committed is delivered to the other side even when the
// router that wrote it dies before publishing it: the sender's retry reaches
// another router, is answered as a duplicate, and that router publishes the
// stored message (docs/PROTOCOL.md, delivery guarantees).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, sleep } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 2, env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000' } }); });
after(async () => { if (c) await c.stop(); });

async function metric(name, re) {
  const text = await (await fetch(`${c.adminUrl(name)}/metrics`)).text();
  const line = text.split('\n').find((l) => re.test(l));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function ownerOf(key) {
  const st = JSON.parse((await c.ctl(['status', '--json', '--key', key])).stdout);
  return st.owners.find((o) => o.service === 'router' && o.key === key)?.worker;
}

// Sends until acked, retrying `unavailable` with the same client id, as a documented client does.
async function sendAcked(v, conv, cid, text, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    v.send({ type: 'send', conversation: conv, client_id: cid, text });
    const f = await v.next((x) => (x.type === 'ack' && x.client_id === cid) || (x.type === 'error' && x.ref === cid),
      { timeoutMs: Math.max(end - Date.now(), 1), what: `ack of ${text}` });
    if (f.type === 'ack' || f.code !== 'unavailable' || Date.now() > end) return f;
    await sleep(200);
  }
}

test('a message committed just before its router died is delivered when the retry is a duplicate', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Ops', maxChats: 50 }));
  // A visitor whose conversation router-0 owns (rendezvous hashing spreads them).
  let v, conv;
  for (let i = 0; i < 40 && !v; i++) {
    const x = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
    if (await ownerOf(x.welcome.conversation.id) === 'router-0') { v = x; conv = x.welcome.conversation.id; } else x.close();
  }
  assert.ok(v, 'a conversation owned by router-0');
  const first = await sendAcked(v, conv, clientId('v'), 'hello');
  assert.equal(first.type, 'ack');
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'the chat assigned' });
  // The operator's console now follows the conversation: a message reaches it live.
  assert.equal((await sendAcked(v, conv, clientId('v'), 'are you there?')).type, 'ack');
  await op.next((f) => f.type === 'message' && f.conversation === conv && f.seq === 2, { what: 'a live message at the operator' });

  // The store holds the append while router-0 waits for it; router-0 is
  // stopped, the store commits, and router-0 dies with the reply unread.
  const appends = await metric('router-0', /^beseda_router_store_calls_total\{step="append"\}/);
  c.proc('store-0').child.kill('SIGSTOP');
  const cid = clientId('v');
  v.send({ type: 'send', conversation: conv, client_id: cid, text: 'the last word' });
  try {
    await waitFor(async () => await metric('router-0', /^beseda_router_store_calls_total\{step="append"\}/) > appends,
      { what: 'router-0 sent the append', timeoutMs: 5000 });
    c.proc('router-0').child.kill('SIGSTOP');
  } finally {
    c.proc('store-0').child.kill('SIGCONT');
  }
  await waitFor(() => c.sql(`SELECT count(*) FROM messages WHERE client_msg_id='${cid}'`)[0][0] === '1',
    { what: 'the message committed', timeoutMs: 10000 });
  await c.proc('router-0').kill('SIGKILL');

  // The gateway's resend (or the client's retry) reaches router-1: a duplicate.
  const ack = await v.next((x) => (x.type === 'ack' && x.client_id === cid) || (x.type === 'error' && x.ref === cid),
    { timeoutMs: 20000, what: 'the ack' });
  const f = ack.type === 'ack' ? ack : await sendAcked(v, conv, cid, 'the last word');
  assert.equal(f.type, 'ack', JSON.stringify(f));
  assert.equal(f.seq, 3);
  // The operator sees it, without a sync, as the stored message.
  const m = await op.next((x) => x.type === 'message' && x.conversation === conv && x.seq === 3,
    { timeoutMs: 10000, what: 'the last message at the operator' });
  assert.equal(m.text, 'the last word');
  assert.equal(m.client_id, cid);
  assert.equal(m.author?.kind, 'visitor');
  v.close(); op.close();
  c.startRouter(0);
});

test('kill -9 of a router right after a burst: the operator sees every acknowledged message live', async () => {
  await waitFor(async () => JSON.parse((await c.ctl(['status', '--json'])).stdout).workers
    .filter((w) => w.service === 'router').length === 2, { what: 'router-0 back' });
  const op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Burst', maxChats: 100 }));
  const chats = [];
  for (let i = 0; i < 12; i++) {
    const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
    chats.push({ v, conv: v.welcome.conversation.id, sent: [], texts: new Map(), acks: new Map() });
  }
  // Every chat assigned to the operator, whose console then follows it live.
  for (const ch of chats) assert.equal((await sendAcked(ch.v, ch.conv, clientId('v'), 'hi')).type, 'ack');
  const assigned = new Set();
  const seen = new Map(chats.map((ch) => [ch.conv, new Set()]));
  const harvest = () => {
    for (const f of op.frames.splice(0)) {
      if (f.type === 'assigned') assigned.add(f.conversation.id);
      if (f.type === 'message' && seen.has(f.conversation)) seen.get(f.conversation).add(f.seq);
    }
  };
  await waitFor(() => { harvest(); return chats.every((ch) => assigned.has(ch.conv)); }, { what: 'every chat assigned' });
  const owned = [];
  for (const ch of chats) if (await ownerOf(ch.conv) === 'router-0') owned.push(ch);
  assert.ok(owned.length > 0, 'router-0 owns some chats');

  // A burst of 10 messages from every visitor; router-0 dies in the middle of it.
  const burst = async (ch) => {
    for (let n = 0; n < 10; n++) {
      const cid = clientId('b');
      ch.sent.push(cid);
      ch.texts.set(cid, `burst-${n}`);
      ch.v.send({ type: 'send', conversation: ch.conv, client_id: cid, text: `burst-${n}` });
    }
  };
  chats.forEach(burst);
  const ackOf = (ch) => { for (const f of ch.v.frames.splice(0)) if (f.type === 'ack') ch.acks.set(f.client_id, f.seq); else if (f.type === 'error') ch.acks.set(f.ref, f); };
  await waitFor(() => { owned.forEach(ackOf); return owned.some((ch) => ch.acks.size >= 1); }, { what: 'the burst under way', intervalMs: 1 });
  await c.proc('router-0').kill('SIGKILL');
  // Every message acked in the end (a client re-sends `unavailable` with the same client id).
  for (const ch of chats) {
    ackOf(ch);
    for (const cid of ch.sent) {
      while (!ch.acks.has(cid) || typeof ch.acks.get(cid) === 'object') {
        const f = await sendAcked(ch.v, ch.conv, cid, ch.texts.get(cid));
        if (f.type === 'ack') ch.acks.set(cid, f.seq);
        else assert.fail(JSON.stringify(f));
      }
    }
  }
  // The chats go quiet now: the operator must have seen every acked message live.
  await waitFor(() => { harvest(); return chats.every((ch) => [...ch.acks.values()].every((seq) => seen.get(ch.conv).has(seq))); },
    { what: 'every acknowledged message at the operator', timeoutMs: 10000 }).catch(() => {});
  const missing = chats.flatMap((ch) => [...ch.acks.entries()].filter(([, seq]) => !seen.get(ch.conv).has(seq)).map(([cid, seq]) => `${ch.conv}#${seq} ${cid}`));
  assert.deepEqual(missing, [], 'no acknowledged message unseen by the operator');
  chats.forEach((ch) => ch.v.close()); op.close();
  c.startRouter(0);
});
