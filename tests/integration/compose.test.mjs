// The compose deployment without a Docker engine (docs/DEPLOY.md, "The
// native proof"): docker-compose.yml is validated by Debian's docker-compose,
// then scripts/compose-native.mjs runs its services natively from the resolved
// file, each instance on its own loopback address with compose's service
// names; a visitor and an operator chat through the balancer's published
// port, routers are scaled with the --scale override and at run time, a
// killed process comes back by its restart policy, and `down` stops it all.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT, freePort, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

const RUNNER = path.join(ROOT, 'scripts', 'compose-native.mjs');
const IS_ROOT = process.getuid() === 0;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// Not root: no private mount namespace, no bind mount over /etc/hosts, no
// other users for postgres and haproxy. Counted as skipped, never as passed.
const SKIP = IS_ROOT ? false : 'needs root (unshare -m, bind mount of /etc/hosts, runuser); run make test as root';

/** The runner: its JSON events on stdout, commands on stdin. */
class Runner {
  constructor(args) {
    this.events = []; this.waiters = [];
    this.child = spawn(process.execPath, [RUNNER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => {
      try { this.events.push(JSON.parse(l)); } catch { this.events.push({ event: 'unparsable', line: l }); }
      this.wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => { this.code = code; this.wake(); resolve(code); }));
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  async next(pred, what, timeoutMs = 60000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(i, 1)[0];
      const err = this.events.find((e) => e.event === 'error');
      if (err) throw new Error(`runner error while waiting for ${what}: ${err.message}\n${this.stderr}`);
      if (this.code !== undefined) throw new Error(`runner exited (${this.code}) while waiting for ${what}\n${this.stderr}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.events).slice(0, 1500)}`);
      await new Promise((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  send(line) { this.child.stdin.write(line + '\n'); }
  get running() { return this.code === undefined; }
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** Listening TCP sockets: [{ addr, port, pids }]. */
function listening() {
  const out = spawnSync('ss', ['-Htlnp'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map((l) => {
    const f = l.trim().split(/\s+/);
    const local = f[3];
    const k = local.lastIndexOf(':');
    return { addr: local.slice(0, k).replace(/^\[|\]$/g, ''), port: Number(local.slice(k + 1)),
      pids: [...l.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])) };
  });
}

/** Sends a message, retrying 'unavailable' as PROTOCOL.md tells clients to. */
async function sendMessage(c, conv, text) {
  const cid = clientId('v');
  for (let i = 0; ; i++) {
    const a = await c.request({ type: 'send', conversation: conv, client_id: cid, text }, 'ack', { timeoutMs: 15000 });
    if (a.type === 'ack' || a.code !== 'unavailable' || i === 10) return a;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A visitor hello through the balancer, retried while the cluster settles. */
async function visitorRetry(url, site, opts) {
  let last;
  for (let i = 0; i < 20; i++) {
    try { return await visitor(url, site, opts); } catch (e) { last = e; await new Promise((r) => setTimeout(r, 300)); }
  }
  throw last;
}

let dir, envFile, port, origin, run, ready, demo, hostsBefore;

function writeEnv(file, overrides) {
  const lines = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n');
  const out = lines.map((l) => { const k = l.split('=')[0]; return k in overrides ? `${k}=${overrides[k]}` : l; })
    .filter((l) => !(l.split('=')[0] in overrides && overrides[l.split('=')[0]] === null));
  fs.writeFileSync(file, out.join('\n'));
}

async function startRun() {
  if (SKIP) return;
  for (const cmd of ['docker-compose', 'haproxy', 'unshare', 'ss']) assert.ok(has(cmd), `${cmd} is installed (scripts/deps.sh)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-compose-test-'));
  fs.chmodSync(dir, 0o755);
  port = await freePort();
  origin = `http://localhost:${port}`;
  envFile = path.join(dir, '.env');
  // .env.example with this run's port and fresh secrets: the file's variables reach the services.
  writeEnv(envFile, { BESEDA_PUBLIC_PORT: String(port), BESEDA_PUBLIC_ORIGIN: origin,
    POSTGRES_PASSWORD: `pg-${Math.random().toString(36).slice(2)}`, BESEDA_SECRET: `secret-${Math.random().toString(36).slice(2)}-0123456789abcdef` });
  hostsBefore = fs.readFileSync('/etc/hosts', 'utf8');
  run = new Runner(['--env-file', envFile, '--profile', 'demo', '--scale', 'router=3', '--state-dir', path.join(dir, 'state')]);
  try {
    ready = await run.next((e) => e.event === 'ready', 'ready', 120000);
    demo = await run.next((e) => e.event === 'exited' && e.service === 'demo', 'the demo service', 60000);
  } catch (e) {
    console.error(logs());
    throw e;
  }
}

function logs() {
  const d = path.join(dir || '/nonexistent', 'state', 'logs');
  if (!fs.existsSync(d)) return run ? run.stderr : '';
  return fs.readdirSync(d).map((f) => `==== ${f}\n${fs.readFileSync(path.join(d, f), 'utf8').split('\n').slice(-30).join('\n')}`).join('\n');
}

async function stopRun() {
  if (!run) return;
  if (run.running) {
    run.child.kill('SIGTERM');
    const t = setTimeout(() => run.child.kill('SIGKILL'), 30000);
    await run.exited; clearTimeout(t);
  }
  if (process.env.BESEDA_KEEP_TEST_DIR) console.error(`kept ${dir}`);
  else if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

test('docker-compose config validates the file, and a missing secret stops everything before it starts', { skip: SKIP || !has('docker-compose') && 'docker-compose is not installed' }, async () => {
  const ok = spawnSync('docker-compose', ['--env-file', path.join(ROOT, '.env.example'), 'config', '-q'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const bad = path.join(os.tmpdir(), `beseda-bad-env-${process.pid}`);
  writeEnv(bad, { POSTGRES_PASSWORD: null });
  try {
    const r = spawnSync(process.execPath, [RUNNER, '--env-file', bad], { encoding: 'utf8', timeout: 60000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /set POSTGRES_PASSWORD in \.env/);
    assert.ok(!r.stdout.includes('"ready"'), 'nothing started');
  } finally { fs.rmSync(bad, { force: true }); }
});

/** deploy/Dockerfile's stages: name, COPY [from, sources, dest], RUN commands. */
function dockerfileStages() {
  const text = fs.readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const [instr, ...rest] = line.split(/\s+/);
    if (instr === 'FROM') { stages.push({ name: (line.match(/\bAS\s+(\S+)/i) || [])[1], copies: [], runs: [], workdir: '/' }); continue; }
    const st = stages.at(-1);
    if (instr === 'WORKDIR') st.workdir = rest[0];
    if (instr === 'RUN') st.runs.push(rest.join(' '));
    if (instr === 'COPY') {
      const from = (rest.find((x) => x.startsWith('--from=')) || '').slice(7) || null;
      const parts = rest.filter((x) => !x.startsWith('--'));
      st.copies.push({ from, sources: parts.slice(0, -1), dest: parts.at(-1) });
    }
  }
  return stages;
}

const aptClosure = (pkgs) => new Set(spawnSync('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests',
  '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...pkgs], { encoding: 'utf8', maxBuffer: 64 << 20 })
  .stdout.split('\n').filter((l) => l && !l.startsWith(' ') && !l.startsWith('<')).map((l) => l.split(':')[0]));

test('the image\'s stages, checked natively: its sources build, its runtime packages hold every library', async () => {
  const stages = dockerfileStages();
  const [build, final] = [stages.find((s) => s.name === 'build'), stages.at(-1)];
  assert.ok(build && final !== build, 'a multi-stage Dockerfile with a build stage');
  // The build stage's RUN make, on a copy of exactly what it COPYs.
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-image-src-'));
  try {
    for (const c of build.copies) for (const s of c.sources) fs.cpSync(path.join(ROOT, s), path.join(src, c.dest === './' ? path.basename(s) : c.dest), { recursive: true });
    const make = build.runs.find((r) => /\bmake\b/.test(r));
    const r = spawnSync('sh', ['-c', make.replace(/\$\(nproc\)/, '2')], { cwd: src, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, `the build stage fails on its copied sources:\n${r.stderr.slice(-3000)}`);
    const bins = final.copies.filter((c) => c.from === 'build').flatMap((c) => c.sources.map((x) => path.join(src, path.posix.relative(build.workdir, x))));
    assert.ok(bins.length >= 4);
    for (const b of bins) assert.ok(fs.existsSync(b), `${b} is built`);
    // The runtime stage's packages (with their dependencies, and the slim base) own every shared library.
    const install = final.runs.find((x) => /apt-get install/.test(x)).split('apt-get install')[1].split('&&')[0];
    const wanted = install.split(/\s+/).filter((x) => x && !x.startsWith('-'));
    const base = spawnSync('sh', ['-c', "apt-cache dumpavail | awk '/^Package:/{p=$2} /^Priority: required|^Essential: yes/{print p}' | sort -u"], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout.split('\n').filter(Boolean);
    const have = new Set([...aptClosure(wanted), ...aptClosure(base)]);
    const libs = new Set(bins.flatMap((b) => spawnSync('ldd', [b], { encoding: 'utf8' }).stdout.split('\n')
      .map((l) => (l.match(/=>\s+(\/\S+)/) || [])[1]).filter(Boolean)));
    for (const lib of libs) {
      const names = [lib, fs.realpathSync(lib)].flatMap((p) => [p, p.replace(/^\/usr\/lib\//, '/lib/'), p.replace(/^\/lib\//, '/usr/lib/')]);
      const owner = names.map((n) => spawnSync('dpkg', ['-S', n], { encoding: 'utf8' })).find((x) => x.status === 0);
      assert.ok(owner, `no package owns ${lib}`);
      const pkg = owner.stdout.split(':')[0];
      assert.ok(have.has(pkg), `${lib} comes from ${pkg}, which the runtime stage does not install`);
    }
  } finally { fs.rmSync(src, { recursive: true, force: true }); }
});

// One native run of the whole file for the tests below (started once: it takes a few seconds).
describe('the services of docker-compose.yml, run natively', () => {
  before(startRun);
  after(stopRun);

  test('every service of the file runs natively, each replica on its own loopback address', { skip: SKIP }, async () => {
    const config = spawnSync('docker-compose', ['--env-file', envFile, 'config', '--services'], { cwd: ROOT, encoding: 'utf8' });
    const fileServices = config.stdout.trim().split('\n').sort();
    const byService = {};
    for (const x of ready.instances) (byService[x.service] ||= []).push(x);
    assert.deepEqual(Object.keys(byService).sort(), fileServices, 'every service of the file (demo profile on)');
    assert.equal(byService.router.length, 3, '--scale router=3 overrides deploy.replicas');
    assert.equal(byService.gateway.length, 2, 'deploy.replicas of the gateway');
    const addrs = ready.instances.map((x) => x.addr);
    assert.equal(new Set(addrs).size, addrs.length, 'one address per instance');
    for (const a of addrs) assert.match(a, /^127\.\d+\.\d+\.\d+$/);
    for (const x of ready.instances.filter((i) => ['broker', 'gateway', 'router', 'store'].includes(i.service))) {
      assert.equal(x.user, 'nobody', `${x.service} runs as a non-root user, as the image's USER`);
    }
    assert.equal(demo.code, 0, `demo exited 0: ${demo.output}`);
    for (const [svc, ok] of Object.entries(ready.health)) assert.ok(ok, `${svc}'s healthcheck passes (run natively)`);
    assert.ok('postgres' in ready.health && 'redis' in ready.health, 'the healthchecks of the file were run');

    // What listens, and where: every socket of ours on loopback, each on its instance's address.
    const socks = listening();
    const pids = new Set(ready.instances.filter((x) => x.running).map((x) => x.pid));
    const ours = socks.filter((s) => s.pids.some((p) => pids.has(p)));
    for (const s of ours) assert.match(s.addr, /^127\./, `listens on loopback only: ${JSON.stringify(s)}`);
    const at = (svc, p) => byService[svc].every((x) => ours.some((s) => s.addr === x.addr && s.port === p && s.pids.includes(x.pid)));
    assert.ok(at('broker', 5570) && at('broker', 5571) && at('broker', 5572), 'broker binds tcp://*:557x on its address');
    assert.ok(at('gateway', 8080), 'each gateway on its own address, port 8080');
    assert.ok(at('postgres', 5432) && at('redis', 6379) && at('balancer', 8080), 'postgres, redis, haproxy on theirs');
    assert.ok(socks.some((s) => s.addr === '127.0.0.1' && s.port === port), 'the published port on the host loopback');
  });

  test('service names resolve as in compose inside the namespace, and the real /etc/hosts is untouched', { skip: SKIP }, async () => {
    const inside = (name) => spawnSync('nsenter', ['-t', String(ready.instances.find((x) => x.service === 'broker').pid), '-m',
      'getent', 'ahostsv4', name], { encoding: 'utf8' }).stdout;
    const gw = ready.instances.filter((x) => x.service === 'gateway').map((x) => x.addr).sort();
    assert.deepEqual([...new Set(inside('gateway').split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]))].sort(), gw,
      'gateway resolves to both replicas');
    assert.match(inside('postgres'), new RegExp(ready.instances.find((x) => x.service === 'postgres').addr.replace(/\./g, '\\.')));
    assert.equal(fs.readFileSync('/etc/hosts', 'utf8'), hostsBefore);
    assert.equal(spawnSync('getent', ['hosts', 'beseda-broker-1']).status, 2, 'compose names do not leak to the host');
  });

  test('a visitor and the demo operator chat through the balancer\'s published port', { skip: SKIP }, async () => {
    const m = demo.output.match(/demo site ([0-9a-f-]{36}); operator (\S+) \/ (\S+);/);
    assert.ok(m, `demo output names the site and operator: ${demo.output}`);
    const [, site, email, password] = m;
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, { what: 'balancer /healthz', timeoutMs: 30000 });
    const widget = await fetch(`${base}/widget.js`);
    assert.equal(widget.status, 200, 'web assets from the image layout (Dockerfile COPY build/web)');
    assert.match(await widget.text(), /\/widget\/frame\.[0-9a-f]{8}\.html/, 'the built web tree (hashed names)');

    const ws = (role) => `ws://127.0.0.1:${port}/ws/${role}`;
    const foreign = await Client.connect(ws('visitor'), { origin: 'http://evil.example' }).catch((e) => e);
    assert.equal(foreign.status, 403, 'a foreign Origin is refused (BESEDA_PUBLIC_ORIGIN from .env)');

    const op = await operator(ws('operator'), { email, password });
    const v = await visitorRetry(ws('visitor'), site);
    assert.equal(v.welcome.site_name, 'Demo shop');
    const conv = v.welcome.conversation.id;
    const ack = await sendMessage(v, conv, 'Hello from compose');
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    assert.equal(ack.seq, 1);
    assert.equal(ack.duplicate, false);
    await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned', timeoutMs: 20000 });
    const reply = await sendMessage(op, conv, 'Hello from the operator');
    assert.equal(reply.type, 'ack', JSON.stringify(reply));
    const got = await v.next((f) => f.type === 'message' && f.conversation === conv && f.author?.kind === 'operator', { what: 'reply' });
    assert.equal(got.text, 'Hello from the operator');

    // Round robin: more connections land on both gateways.
    const extra = await Promise.all([1, 2, 3, 4].map(() => visitorRetry(ws('visitor'), site)));
    const established = spawnSync('ss', ['-Htn', 'state', 'established'], { encoding: 'utf8' }).stdout;
    for (const g of ready.instances.filter((x) => x.service === 'gateway')) {
      assert.ok(established.includes(`${g.addr}:8080 `), `gateway ${g.addr} serves some of the connections`);
    }
    extra.forEach((c) => c.close()); v.close(); op.close();
  });

  test('routers scale down and up at run time, a killed router is restarted, and chats go on', { skip: SKIP }, async () => {
    const site = demo.output.match(/demo site ([0-9a-f-]{36})/)[1];
    const ws = (role) => `ws://127.0.0.1:${port}/ws/${role}`;
    const chat = async (text) => {
      const op = await operator(ws('operator'), { email: 'demo@beseda.local', password: 'demo-password' });
      const v = await visitorRetry(ws('visitor'), site);
      const conv = v.welcome.conversation.id;
      const a = await sendMessage(v, conv, text);
      assert.equal(a.type, 'ack', JSON.stringify(a));
      await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: `assigned (${text})`, timeoutMs: 20000 });
      const r = await sendMessage(op, conv, `re: ${text}`);
      assert.equal(r.type, 'ack', JSON.stringify(r));
      await v.next((f) => f.type === 'message' && f.conversation === conv && f.text === `re: ${text}`, { what: 'reply' });
      v.close(); op.close();
    };
    const routers = ready.instances.filter((x) => x.service === 'router');

    run.send('scale router=1');
    const down = await run.next((e) => e.event === 'scaled' && e.service === 'router', 'scale router=1', 60000);
    assert.equal(down.replicas, 1);
    await waitFor(() => routers.slice(1).every((x) => !alive(x.pid)), { what: 'replicas 2 and 3 stopped' });
    assert.ok(alive(routers[0].pid), 'replica 1 kept');
    const hosts = fs.readFileSync(ready.hosts, 'utf8');
    assert.equal(hosts.split('\n').filter((l) => /\srouter\s/.test(l)).length, 1, 'the name router now means one address');
    await chat('after scaling to one router');

    run.send('scale router=2');
    const upEv = await run.next((e) => e.event === 'scaled' && e.service === 'router', 'scale router=2', 60000);
    assert.equal(upEv.instances.filter((x) => x.service === 'router' && x.running).length, 2);
    await chat('after scaling to two routers');

    // restart: unless-stopped
    process.kill(routers[0].pid, 'SIGKILL');
    const back = await run.next((e) => e.event === 'restarted' && e.service === 'router' && e.replica === 1, 'router restarted', 30000);
    assert.ok(alive(back.pid));
    await chat('after a router was killed and restarted');
  });

  test('down stops every process it started and frees every address', { skip: SKIP }, async () => {
    run.send('ps');
    const ps = await run.next((e) => e.event === 'ps', 'ps');
    const pids = ps.instances.filter((x) => x.running).map((x) => x.pid);
    assert.ok(pids.length >= 9, `${pids.length} running processes`);
    run.send('down');
    await run.next((e) => e.event === 'down', 'down', 90000);
    assert.equal(await run.exited, 0);
    await waitFor(() => pids.every((p) => !alive(p)), { what: 'every process gone', timeoutMs: 10000 });
    const addrs = new Set(ps.instances.map((x) => x.addr));
    assert.deepEqual(listening().filter((s) => addrs.has(s.addr) || (s.addr === '127.0.0.1' && s.port === port)), []);
    assert.equal(fs.readFileSync('/etc/hosts', 'utf8'), hostsBefore);
  });
});
