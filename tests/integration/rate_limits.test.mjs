// Frame rate limits per role: a logged-in operator (many chats, a sync after
// each assignment) has a limit of its own (50/s, burst 200 by default),
// visitors keep 5/s, burst 20, and so does an operator connection before it
// has logged in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 1 }); });   // default limits
after(async () => { if (c) await c.stop(); });

/** Sends `frames` at once, then waits for `replyType` n times; the errors seen. */
async function burst(cl, frames, replyType, n) {
  for (const f of frames) cl.send(f);
  const errors = [];
  for (let got = 0; got + errors.length < frames.length;) {
    const f = await cl.next((x) => x.type === replyType || x.type === 'error', { what: `${replyType} ${got}/${n}`, timeoutMs: 30000 });
    if (f.type === 'error') errors.push(f.code); else got++;
  }
  return errors;
}

test('a logged-in operator sends 100 frames at once without rate_limited; a visitor is still limited', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name: 'Busy', maxChats: 10 }));
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hi' }, 'ack')).type, 'ack');
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  const syncs = Array.from({ length: 100 }, () => ({ type: 'sync', conversation: conv, after: 0 }));
  const opErrors = await burst(op, syncs, 'messages', 100);
  assert.deepEqual(opErrors, [], 'no frame of the operator was refused');

  const pings = Array.from({ length: 40 }, () => ({ type: 'ping' }));
  const vErrors = await burst(v, pings, 'pong', 40);
  assert.ok(vErrors.length >= 15 && vErrors.every((x) => x === 'rate_limited'),
    `the visitor's frames past its burst of 20 are rate_limited: ${vErrors.length} refused`);
  op.close(); v.close();
});

test('an operator connection has the visitor limit until it has logged in', async () => {
  const cl = await Client.connect(c.wsUrl(0, 'operator'));
  const errors = await burst(cl, Array.from({ length: 40 }, () => ({ type: 'ping' })), 'pong', 40);
  assert.ok(errors.length >= 15 && errors.every((x) => x === 'rate_limited'), `before login: ${errors.length} refused`);
  cl.close();
});
