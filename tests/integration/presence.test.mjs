// Operator presence lives in Redis with a heartbeat TTL: a closed console or
// a dead gateway makes the operator offline, and chats go to others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => {
  c = await startCluster({ gateways: 2, routers: 2, env: { BESEDA_PRESENCE_BEAT_MS: '500', BESEDA_PRESENCE_TTL_MS: '2000' } });
});
after(async () => { if (c) await c.stop(); });

const online = async (site, gw = 0) => {
  const v = await visitor(c.wsUrl(gw, 'visitor'), site);
  v.close();
  return v.welcome.operators_online;
};

test('closing the console makes the operator offline, and visitors are told', async () => {
  const site = await c.createSite('Presence');
  const a = await c.createOperator(site.id, { name: 'A' });
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal(v.welcome.operators_online, 0);
  const op = await operator(c.wsUrl(1, 'operator'), a);
  const up = await v.next((f) => f.type === 'operators' && f.online === 1, { what: 'operators 1' });
  assert.equal(up.online, 1);
  op.close();
  await v.next((f) => f.type === 'operators' && f.online === 0, { what: 'operators 0' });
  assert.equal(await online(site.id), 0);
  v.close();
});

test('away operators get no new chats; online ones do', async () => {
  const site = await c.createSite('Away');
  const a = await c.createOperator(site.id, { name: 'A' });
  const op = await operator(c.wsUrl(0, 'operator'), a);
  const ok = await op.request({ type: 'status', status: 'away' }, 'ok');
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  await waitFor(async () => (await online(site.id)) === 0, { what: 'away counts as not online' });
  const v = await visitor(c.wsUrl(1, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'anyone?' }, 'ack');
  await waitFor(() => c.sql(`SELECT state FROM conversations WHERE id='${conv}'`)[0]?.[0] === 'queued', { what: 'queued' });
  await op.request({ type: 'status', status: 'online' }, 'ok');
  const got = await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned after online' });
  assert.equal(got.conversation.id, conv);
  op.close(); v.close();
});

test('a killed gateway\'s operators expire within the TTL and chats go to others', async () => {
  const site = await c.createSite('Failover');
  const a = await c.createOperator(site.id, { name: 'A' });
  const b = await c.createOperator(site.id, { name: 'B' });
  const opA = await operator(c.wsUrl(1, 'operator'), a);        // on the gateway we kill
  assert.equal(await online(site.id), 1);
  await c.proc('gateway-1').kill('SIGKILL');
  const killedAt = Date.now();
  await waitFor(async () => (await online(site.id)) === 0, { what: 'operator A expires', timeoutMs: 10000 });
  const expiredAfter = Date.now() - killedAt;
  assert.ok(expiredAfter < 2000 + 3000, `expired after ${expiredAfter} ms (TTL 2000)`);
  const opB = await operator(c.wsUrl(0, 'operator'), b);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hello?' }, 'ack');
  const got = await opB.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to B' });
  assert.equal(got.conversation.id, conv);
  opA.close(); opB.close(); v.close();
  await c.startGateway(1);
});

// The sum of a counter's series with the given label value over both routers.
async function routerCounter(name, label) {
  let total = 0;
  for (const r of ['router-0', 'router-1']) {
    const text = await (await fetch(`${c.adminUrl(r)}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) && line.includes(`"${label}"`)) total += Number(line.split(' ').pop());
    }
  }
  return total;
}

test('two consoles of one operator: the last status set wins, and beats do not flip it', async () => {
  const site = await c.createSite('Two consoles');
  const a = await c.createOperator(site.id, { name: 'A' });
  const first = await operator(c.wsUrl(0, 'operator'), a);
  const second = await operator(c.wsUrl(1, 'operator'), a);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal(v.welcome.operators_online, 1);
  assert.equal((await second.request({ type: 'status', status: 'away' }, 'ok')).type, 'ok');
  await v.next((f) => f.type === 'operators' && f.online === 0, { what: 'operators 0' });
  // Both consoles go on beating (the first one with its own "online"):
  // several beats later the operator is still away and nobody was told otherwise.
  const beats = await routerCounter('beseda_router_requests_total', 'presence_beat');
  await waitFor(async () => (await routerCounter('beseda_router_requests_total', 'presence_beat')) >= beats + 6,
    { what: 'six more presence beats' });
  assert.equal(await online(site.id), 0, 'still away');
  assert.deepEqual(v.frames.filter((f) => f.type === 'operators' && f.online === 1), [], 'no flapping back to online');
  [first, second, v].forEach((x) => x.close());
});
