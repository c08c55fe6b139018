// Every answer names the request it answers: a client-chosen `req` on any
// frame comes back in the answer and in the error, and an error about a
// conversation names the conversation, so a console with several accepts,
// closes, syncs and transfers in flight knows which one failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startCluster } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 2 }); });
after(async () => { if (c) await c.stop(); });

const setRouting = (site, routing) => c.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}',
  '${JSON.stringify(routing)}') ON CONFLICT (site_id) DO UPDATE SET routing = EXCLUDED.routing`);

async function newChat(site) {
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hello?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return { v, conv };
}

/** Sends the frames at once; the answer to each, found by its `req`. */
async function inFlight(cl, frames) {
  for (const f of frames) cl.send(f);
  return Promise.all(frames.map((f) => cl.next((x) => x.req === f.req, { what: `answer to ${f.req}` })));
}

test('two accepts and two closes in flight: the one that failed is named by its req and conversation', async () => {
  const site = await c.createSite('Ring with request ids');
  const me = await c.createOperator(site.id, { name: 'Me' });
  const mate = await c.createOperator(site.id, { name: 'Mate' });
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: [me.id, mate.id] }],
    rules: [{ name: 'Ring both', match: {}, groups: ['g'], mode: 'ring', notify: 2, response_limit_s: 120 }],
  });
  me.ws = await operator(c.wsUrl(0, 'operator'), me);
  mate.ws = await operator(c.wsUrl(0, 'operator'), mate);
  const a = await newChat(site);
  const b = await newChat(site);
  for (const conv of [a.conv, b.conv])
    for (const op of [me, mate])
      await op.ws.next((f) => f.type === 'ring' && f.conversation.id === conv, { what: `ring ${conv}` });
  // The colleague takes B first.
  assert.equal((await mate.ws.request({ type: 'accept', conversation: b.conv, req: 'mate-1' }, 'ok')).req, 'mate-1');

  // B first, so that a client matching answers by arrival order would be wrong.
  const [gotB, gotA] = await inFlight(me.ws, [
    { type: 'accept', conversation: b.conv, req: 'acc-b' },
    { type: 'accept', conversation: a.conv, req: 'acc-a' },
  ]);
  assert.equal(gotA.type, 'ok', JSON.stringify(gotA));
  assert.equal(gotA.conversation, a.conv);
  assert.equal(gotB.type, 'error', JSON.stringify(gotB));
  assert.equal(gotB.code, 'already_taken');
  assert.equal(gotB.conversation, b.conv, 'the error names the conversation');
  assert.equal(gotB.ref, 'accept', 'ref is still the frame type');

  const [closedB, closedA] = await inFlight(me.ws, [
    { type: 'close', conversation: b.conv, req: 'close-b' },
    { type: 'close', conversation: a.conv, req: 'close-a' },
  ]);
  assert.equal(closedA.type, 'ok', JSON.stringify(closedA));
  assert.equal(closedA.conversation, a.conv);
  assert.equal(closedB.type, 'error', JSON.stringify(closedB));
  assert.equal(closedB.code, 'forbidden');
  assert.equal(closedB.conversation, b.conv);
  for (const x of [me, mate]) x.ws.close();
  a.v.close(); b.v.close();
});

test('syncs, transfers and frames refused at the gateway carry their req too', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Syncer' }));
  const { v, conv } = await newChat(c.site);
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  const nowhere = crypto.randomUUID();
  const [bad, good, transfer, refused, pong] = await inFlight(op, [
    { type: 'sync', conversation: nowhere, after: 0, req: 's-1' },
    { type: 'sync', conversation: conv, after: 0, req: 's-2' },
    { type: 'transfer', conversation: conv, to_operator: crypto.randomUUID(), req: 't-1' },
    { type: 'close', conversation: 'not-a-uuid', req: 'c-1' },
    { type: 'ping', req: 'p-1' },
  ]);
  assert.equal(good.type, 'messages');
  assert.equal(good.conversation, conv);
  assert.equal(bad.type, 'error', JSON.stringify(bad));
  assert.equal(bad.conversation, nowhere);
  assert.equal(transfer.type, 'error', JSON.stringify(transfer));
  assert.equal(transfer.conversation, conv);
  assert.equal(refused.code, 'no_conversation');
  assert.equal(refused.conversation, undefined, 'an id that cannot exist is not echoed');
  assert.equal(pong.type, 'pong');
  // Without req the answers are as before, and the error still names the conversation.
  const e = await op.request({ type: 'close', conversation: nowhere }, 'ok');
  assert.equal(e.type, 'error');
  assert.equal(e.req, undefined);
  assert.equal(e.conversation, nowhere);
  const wrong = await op.request({ type: 'sync', conversation: conv, req: 42 }, 'messages');
  assert.equal(wrong.code, 'missing_field', 'a req that is not a string is refused');
  op.close(); v.close();
});

test('a visitor frame carries its req too', async () => {
  const cl = await Client.connect(c.wsUrl(0, 'visitor'));
  const w = await cl.request({ type: 'hello', site: c.site.id, req: 'h-1' }, 'welcome');
  assert.equal(w.type, 'welcome');
  assert.equal(w.req, 'h-1');
  const e = await cl.request({ type: 'send', conversation: w.conversation.id, client_id: clientId('v'), text: ' ', req: 'v-2' }, 'ack');
  assert.equal(e.code, 'empty_text');
  assert.equal(e.req, 'v-2');
  assert.equal(e.conversation, w.conversation.id);
  cl.close();
});
