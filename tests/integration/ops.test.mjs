// Operations: every process serves /metrics (Prometheus text 0.0.4, parsed
// here line by line, not only fetched), /healthz and /readyz; the counters move
// as a chat says they must; the store's readiness follows PostgreSQL; every
// log line of every process is one JSON object with the required keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

const PROCS = ['broker', 'store-0', 'router-0', 'router-1', 'gateway-0'];
const MESSAGES = 3;

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 2, stores: 1 }); });
after(async () => { if (c) await c.stop(); });

// ---- a small parser for the text exposition format 0.0.4 -----------------

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (\\S+)$`);
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

/** Parses the exposition text; throws on any invalid line. Returns
 *  { families: Map(name -> { help, type, samples: [{ name, labels, value }] }) }. */
export function parseExposition(text) {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = new Map();
  const family = (name) => {
    if (!families.has(name)) families.set(name, { samples: [] });
    return families.get(name);
  };
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    let m;
    if ((m = line.match(new RegExp(`^# HELP (${NAME}) (.*)$`)))) {
      assert.equal(family(m[1]).help, undefined, `one HELP per family (${where})`);
      family(m[1]).help = m[2];
    } else if ((m = line.match(new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)))) {
      const f = family(m[1]);
      assert.equal(f.type, undefined, `one TYPE per family (${where})`);
      assert.equal(f.samples.length, 0, `TYPE comes before the samples (${where})`);
      f.type = m[2];
    } else if (line.startsWith('#')) {
      assert.fail(`unexpected comment (${where})`);
    } else {
      m = line.match(SAMPLE);
      assert.ok(m, `a valid sample line (${where})`);
      assert.ok(NUMBER.test(m[3]), `a valid number (${where})`);
      const labels = {};
      for (const lm of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
      const base = m[1].replace(/_(bucket|sum|count)$/, '');
      const owner = families.has(m[1]) ? m[1] : base;
      assert.ok(families.has(owner), `samples belong to a declared family (${where})`);
      families.get(owner).samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
  }
  for (const [name, f] of families) {
    assert.ok(name.startsWith('beseda_'), `${name} is prefixed beseda_`);
    assert.ok(f.help !== undefined && f.type !== undefined, `${name} has HELP and TYPE`);
    if (f.type === 'histogram') checkHistogram(name, f);
    if (f.type === 'counter') for (const s of f.samples) assert.ok(s.value >= 0, `${name} counter not negative`);
  }
  return families;
}

function checkHistogram(name, f) {
  const series = new Map();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    if (!series.has(key)) series.set(key, { buckets: [], sum: null, count: null });
    const h = series.get(key);
    if (s.name === `${name}_bucket`) h.buckets.push({ le: le === '+Inf' ? Infinity : Number(le), value: s.value });
    else if (s.name === `${name}_sum`) h.sum = s.value;
    else if (s.name === `${name}_count`) h.count = s.value;
    else assert.fail(`${s.name} is not a histogram sample of ${name}`);
  }
  for (const [key, h] of series) {
    assert.ok(h.buckets.length >= 2, `${name}${key} has buckets`);
    for (let i = 1; i < h.buckets.length; i++) {
      assert.ok(h.buckets[i].le > h.buckets[i - 1].le, `${name}${key} bounds increase`);
      assert.ok(h.buckets[i].value >= h.buckets[i - 1].value, `${name}${key} buckets are cumulative`);
    }
    assert.equal(h.buckets.at(-1).le, Infinity, `${name}${key} ends with +Inf`);
    assert.equal(h.buckets.at(-1).value, h.count, `${name}${key}: +Inf bucket = _count`);
    assert.notEqual(h.sum, null, `${name}${key} has _sum`);
  }
}

async function scrape(name) {
  const r = await fetch(`${c.adminUrl(name)}/metrics`);
  assert.equal(r.status, 200, `${name} /metrics`);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  return parseExposition(await r.text());
}

/** The value of one sample: family name, labels to match (subset). */
function value(families, name, labels = {}) {
  const f = families.get(name) || families.get(name.replace(/_(bucket|sum|count)$/, ''));
  assert.ok(f, `family ${name} exists`);
  const s = f.samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `${name} ${JSON.stringify(labels)} exists`);
  return s.value;
}

// ---- the tests ------------------------------------------------------------

test('every process is healthy and ready', async () => {
  for (const name of PROCS) {
    for (const path of ['/healthz', '/readyz']) {
      await waitFor(async () => (await fetch(`${c.adminUrl(name)}${path}`)).status === 200,
        { what: `${name} ${path} 200`, timeoutMs: 10000 });
    }
  }
  // With an admin listener, the public main port keeps /healthz only.
  assert.equal((await fetch(`${c.gatewayUrl(0)}/readyz`)).status, 404, 'no /readyz on the main port');
  assert.equal((await fetch(`${c.gatewayUrl(0)}/healthz`)).status, 200);
  const r = await fetch(`${c.adminUrl('broker')}/nothing`);
  assert.equal(r.status, 404);
});

test('a chat moves the counters it must', async () => {
  const before = await scrape('store-0');
  const appendsBefore = value(before, 'beseda_store_appends_total', { result: 'ok' });

  const op = await operator(c.wsUrl(0, 'operator'), c.operator);
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  for (let i = 0; i < MESSAGES; i++) {
    const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: `m${i}` }, 'ack');
    assert.equal(ack.type, 'ack');
  }
  const dup = clientId('v');
  await v.request({ type: 'send', conversation: conv, client_id: dup, text: 'again' }, 'ack');
  const again = await v.request({ type: 'send', conversation: conv, client_id: dup, text: 'again' }, 'ack');
  assert.equal(again.duplicate, true);
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });

  // Gauges are sampled by the loops (the gateway every 250 ms).
  const gw = await waitFor(async () => {
    const m = await scrape('gateway-0');
    return value(m, 'beseda_gateway_connections', { role: 'visitor' }) === 1
      && value(m, 'beseda_gateway_connections', { role: 'operator' }) === 1 && m;
  }, { timeoutMs: 5000, what: 'the gateway sampling its connection gauges' });
  assert.equal(value(gw, 'beseda_gateway_connections', { role: 'visitor' }), 1);
  assert.equal(value(gw, 'beseda_gateway_connections', { role: 'operator' }), 1);
  assert.ok(value(gw, 'beseda_gateway_frames_in_total') >= MESSAGES + 4, 'frames in: hello, login, sends');
  assert.ok(value(gw, 'beseda_gateway_frames_out_total') >= MESSAGES + 4, 'frames out: welcomes, acks, deliveries');
  assert.ok(value(gw, 'beseda_gateway_requests_total', { kind: 'send' }) >= MESSAGES + 2);
  assert.ok(value(gw, 'beseda_gateway_request_duration_ms_count', { kind: 'send' }) >= MESSAGES + 2);
  assert.ok(value(gw, 'beseda_gateway_deliveries_total') >= 1);
  assert.equal(value(gw, 'beseda_gateway_bus_connected'), 1);

  const st = await scrape('store-0');
  assert.ok(value(st, 'beseda_store_appends_total', { result: 'ok' }) - appendsBefore >= MESSAGES + 1,
    'the store wrote at least the messages sent');
  assert.ok(value(st, 'beseda_store_appends_total', { result: 'duplicate' }) >= 1, 'the resend counted as duplicate');
  assert.ok(value(st, 'beseda_store_batch_size_count') >= 1);
  assert.ok(value(st, 'beseda_store_commit_duration_ms_count') >= 1);
  assert.equal(value(st, 'beseda_store_pg_up'), 1);

  const br = await scrape('broker');
  assert.equal(value(br, 'beseda_broker_workers', { service: 'router' }), 2, 'the two routers the cluster started');
  assert.equal(value(br, 'beseda_broker_workers', { service: 'store' }), 1, 'the one store');
  assert.ok(value(br, 'beseda_broker_requests_routed_total', { service: 'router' }) >= MESSAGES + 3);
  assert.ok(value(br, 'beseda_broker_requests_routed_total', { service: 'store' }) >= MESSAGES + 2);
  assert.ok(value(br, 'beseda_broker_epoch', { service: 'router' }) > 0);

  let routed = 0, storeCalls = 0, redis = 0, assigned = 0;
  for (const name of ['router-0', 'router-1']) {
    const rt = await scrape(name);
    routed += value(rt, 'beseda_router_requests_total', { kind: 'send' });
    storeCalls += value(rt, 'beseda_router_store_calls_total', { step: 'append' });
    redis += value(rt, 'beseda_router_redis_calls_total');
    assigned += value(rt, 'beseda_router_assignments_total', { result: 'assigned' });
    assert.equal(value(rt, 'beseda_router_redis_up'), 1);
    assert.equal(value(rt, 'beseda_router_broker_connected'), 1);
  }
  assert.ok(routed >= MESSAGES + 2, 'the routers answered every send');
  assert.ok(storeCalls >= MESSAGES + 2, 'every send went to the store');
  assert.ok(redis >= 1, 'Redis round trips are counted');
  assert.ok(assigned >= 1, 'the assignment is counted');
  v.close(); op.close();
});

test('the store is not ready while PostgreSQL is down, and ready again after', async () => {
  const url = `${c.adminUrl('store-0')}/readyz`;
  assert.equal((await fetch(url)).status, 200);
  await c.stopPostgres();
  let body = '';
  await waitFor(async () => {
    const r = await fetch(url);
    body = await r.text();
    return r.status === 503;
  }, { what: 'store /readyz 503', timeoutMs: 10000 });
  assert.match(body, /PostgreSQL/);
  assert.equal((await fetch(`${c.adminUrl('store-0')}/healthz`)).status, 200, 'alive all the same');
  await c.restartPostgres();
  await waitFor(async () => (await fetch(url)).status === 200, { what: 'store /readyz 200 again', timeoutMs: 15000 });
  const st = await scrape('store-0');
  assert.ok(value(st, 'beseda_store_pg_connects_total') >= 2, 'the reconnection is counted');
});

test('the binaries check their own readiness (--healthcheck)', async () => {
  const { execFileSync } = await import('node:child_process');
  const path = await import('node:path');
  const { ROOT } = await import('../lib/cluster.mjs');
  const bin = path.join(process.env.BESEDA_BUILD || path.join(ROOT, 'build'), 'beseda-broker');
  const env = { ...process.env, BESEDA_ADMIN_ADDR: c.adminUrl('broker').replace('http://', '') };
  assert.match(execFileSync(bin, ['--healthcheck'], { env, encoding: 'utf8' }), /ready/);
  let failed = false;
  try {
    execFileSync(bin, ['--healthcheck'], { env: { ...env, BESEDA_ADMIN_ADDR: '127.0.0.1:1' }, stdio: 'ignore' });
  } catch (e) { failed = e.status === 1; }
  assert.ok(failed, 'exit status 1 when nothing answers');
});

test('every log line of every process is a JSON object with the required keys', () => {
  const levels = new Set(['debug', 'info', 'warn', 'error']);
  for (const name of PROCS) {
    const text = fs.readFileSync(c.proc(name).logPath, 'utf8');
    const lines = text.split('\n').filter((l) => l.length);
    assert.ok(lines.length > 0, `${name} logged something`);
    for (const line of lines) {
      let obj;
      try { obj = JSON.parse(line); } catch { assert.fail(`${name}: not JSON: ${line}`); }
      assert.equal(typeof obj, 'object');
      assert.match(obj.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${name}: ts`);
      assert.ok(levels.has(obj.level), `${name}: level in ${line}`);
      assert.equal(obj.process, name.replace(/-\d+$/, ''), `${name}: process`);
      assert.equal(typeof obj.msg, 'string');
      for (const [k, v] of Object.entries(obj)) assert.equal(typeof v, 'string', `${name}: ${k} is a string`);
    }
  }
  // Ids where they apply: the assignment names its conversation, operator and site.
  const routers = ['router-0', 'router-1'].map((n) => fs.readFileSync(c.proc(n).logPath, 'utf8')).join('\n');
  const assigned = routers.split('\n').filter((l) => l.includes('"conversation assigned"')).map((l) => JSON.parse(l));
  assert.ok(assigned.length >= 1, 'the assignment is logged');
  for (const a of assigned) assert.ok(a.conversation && a.operator && a.site, 'with conversation, operator, site');
});
