// Hostile WebSocket clients against the real processes: frames that keep
// streaming past the 64 KiB limit, a visitor that picks its own
// conversation id, and requests whose error codes must be the ones
// docs/PROTOCOL.md lists (ownership checked first). After each attack the
// gateway serves and a bystander chat still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
let bystander, anna;

before(async () => {
  c = await startCluster({ gateways: 1, routers: 1 });
  anna = await operator(c.wsUrl(0, 'operator'), c.operator);
  bystander = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  await send(bystander, 'hello');
  await anna.next((f) => f.type === 'assigned' && f.conversation?.id === bystander.welcome.conversation.id,
    { what: 'the bystander chat is assigned' });
});

after(async () => {
  bystander?.close();
  anna?.close();
  if (c) await c.stop();
});

async function send(cl, text, conv = cl.welcome.conversation.id) {
  const a = await cl.request({ type: 'send', conversation: conv, client_id: clientId('v'), text }, 'ack', { timeoutMs: 10000 });
  assert.equal(a.type, 'ack', `send acked: ${JSON.stringify(a)}`);
  return a;
}

/** The gateway serves and the bystander chat works both ways. */
async function alive(what) {
  assert.deepEqual(c.problems(), [], `no crash after ${what}`);
  const h = await fetch(`${c.gatewayUrl(0)}/healthz`, { signal: AbortSignal.timeout(3000) });
  assert.equal(h.status, 200, `/healthz after ${what}`);
  const text = `still here after ${what}`;
  await send(bystander, text);
  await anna.next((f) => f.type === 'message' && f.text === text, { what: `anna sees the bystander after ${what}` });
}

/** Sends frame on cl and expects an error with code. */
async function expectError(cl, frame, code, what) {
  cl.send(frame);
  const e = await cl.next((f) => f.type === 'error', { what: `error ${code} for ${what}` });
  assert.equal(e.code, code, `${what}: ${JSON.stringify(e)}`);
  assert.ok(e.message && e.message.length > 0, `${what}: the error says why`);
  return e;
}

/* ---------------------------------------------------------- frame limit */

/** Streams `send(ws)` at the gateway and expects frame_too_large, then a clean close 1009. */
async function tooLarge(what, stream) {
  const cl = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  stream(cl.ws);
  const e = await cl.next('error', { timeoutMs: 20000, what: `frame_too_large for ${what}` });
  assert.equal(e.code, 'frame_too_large', `${what}: ${JSON.stringify(e)}`);
  const closed = await cl.waitClosed(20000);
  assert.equal(closed.code, 1009, `${what}: a clean close 1009, not a reset (got ${closed.code})`);
  cl.close();
}

test('80 KB as a burst of fragments: frame_too_large and a clean close', async () => {
  await tooLarge('80 KB in 1 KB fragments', (ws) => {
    const piece = Buffer.alloc(1024, 'x');
    for (let i = 0; i < 80; i++) ws.send(piece, { binary: false, fin: false });
    ws.send(Buffer.from('x'), { binary: false, fin: true });
  });
  await tooLarge('80 KB in 100-byte fragments, then more frames', (ws) => {
    const piece = Buffer.alloc(100, 'y');
    for (let i = 0; i < 800; i++) ws.send(piece, { binary: false, fin: false });
    ws.send(Buffer.from('y'), { binary: false, fin: true });
    for (let i = 0; i < 50; i++) ws.send(JSON.stringify({ type: 'ping' }));
  });
  await alive('fragment bursts');
});

test('8 MB and 10 MB frames: frame_too_large and a clean close', async () => {
  await tooLarge('an 8 MB frame', (ws) => ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(8 * 1024 * 1024) })));
  await tooLarge('a 10 MB frame', (ws) => ws.send(Buffer.alloc(10 * 1024 * 1024, 'z'), { binary: false }));
  await tooLarge('two 8 MB frames back to back', (ws) => {
    const big = Buffer.alloc(8 * 1024 * 1024, 'q');
    ws.send(big, { binary: false });
    ws.send(big, { binary: false });
  });
  await alive('huge frames');
});
