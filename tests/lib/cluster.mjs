// Test harness: starts a throwaway beseda cluster — PostgreSQL and Redis from
// Debian's packages on free loopback ports in a temp dir, then the real
// broker, store, routers and gateways — and stops every process it started,
// also when a test fails or the runner dies.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = process.env.BESEDA_BUILD || path.join(ROOT, 'build');
const PG_BIN = fs.existsSync('/usr/lib/postgresql/15/bin') ? '/usr/lib/postgresql/15/bin'
  : fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).pop();
const IS_ROOT = process.getuid && process.getuid() === 0;

const live = new Set();   // every child still running, for the exit hook
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < end) {
    try { const v = await fn(); if (v) return v; } catch (e) { lastErr = e; }
    await sleep(intervalMs);
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
}

function runAs(cmd, args, opts = {}) {
  // PostgreSQL refuses to run as root: use the postgres account then.
  const [c, a] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** An initdb'ed data dir, made once per build dir and copied per cluster (initdb takes seconds).
 * It lives under os.tmpdir(), never inside the checkout: as root PostgreSQL runs
 * as the postgres account, which cannot traverse a clone under a 0700 directory
 * (e.g. /root/beseda). One template per build dir and user, named by a hash of both. */
function pgTemplate() {
  const key = createHash('sha256').update(`${BUILD}\0${process.getuid ? process.getuid() : ''}`).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `beseda-pg-template-${key}`);
  // A template that was ever started (postmaster.opts) is not pristine: rebuild it.
  if (fs.existsSync(path.join(dir, 'PG_VERSION')) && !fs.existsSync(path.join(dir, 'postmaster.opts'))) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `beseda-pg-template-${key}-`));
  if (IS_ROOT) execFileSync('chown', ['postgres', tmp]);
  runAs(path.join(PG_BIN, 'initdb'), ['-D', tmp, '-A', 'trust', '-U', 'beseda', '-E', 'UTF8', '--no-sync']);
  try { fs.renameSync(tmp, dir); } catch { fs.rmSync(tmp, { recursive: true, force: true }); }
  return dir;
}

class Proc {
  constructor(name, cmd, args, env, logDir) {
    this.name = name; this.cmd = cmd; this.args = args; this.env = env;
    this.logPath = path.join(logDir, `${name}.log`);
    this.start();
  }
  start() {
    const log = fs.openSync(this.logPath, 'a');
    this.child = spawn(this.cmd, this.args, { env: { ...process.env, ...this.env }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    live.add(this.child);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, sig) => {
      live.delete(this.child); this.exitCode = code; this.exitSignal = sig; resolve();
    }));
  }
  get running() { return this.child.exitCode === null && this.child.signalCode === null; }
  async kill(sig = 'SIGKILL') { if (this.running) { this.child.kill(sig); } await this.exited; }
  async stop(graceMs = 3000) {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited; clearTimeout(t);
  }
  log() { try { return fs.readFileSync(this.logPath, 'utf8'); } catch { return ''; } }
}

export class Cluster {
  constructor(opts) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-test-'));
    this.logDir = path.join(this.dir, 'logs');
    fs.mkdirSync(this.logDir);
    this.procs = new Map();
    this.secret = 'test-secret-' + Math.random().toString(36).slice(2) + '-0123456789';
  }

  async startPostgres() {
    const data = path.join(this.dir, 'pg');
    execFileSync('cp', ['-a', pgTemplate(), data]);
    if (IS_ROOT) execFileSync('chown', ['-R', 'postgres', this.dir]);
    this.pgPort = await freePort();
    this.pgArgs = ['-D', data, '-o', `-p ${this.pgPort} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      '-l', path.join(this.logDir, 'postgres.log'), '-w', '-t', '30'];
    runAs(path.join(PG_BIN, 'pg_ctl'), ['start', ...this.pgArgs]);
    this.pgRunning = true;
    try {
      runAs(path.join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'beseda', 'beseda']);
    } catch (e) {
      if (!/already exists/.test(String(e.stderr))) throw e;
    }
    this.pgConn = `host=127.0.0.1 port=${this.pgPort} dbname=beseda user=beseda connect_timeout=2`;
  }

  async stopPostgres(mode = 'fast') {
    if (!this.pgRunning) return;
    try { runAs(path.join(PG_BIN, 'pg_ctl'), ['stop', '-D', path.join(this.dir, 'pg'), '-m', mode, '-w', '-t', '30']); } catch { /* already down */ }
    this.pgRunning = false;
  }

  async restartPostgres() { await this.stopPostgres('immediate'); runAs(path.join(PG_BIN, 'pg_ctl'), ['start', ...this.pgArgs]); this.pgRunning = true; }

  /** Runs SQL through psql and returns the rows as arrays of strings. */
  sql(query) {
    const out = execFileSync('psql', ['-h', '127.0.0.1', '-p', String(this.pgPort), '-U', 'beseda', '-d', 'beseda',
      '-At', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
  }

  async startRedis() {
    this.redisPort = await freePort();
    this.add('redis', 'redis-server', ['--port', String(this.redisPort), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', this.dir, '--protected-mode', 'yes'], {});
    await waitFor(() => this.redisCli('PING') === 'PONG', { what: 'redis' });
  }

  redisCli(...args) {
    const r = spawnSync('redis-cli', ['-p', String(this.redisPort), ...args], { encoding: 'utf8' });
    return r.stdout.trim();
  }

  add(name, cmd, args, env) {
    const p = new Proc(name, cmd, args, env, this.logDir);
    this.procs.set(name, p);
    return p;
  }

  baseEnv(name) {
    return {
      BESEDA_BROKER: `tcp://127.0.0.1:${this.brokerPorts[0]}`,
      BESEDA_BROKER_PUB: `tcp://127.0.0.1:${this.brokerPorts[1]}`,
      BESEDA_BROKER_SUB: `tcp://127.0.0.1:${this.brokerPorts[2]}`,
      BESEDA_NAME: name,
      BESEDA_LOG_LEVEL: process.env.BESEDA_LOG_LEVEL || 'info',
      BESEDA_PG: this.pgConn,
      BESEDA_REDIS_HOST: '127.0.0.1',
      BESEDA_REDIS_PORT: String(this.redisPort),
      BESEDA_SECRET: this.secret,
      ...this.opts.env,
    };
  }

  /** Each beseda process gets its own admin listener (/metrics, /healthz,
   * /readyz) on a port from a pool taken at start; a restarted process keeps
   * its port. Without a free port left, the process runs without one. */
  adminEnv(name) {
    if (!this.adminPorts) return {};
    if (!this.adminPorts.has(name) && this.adminPool.length) this.adminPorts.set(name, this.adminPool.shift());
    const port = this.adminPorts.get(name);
    return port ? { BESEDA_ADMIN_ADDR: `127.0.0.1:${port}` } : {};
  }
  isAdminPort(port) { return !!this.adminPorts && (this.adminPool.includes(port) || [...this.adminPorts.values()].includes(port)); }
  adminUrl(name) {
    const port = this.adminPorts.get(name);
    if (!port) throw new Error(`${name} has no admin listener`);
    return `http://127.0.0.1:${port}`;
  }

  startBroker() { return this.add('broker', path.join(BUILD, 'beseda-broker'), [], { ...this.baseEnv('broker'), ...this.adminEnv('broker') }); }
  startStore(i) { return this.add(`store-${i}`, path.join(BUILD, 'beseda-store'), [], { ...this.baseEnv(`store-${i}`), ...this.adminEnv(`store-${i}`) }); }
  startRouter(i) { return this.add(`router-${i}`, path.join(BUILD, 'beseda-router'), [], { ...this.baseEnv(`router-${i}`), ...this.adminEnv(`router-${i}`) }); }
  /** env: extra variables for this gateway only (e.g. another BESEDA_BROKER_SUB). */
  async startGateway(i, env = {}) {
    let port = this.gatewayPorts[i];
    while (!port || (!this.gatewayPorts[i] && this.isAdminPort(port))) port = await freePort();
    this.gatewayPorts[i] = port;
    const p = this.add(`gateway-${i}`, path.join(BUILD, 'beseda-gateway'), [], {
      ...this.baseEnv(`gateway-${i}`),
      ...this.adminEnv(`gateway-${i}`),
      BESEDA_HTTP_HOST: '127.0.0.1', BESEDA_HTTP_PORT: String(port), BESEDA_WEB_ROOT: path.join(BUILD, 'web'),
      BESEDA_GATEWAY_ID: `gateway-${i}`,
      ...env,
    });
    await waitFor(async () => (await fetch(`${this.gatewayUrl(i)}/healthz`)).ok, { what: `gateway-${i} /healthz` });
    return p;
  }

  gatewayUrl(i = 0) { return `http://127.0.0.1:${this.gatewayPorts[i]}`; }
  wsUrl(i, role) { return `ws://127.0.0.1:${this.gatewayPorts[i]}/ws/${role}`; }
  proc(name) { return this.procs.get(name); }

  storeAdmin(...args) {
    return execFileSync(path.join(BUILD, 'beseda-store'), args,
      { env: { ...process.env, ...this.baseEnv('admin') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  /** Runs besedactl against this cluster: resolves { code, stdout, stderr } (never throws on exit codes). */
  ctl(args, { input, env = {} } = {}) {
    return new Promise((resolve, reject) => {
      const p = spawn(path.join(BUILD, 'besedactl'), args, { env: { ...process.env, ...this.baseEnv('ctl'), ...env } });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => { stdout += d; });
      p.stderr.on('data', (d) => { stderr += d; });
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
      p.stdin.end(input ?? '');
    });
  }

  async createSite(name = 'Test shop') { return { id: this.storeAdmin('create-site', '--name', name), name }; }
  async createOperator(siteId, { name = 'Anna', email, password = 'correct horse battery', maxChats = 5 } = {}) {
    email = email || `op-${Math.random().toString(36).slice(2, 10)}@test.example`;
    const id = this.storeAdmin('create-operator', '--site', siteId, '--email', email, '--password', password,
      '--name', name, '--max-chats', String(maxChats));
    return { id, email, password, name, siteId };
  }

  async start() {
    const { gateways = 1, routers = 2, stores = 1 } = this.opts;
    this.brokerPorts = [await freePort(), await freePort(), await freePort()];
    this.gatewayPorts = [];
    this.adminPorts = new Map();
    this.adminPool = [];
    while (this.adminPool.length < 24) {
      const port = await freePort();
      if (!this.adminPool.includes(port) && !this.brokerPorts.includes(port)) this.adminPool.push(port);
    }
    await this.startPostgres();
    await this.startRedis();
    this.startBroker();
    this.storeAdmin('migrate');
    for (let i = 0; i < stores; i++) this.startStore(i);
    for (let i = 0; i < routers; i++) this.startRouter(i);
    for (let i = 0; i < gateways; i++) await this.startGateway(i);
    this.site = await this.createSite('Demo shop');
    this.operator = await this.createOperator(this.site.id, { name: 'Anna' });
    return this;
  }

  /** Dumps every process log (for a failed test). */
  logs() {
    return [...this.procs.values()].map((p) => `==== ${p.name}\n${p.log().split('\n').slice(-60).join('\n')}`).join('\n');
  }

  /** Sanitizer reports (ASan/UBSan builds) and crashes found in the process logs. */
  problems() {
    const bad = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|Segmentation fault|double free/;
    return [...this.procs.values()].filter((p) => bad.test(p.log()))
      .map((p) => `${p.name}: ${p.log().split('\n').filter((l) => bad.test(l)).slice(0, 3).join(' | ')}`);
  }

  async stop() {
    await Promise.all([...this.procs.values()].map((p) => p.stop()));
    await this.stopPostgres('immediate');
    const problems = this.problems();
    if (process.env.BESEDA_KEEP_TEST_DIR || problems.length) console.error(`kept ${this.dir}`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
    if (problems.length) throw new Error(`processes reported memory errors or crashed:\n${problems.join('\n')}`);
  }
}

export async function startCluster(opts = {}) {
  const c = new Cluster(opts);
  try { return await c.start(); } catch (e) {
    console.error(c.logs());
    await c.stop();
    throw e;
  }
}
