// A broker killed and restarted in the middle of a steady chat load costs
// the clients a delay, never an error frame, and every process logs a
// warning when it loses the broker and when it gets it back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { startLoad, verifyChats } from '../lib/chatload.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 2, env: { BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000' } }); });
after(async () => { if (c) await c.stop(); });

const warned = (name, msg) => c.proc(name).log().split('\n').some((l) => l.includes('"level":"warn"') && l.includes(`"msg":"${msg}"`));

test('a broker restart under load shows clients no error and is logged by every process', async () => {
  const load = await startLoad(c, { chats: 16, pauseMs: 20 });
  try {
    await load.progressed(3);
    const broker = c.proc('broker');
    await broker.kill('SIGKILL');
    const downAt = Date.now();
    // Every process notices (workers: three missed heartbeats; the gateway: the connection).
    const procs = ['router-0', 'router-1', 'store-0', 'gateway-0'];
    await waitFor(() => procs.every((p) => warned(p, 'lost the broker')), { what: 'every process warns it lost the broker', timeoutMs: 8000 });
    const outage = Math.max(0, 3000 - (Date.now() - downAt));
    await new Promise((r) => setTimeout(r, outage));   // a 3 s outage, as in the report
    broker.start();
    const from = load.counts();
    await load.progressed(5, from, 20000, 'every chat goes on after the broker is back');
    await waitFor(() => procs.every((p) => warned(p, 'broker is back')), { what: 'every process warns the broker is back', timeoutMs: 8000 });
    await load.stop();
    const t = load.totals();
    assert.equal(t.errors, 0, `no message failed: ${JSON.stringify(load.chats.flatMap((v) => v.errors)).slice(0, 500)}`);
    assert.equal(t.unavailable, 0, `no client saw "unavailable" (${JSON.stringify(t)})`);
    assert.equal(t.reconnects, 0, 'no connection was lost');
    verifyChats(c, load.chats);
  } finally {
    await load.stop();
    load.close();
  }
});
