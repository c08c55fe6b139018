// besedactl against a running cluster: status shows the workers and the
// gateways' connections, sites and operators made with it work over the
// public protocol, a password reset takes effect, a drained router leaves
// (exit 0) while its chats go on elsewhere with nothing lost, and exit codes
// are what docs/CTL.md promises.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 2 }); });
after(async () => { if (c) await c.stop(); });

async function ctlJson(...args) {
  const r = await c.ctl([...args, '--json']);
  assert.equal(r.code, 0, `besedactl ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout);
}
const status = (...args) => ctlJson('status', ...args);
const gatewayConns = async () => ((await status()).gateways.find((g) => g.name === 'gateway-0') || {}).connections;

test('status lists the routers and the store, and gateway connections follow WebSocket clients', async () => {
  const s = await waitFor(async () => {
    const st = await status();
    return st.workers.length >= 3 && st.gateways.length >= 1 ? st : null;
  }, { what: 'workers and gateway in status' });
  const names = s.workers.map((w) => `${w.service}/${w.name}`).sort();
  assert.deepEqual(names, ['router/router-0', 'router/router-1', 'store/store-0']);
  for (const w of s.workers) {
    assert.ok(w.epoch > 0 && w.heartbeat_age_s < 3, JSON.stringify(w));
  }
  assert.ok(Array.isArray(s.queues), 'queue lengths from the store');
  const before = await gatewayConns();
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  await waitFor(async () => (await gatewayConns()) === before + 1, { what: 'connection count +1', timeoutMs: 5000 });
  v.close();
  await waitFor(async () => (await gatewayConns()) === before, { what: 'connection count back', timeoutMs: 5000 });

  const text = await c.ctl(['status', '--key', c.site.id]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /router-0/);
  assert.match(text.stdout, /gateway-0/);
  const owners = (await status('--key', c.site.id)).owners;
  assert.deepEqual(owners.map((o) => o.service).sort(), ['router', 'store']);
  assert.ok(owners.every((o) => o.key === c.site.id));
});

test('site create prints the id and the embed snippet; a visitor can hello on the new site', async () => {
  const r = await c.ctl(['site', 'create', '--name', 'Ctl shop', '--origins', 'https://a.example,https://b.example',
    '--gateway-url', 'https://chat.example/']);
  assert.equal(r.code, 0, r.stderr);
  const [id, snippet] = r.stdout.trim().split('\n');
  assert.match(id, UUID);
  assert.equal(snippet, `<script src="https://chat.example/widget.js" data-site="${id}" async></script>`);
  const v = await visitor(c.wsUrl(0, 'visitor'), id);
  assert.equal(v.welcome.site_name, 'Ctl shop');
  v.close();
  const list = await ctlJson('site', 'list');
  const site = list.sites.find((s) => s.id === id);
  assert.equal(site.name, 'Ctl shop');
  assert.deepEqual(site.origins, ['https://a.example', 'https://b.example']);
});

test('operator create: a generated password and one from stdin both log in; list shows roles', async () => {
  const email = `gen-${Date.now()}@ctl.example`;
  const made = await ctlJson('operator', 'create', '--site', c.site.id, '--email', email, '--name', 'Gena');
  assert.match(made.id, UUID);
  assert.ok(made.password.length >= 16, 'a generated password is printed once');
  const op = await operator(c.wsUrl(0, 'operator'), { email, password: made.password });
  op.close();

  const email2 = `stdin-${Date.now()}@ctl.example`;
  const r = await c.ctl(['operator', 'create', '--site', c.site.id, '--email', email2, '--name', 'Sasha',
    '--role', 'admin', '--max-chats', '9', '--password-stdin'], { input: 'from stdin 123\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout.trim(), UUID);
  assert.doesNotMatch(r.stdout, /password/, 'a password given on stdin is not echoed');
  const op2 = await operator(c.wsUrl(0, 'operator'), { email: email2, password: 'from stdin 123' });
  op2.close();

  const list = (await ctlJson('operator', 'list', '--site', c.site.id)).operators;
  const sasha = list.find((o) => o.email === email2);
  assert.equal(sasha.role, 'admin');
  assert.equal(sasha.max_chats, 9);

  const dup = await c.ctl(['operator', 'create', '--site', c.site.id, '--email', email2, '--name', 'X', '--password-stdin'],
    { input: 'another password\n' });
  assert.equal(dup.code, 1, 'a taken e-mail is a refusal');
  assert.match(dup.stderr, /conflict/);
  const noSite = await c.ctl(['operator', 'create', '--site', '00000000-0000-4000-8000-000000000000', '--email',
    `x-${Date.now()}@ctl.example`, '--name', 'X', '--password-stdin'], { input: 'another password\n' });
  assert.equal(noSite.code, 1);
  assert.match(noSite.stderr, /not_found/);
});

/** Terminal columns of a string: CJK two a character, everything else here one. */
const columns = (s) => [...s].reduce((w, ch) => w + (/[\u1100-\u115F\u2E80-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFF00-\uFF60]/.test(ch) ? 2 : 1), 0);

test('operator list cuts UTF-8 names on a character boundary and lines up the columns by display width', async () => {
  const site = await c.createSite('Columns shop');
  const names = ['Анна Смирнова-Петровская', '王小明', 'Bob', 'Ёж'];
  for (const name of names) await c.createOperator(site.id, { name });
  const r = await c.ctl(['operator', 'list', '--site', site.id]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1 + names.length, r.stdout);
  assert.ok(!r.stdout.includes('\uFFFD'), `no character cut in half:\n${r.stdout}`);
  assert.ok(lines.some((l) => l.includes('Анна Смирнова-Петро…')), `the long name cut whole, with an ellipsis:\n${r.stdout}`);
  // The ROLE column starts at the same terminal column on every line.
  const roleAt = lines.map((l) => columns(l.slice(0, l.search(/ (ROLE|operator|admin) /))));
  assert.ok(roleAt.every((x) => x === roleAt[0] && x > 0), `ROLE column at ${roleAt.join(', ')}:\n${r.stdout}`);
});

test('reset-password: the old password is refused, the new one accepted', async () => {
  const op = await c.createOperator(c.site.id, { name: 'Reset me', password: 'old password 1' });
  const r = await c.ctl(['operator', 'reset-password', '--email', op.email, '--password-stdin'], { input: 'new password 2\n' });
  assert.equal(r.code, 0, r.stderr);
  const old = await Client.connect(c.wsUrl(0, 'operator'));
  const refused = await old.request({ type: 'login', email: op.email, password: 'old password 1' }, 'welcome');
  assert.equal(refused.type, 'error', JSON.stringify(refused));
  old.close();
  const ok = await operator(c.wsUrl(0, 'operator'), { email: op.email, password: 'new password 2' });
  ok.close();
  const missing = await c.ctl(['operator', 'reset-password', '--email', 'nobody@ctl.example']);
  assert.equal(missing.code, 1);
});

test('drain a router: it exits 0 and the chat goes on through the other router with nothing lost', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), c.operator);
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const conv = v.welcome.conversation.id;
  const acks = [];
  const say = async (text) => {
    const a = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text }, 'ack', { timeoutMs: 15000 });
    assert.equal(a.type, 'ack', JSON.stringify(a));
    acks.push(a.seq);
  };
  for (let i = 0; i < 5; i++) await say(`before ${i}`);
  const owner = (await status('--key', conv)).owners.find((o) => o.service === 'router').worker;
  const d = await c.ctl(['drain', owner, '--wait-ms', '10000']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, new RegExp(`drain sent to ${owner}`));
  const proc = c.proc(owner);
  await proc.exited;
  assert.equal(proc.exitCode, 0, `${owner} exit code`);
  const left = (await status()).workers.map((w) => w.name);
  assert.ok(!left.includes(owner), 'the drained router is gone from status');
  for (let i = 0; i < 5; i++) await say(`after ${i}`);
  assert.deepEqual(acks, [...acks].sort((a, b) => a - b));
  const seqs = c.sql(`SELECT seq FROM messages WHERE conversation_id = '${conv}' ORDER BY seq`).map((r) => Number(r[0]));
  assert.deepEqual(seqs, Array.from({ length: 10 }, (_, i) => i + 1), 'ten messages, no gap, no duplicate');
  v.close(); op.close();
});

test('exit codes: 2 for a bad flag, 1 for an unknown worker, 3 for an unreachable broker within seconds', async () => {
  const bad = await c.ctl(['status', '--no-such-flag']);
  assert.equal(bad.code, 2);
  const missing = await c.ctl(['site', 'create']);
  assert.equal(missing.code, 2, 'a missing required option is a usage error');
  const unknown = await c.ctl(['drain', 'no-such-worker']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no_such_worker/);
  const t0 = Date.now();
  const far = await c.ctl(['status', '--broker', 'tcp://127.0.0.1:1', '--timeout-ms', '1500', '--json']);
  assert.equal(far.code, 3);
  assert.ok(Date.now() - t0 < 5000, 'gives up within seconds');
  assert.equal(JSON.parse(far.stdout).error.code, 'unreachable');
  for (const cmd of [['status'], ['site', 'create'], ['site', 'list'], ['operator', 'create'], ['operator', 'list'],
    ['operator', 'reset-password'], ['drain']]) {
    const h = await c.ctl([...cmd, '--help']);
    assert.equal(h.code, 0, cmd.join(' '));
    assert.match(h.stdout, /^Usage: besedactl/);
  }
});
