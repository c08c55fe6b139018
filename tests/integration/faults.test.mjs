// kill -9 of a router in the middle of chats: every chat goes on within
// seconds and every acknowledged message is in PostgreSQL exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, sleep } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
// The rate limit is not under test here: lift it so chats can send as fast as acks come.
before(async () => { c = await startCluster({ gateways: 1, routers: 2, env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000' } }); });
after(async () => { if (c) await c.stop(); });

// Sends one message as a documented client does: on `unavailable` it retries
// with the same client_id (after a short backoff) until acked or timeoutMs.
async function sendAcked(v, conv, text, timeoutMs = 15000) {
  const cid = clientId('v');
  const end = Date.now() + timeoutMs;
  let retries = 0;
  for (;;) {
    v.send({ type: 'send', conversation: conv, client_id: cid, text });
    const f = await v.next((x) => (x.type === 'ack' && x.client_id === cid) || (x.type === 'error' && x.ref === cid),
      { timeoutMs: Math.max(end - Date.now(), 1), what: `ack of ${text}` });
    if (f.type === 'ack' || f.code !== 'unavailable' || Date.now() > end) return { cid, f, retries };
    retries++;
    await sleep(200);
  }
}

test('kill -9 of a router mid-chat loses no acknowledged message', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Ops', maxChats: 100 }));
  const chats = [];
  for (let i = 0; i < 12; i++) {
    const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
    chats.push({ v, conv: v.welcome.conversation.id, acked: [] });
  }

  let stop = false;
  const errors = [];
  let retried = 0;
  const senders = chats.map(async (ch, i) => {
    for (let n = 0; !stop && n < 200; n++) {
      const { cid, f, retries } = await sendAcked(ch.v, ch.conv, `m${i}-${n}`);
      retried += retries;
      if (f.type === 'ack') ch.acked.push({ cid, seq: f.seq });
      else errors.push(f);
    }
  });
  await waitFor(() => chats.every((ch) => ch.acked.length >= 3), { what: 'chats running' });
  // The router we kill must own some of these chats (rendezvous spreads
  // them); the broker says who owns a key (besedactl status --key).
  const keys = chats.flatMap((ch) => ['--key', ch.conv]);
  const st = JSON.parse((await c.ctl(['status', '--json', ...keys])).stdout);
  const ownerOf = new Map(st.owners.filter((o) => o.service === 'router').map((o) => [o.key, o.worker]));
  const owned = chats.filter((ch) => ownerOf.get(ch.conv) === 'router-0');
  assert.ok(owned.length > 0 && owned.length < chats.length, `router-0 owns ${owned.length} of ${chats.length} chats`);
  await c.proc('router-0').kill('SIGKILL');
  const killedAt = Date.now();
  const before = chats.map((ch) => ch.acked.length);
  // Every chat makes progress again within 5 seconds of the kill.
  await waitFor(() => chats.every((ch, i) => ch.acked.length >= before[i] + 2), { what: 'every chat goes on', timeoutMs: 10000 });
  const resumedIn = Date.now() - killedAt;
  stop = true;
  await Promise.all(senders);
  assert.ok(resumedIn < 5000, `chats resumed after ${resumedIn} ms`);
  assert.deepEqual(errors, [], 'every message was eventually acknowledged');

  for (const ch of chats) {
    const rows = c.sql(`SELECT seq, client_msg_id FROM messages WHERE conversation_id='${ch.conv}' ORDER BY seq`);
    const bySeq = new Map(rows.map(([s, cid]) => [Number(s), cid]));
    for (const a of ch.acked) assert.equal(bySeq.get(a.seq), a.cid, `acked ${a.cid} stored at seq ${a.seq}`);
    assert.deepEqual(rows.map((r) => Number(r[0])), rows.map((_, i) => i + 1), 'sequence has no gaps');
    assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, 'no message stored twice');
    // The operator can read all of it after the failover.
    const m = await op.request({ type: 'sync', conversation: ch.conv, after: 0 }, 'messages');
    assert.equal(m.messages.length, rows.length);
  }
  chats.forEach((ch) => ch.v.close()); op.close();
  c.startRouter(0);
});

test('a restarted store and PostgreSQL restart lose no acknowledged message', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  const first = await sendAcked(v, conv, 'before');
  assert.equal(first.f.type, 'ack');
  await c.proc('store-0').kill('SIGKILL');
  const pending = sendAcked(v, conv, 'while the store is down', 20000);
  c.startStore(0);
  const during = await pending;
  assert.equal(during.f.type, 'ack', JSON.stringify(during.f));
  await c.restartPostgres();
  const after = await sendAcked(v, conv, 'after postgres restart', 20000);
  assert.equal(after.f.type, 'ack', JSON.stringify(after.f));
  const rows = c.sql(`SELECT body FROM messages WHERE conversation_id='${conv}' ORDER BY seq`).map((r) => r[0]);
  assert.deepEqual(rows, ['before', 'while the store is down', 'after postgres restart']);
  v.close();
});
