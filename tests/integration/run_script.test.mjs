// scripts/run.sh (`make run`) from a copy of the checkout under a 0700
// directory — as root PostgreSQL runs as the postgres account, which cannot
// enter such a directory — on free ports moved by the documented variables,
// so it never collides with a real `make run` on this machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, freePort, waitFor } from '../lib/cluster.mjs';
import { visitor, clientId } from '../lib/client.mjs';

const BUILD = process.env.BESEDA_BUILD || path.join(ROOT, 'build');
const cleanups = [];
after(async () => { for (const f of cleanups.reverse()) await f(); });

/** A copy of what run.sh needs (scripts, web, migrations, binaries, the built web tree) in <0700 dir>/p. */
function copyCheckout() {
  const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-run-'));
  fs.chmodSync(outer, 0o700);
  const p = path.join(outer, 'p');
  for (const d of ['scripts', 'web', 'store/migrations']) fs.cpSync(path.join(ROOT, d), path.join(p, d), { recursive: true });
  fs.mkdirSync(path.join(p, 'build'));
  fs.cpSync(path.join(BUILD, 'web'), path.join(p, 'build', 'web'), { recursive: true });
  for (const b of ['beseda-broker', 'beseda-store', 'beseda-router', 'beseda-gateway']) {
    fs.copyFileSync(path.join(BUILD, b), path.join(p, 'build', b));
    fs.chmodSync(path.join(p, 'build', b), 0o755);
  }
  cleanups.push(() => fs.rmSync(outer, { recursive: true, force: true }));
  return p;
}

const canBind = (port) => new Promise((resolve) => {
  const srv = net.createServer();
  srv.once('error', () => resolve(false));
  srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
});

/** n consecutive free loopback ports (run.sh numbers the admin ports from a base). */
async function freeRange(n) {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
}

/** Every port run.sh takes, free, as the variables that move them. */
async function demoEnv() {
  const ports = new Set();
  const take = async () => { for (;;) { const p = await freePort(); if (!ports.has(p)) { ports.add(p); return p; } } };
  const env = {
    BESEDA_HTTP_PORT: String(await take()),
    BESEDA_DEMO_PG_PORT: String(await take()),
    BESEDA_DEMO_REDIS_PORT: String(await take()),
    BESEDA_DEMO_SMTP_PORT: String(await take()),
    BESEDA_BROKER: `tcp://127.0.0.1:${await take()}`,
    BESEDA_BROKER_PUB: `tcp://127.0.0.1:${await take()}`,
    BESEDA_BROKER_SUB: `tcp://127.0.0.1:${await take()}`,
  };
  let base;
  do { base = await freeRange(5); } while ([...ports].some((p) => p >= base && p < base + 5));
  env.BESEDA_ADMIN_BASE = String(base);
  return env;
}

/** Starts run.sh in checkout p; collects its output; stops it (and the database dir it made) at the end. */
function runScript(p, env, { user } = {}) {
  const ids = user ? { uid: Number(execFileSync('id', ['-u', user])), gid: Number(execFileSync('id', ['-g', user])) } : {};
  const child = spawn(path.join(p, 'scripts', 'run.sh'), [], {
    cwd: os.tmpdir(), env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...ids,
  });
  const r = { child, out: '', code: undefined };
  child.stdout.on('data', (d) => { r.out += d; });
  child.stderr.on('data', (d) => { r.out += d; });
  r.exited = new Promise((resolve) => child.on('exit', (code, sig) => { r.code = code; r.signal = sig; resolve(); }));
  cleanups.push(async () => {
    if (r.code === undefined) {
      child.kill('SIGINT');
      const t = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 20000);
      await r.exited; clearTimeout(t);
    }
    // As root the database files are in /var/lib/beseda-demo/<hash of the checkout path>.
    const hash = createHash('sha256').update(p).digest('hex').slice(0, 12);
    if (process.getuid() === 0) fs.rmSync(`/var/lib/beseda-demo/${hash}`, { recursive: true, force: true });
  });
  return r;
}

test('run.sh starts from a checkout under a 0700 directory, serves /healthz, and stops cleanly on Ctrl-C', { timeout: 180000 }, async () => {
  const p = copyCheckout();
  const env = await demoEnv();
  const r = runScript(p, env);
  await waitFor(() => /beseda is running/.test(r.out) || r.code !== undefined,
    { timeoutMs: 120000, intervalMs: 200, what: 'the banner' });
  assert.match(r.out, /beseda is running/, `run.sh output:\n${r.out}`);
  const res = await fetch(`http://127.0.0.1:${env.BESEDA_HTTP_PORT}/healthz`);
  assert.equal(res.status, 200);
  const loader = await fetch(`http://127.0.0.1:${env.BESEDA_HTTP_PORT}/widget.js`);
  assert.equal(loader.status, 200);
  assert.match(await loader.text(), /\/widget\/frame\.[0-9a-f]{8}\.html/, 'the built web tree (hashed names) is served');
  assert.ok(r.out.includes(`http://127.0.0.1:${env.BESEDA_HTTP_PORT}/console/`), r.out);
  if (process.getuid() === 0) assert.match(r.out, /database files in \/var\/lib\/beseda-demo\/[0-9a-f]{12}\/pg/);

  // Out of the box the demo's mail lands in var/mail/ (the banner says so):
  // an offline message through the widget's protocol becomes a file there.
  const mailDir = path.join(p, 'var', 'mail');
  assert.ok(r.out.includes(`lands in ${mailDir}/`), r.out);
  const site = fs.readFileSync(path.join(p, 'var', 'demo.env'), 'utf8').match(/^SITE=(\S+)$/m)[1];
  const v = await visitor(`ws://127.0.0.1:${env.BESEDA_HTTP_PORT}/ws/visitor`, site);
  const ok = await v.request({ type: 'offline', client_id: clientId('off'), name: 'Пётр', email: 'petr@example.ru', text: 'Перезвоните мне' }, 'ok');
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  v.close();
  const file = await waitFor(() => (fs.existsSync(mailDir) ? fs.readdirSync(mailDir).find((f) => f.endsWith('.eml')) : null),
    { timeoutMs: 30000, intervalMs: 200, what: 'a mail file in var/mail' });
  const mail = fs.readFileSync(path.join(mailDir, file), 'utf8');
  assert.match(mail, /^X-Beseda-Sink-To: demo@beseda\.local/m, mail);
  assert.match(mail, /^Reply-To: petr@example\.ru/m);
  r.child.kill('SIGINT');
  await r.exited;
  assert.equal(r.code, 0, `exit after Ctrl-C:\n${r.out}`);
  assert.match(r.out, /stopped/);
});

/** A listener on port (as another program would hold it); closed at the end. */
async function occupy(port) {
  const srv = net.createServer();
  await new Promise((resolve, reject) => { srv.once('error', reject); srv.listen(port, '127.0.0.1', resolve); });
  cleanups.push(() => new Promise((resolve) => srv.close(resolve)));
  return srv;
}

test('a taken port stops run.sh before it starts or prints anything: the port, its variable and its holder, exit non-zero', { timeout: 60000 }, async () => {
  const p = copyCheckout();
  const env = await demoEnv();
  await occupy(Number(env.BESEDA_HTTP_PORT));
  const admin = Number(env.BESEDA_ADMIN_BASE) + 2;   // router-1's admin port
  await occupy(admin);
  const r = runScript(p, env);
  await r.exited;
  assert.notEqual(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /beseda is running/);
  assert.match(r.out, new RegExp(`port ${env.BESEDA_HTTP_PORT} \\(HTTP[^)]*\\) is already taken by node \\(pid ${process.pid}\\); free it or set BESEDA_HTTP_PORT to another port`));
  assert.match(r.out, new RegExp(`port ${admin} \\(admin listener of router-1; [^)]*\\) is already taken.*set BESEDA_ADMIN_BASE to another port`));
  assert.ok(!fs.existsSync(path.join(p, 'var', 'log', 'gateway-1.log')), 'nothing was started');
});

test('a process that exits after the start ends run.sh with a non-zero status naming it', { timeout: 180000 }, async () => {
  const p = copyCheckout();
  const env = await demoEnv();
  const r = runScript(p, env);
  await waitFor(() => /beseda is running/.test(r.out) || r.code !== undefined,
    { timeoutMs: 120000, intervalMs: 200, what: 'the banner' });
  assert.match(r.out, /beseda is running/, r.out);
  const gw = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).find((d) => {
    try { return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith(path.join(p, 'build', 'beseda-gateway')); } catch { return false; }
  });
  assert.ok(gw, 'the gateway process of this copy');
  process.kill(Number(gw), 'SIGKILL');
  await waitFor(() => r.code !== undefined, { timeoutMs: 30000, what: 'run.sh to exit' });
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /gateway-1 exited/);
});

test('a listener that cannot bind logs its address and the reason', { timeout: 60000 }, async () => {
  const port = await freePort();
  await occupy(port);
  const bus = [await freePort(), await freePort(), await freePort()].map((x) => `tcp://127.0.0.1:${x}`);
  const run = (bin, env) => spawnSync(path.join(BUILD, bin), [], {
    env: { ...process.env, BESEDA_SECRET: 'x'.repeat(40), BESEDA_BROKER: bus[0], BESEDA_BROKER_PUB: bus[1], BESEDA_BROKER_SUB: bus[2], ...env },
    encoding: 'utf8', timeout: 20000,
  });
  const gw = run('beseda-gateway', { BESEDA_HTTP_HOST: '127.0.0.1', BESEDA_HTTP_PORT: String(port) });
  assert.notEqual(gw.status, 0);
  assert.match(gw.stdout + gw.stderr, new RegExp(`"msg":"cannot listen","host":"127.0.0.1","port":"${port}","error":"Address already in use"`));
  const admin = run('beseda-broker', { BESEDA_ADMIN_ADDR: `127.0.0.1:${port}` });
  assert.notEqual(admin.status, 0);
  assert.match(admin.stdout + admin.stderr, new RegExp(`"msg":"cannot start the admin listener","admin_addr":"127.0.0.1:${port}","error":"Address already in use"`));
  const broker = run('beseda-broker', { BESEDA_BROKER: `tcp://127.0.0.1:${port}` });
  assert.notEqual(broker.status, 0);
  assert.match(broker.stdout + broker.stderr, new RegExp(`"msg":"cannot bind","endpoint":"tcp://127.0.0.1:${port}","error":"Address already in use"`));
});

test('make run installs only what running needs; make test adds the test tooling', () => {
  const list = (what) => spawnSync(path.join(ROOT, 'scripts', 'deps.sh'), ['--list', what], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  const run = list('run'); const all = list('test');
  for (const p of ['postgresql', 'redis-server', 'libwebsockets-dev', 'curl', 'nodejs']) assert.ok(run.includes(p), `run needs ${p}`);
  for (const p of ['chromium', 'clang', 'docker-compose', 'haproxy', 'mmdb-bin', 'npm']) {
    assert.ok(!run.includes(p), `run must not install ${p}`);
    assert.ok(all.includes(p), `test needs ${p}`);
  }
  for (const p of run) assert.ok(all.includes(p), `test needs what run needs (${p})`);
  const dry = (target) => spawnSync('make', ['-n', '--no-print-directory', target], { cwd: ROOT, encoding: 'utf8' }).stdout;
  assert.match(dry('run'), /scripts\/deps\.sh run\b/);
  assert.match(dry('test'), /scripts\/deps\.sh test\b/);
});

test('run.sh works for a normal user too, from a 0700 directory of their own (database files in ./var/pg)', { timeout: 180000, skip: process.getuid() !== 0 && 'run as root to try another account' }, async () => {
  const p = copyCheckout();
  execFileSync('chown', ['-R', 'nobody:nogroup', path.dirname(p)]);
  const env = await demoEnv();
  const r = runScript(p, { ...env, HOME: path.dirname(p) }, { user: 'nobody' });
  await waitFor(() => /beseda is running/.test(r.out) || r.code !== undefined,
    { timeoutMs: 120000, intervalMs: 200, what: 'the banner' });
  assert.match(r.out, new RegExp(`database files in ${p}/var/pg`), r.out);
  const res = await fetch(`http://127.0.0.1:${env.BESEDA_HTTP_PORT}/healthz`);
  assert.equal(res.status, 200);
  const loader = await fetch(`http://127.0.0.1:${env.BESEDA_HTTP_PORT}/widget.js`);
  assert.equal(loader.status, 200);
  assert.match(await loader.text(), /\/widget\/frame\.[0-9a-f]{8}\.html/, 'the built web tree (hashed names) is served');
  assert.equal(fs.statSync(path.join(p, 'var', 'pg')).uid, fs.statSync(path.dirname(p)).uid, 'owned by the user');
  r.child.kill('SIGINT');
  await r.exited;
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /stopping\.\.\.\nstopped\n/, r.out);
  await waitFor(() => !fs.readdirSync('/proc').some((d) => {
    try { return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(p); } catch { return false; }
  }), { what: 'every process of the copy gone' });
});
