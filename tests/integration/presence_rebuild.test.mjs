// Redis restarted empty in the middle of chats: presence it lost is unknown,
// not offline. No chat goes back to the queue or moves to another operator
// while the gateways re-announce the consoles that never left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { operator } from '../lib/client.mjs';
import { startLoad, verifyChats } from '../lib/chatload.mjs';

// Short beats and TTL keep the test short: presence is rebuilt within one TTL.
const TTL_MS = 3000;
let c;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 2, env: {
    BESEDA_RATE_PER_SEC: '1000', BESEDA_RATE_BURST: '1000',
    BESEDA_PRESENCE_BEAT_MS: '1000', BESEDA_PRESENCE_TTL_MS: String(TTL_MS),
  } });
});
after(async () => { if (c) await c.stop(); });

test('an empty Redis after a restart takes no chat from an operator who never left', async () => {
  const ops = [];
  for (const name of ['Anna', 'Boris']) ops.push(await operator(c.wsUrl(0, 'operator'), await c.createOperator(c.site.id, { name, maxChats: 50 })));
  const load = await startLoad(c, { chats: 12, pauseMs: 50 });
  try {
    await load.progressed(2);
    const convs = load.chats.map((v) => `'${v.conv}'`).join(',');
    const owners = () => new Map(c.sql(`SELECT id, state, coalesce(operator_id::text, '') FROM conversations WHERE id IN (${convs})`)
      .map(([id, state, op]) => [id, `${state}/${op}`]));
    await waitFor(() => [...owners().values()].filter((s) => s.startsWith('assigned/')).length === load.chats.length,
      { what: 'every chat assigned' });
    const before = owners();
    const ids = new Set(ops.map((o) => o.welcome.operator.id));
    assert.ok([...before.values()].every((s) => ids.has(s.split('/')[1])));

    const redis = c.proc('redis');
    await redis.kill('SIGKILL');
    redis.start();
    await waitFor(() => c.redisCli('PING') === 'PONG', { what: 'redis back' });
    const back = Date.now();
    // Watch every chat for two TTLs while the load goes on: none moves.
    const moved = new Set();
    const from = load.counts();
    while (Date.now() - back < 2 * TTL_MS + 1000) {
      for (const [id, s] of owners()) if (s !== before.get(id)) moved.add(`${id}: ${before.get(id)} -> ${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...moved], [], 'no chat went back to the queue or to another operator');
    await load.progressed(3, from, 10000, 'chats go on after the Redis restart');
    // The operators are known again: rebuilt from the live consoles.
    await waitFor(() => ops.every((o) => Number(c.redisCli('ZCARD', `op:${o.welcome.operator.id}:conns`)) > 0),
      { what: 'presence rebuilt from the consoles' });
    await load.stop();
    assert.equal(load.totals().errors, 0);
    verifyChats(c, load.chats);
  } finally {
    await load.stop();
    load.close();
    ops.forEach((o) => o.close());
  }
});
