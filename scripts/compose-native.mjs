#!/usr/bin/env node
// Runs the services of docker-compose.yml natively, without a Docker engine:
// the proof of the compose deployment described in docs/DEPLOY.md.
//
//   node scripts/compose-native.mjs [--env-file .env] [--profile demo] [--scale router=3]
//                                   [--state-dir DIR] [--project NAME] [--file docker-compose.yml]
//
// It validates the file with Debian's `docker-compose config` (and stops on an
// error), reads the resolved YAML, and starts every selected service's
// replicas from what the file says: the command, the environment, the
// replicas (deploy.replicas or --scale), depends_on with its conditions, the
// healthchecks, the restart policy, the published ports, named volumes and
// bind-mounted config files. Images are mapped to programs on this machine:
// beseda's own image to build/ (through the COPY lines of deploy/Dockerfile),
// postgres, redis and haproxy images to Debian's binaries.
//
// Each instance gets its own loopback address 127.0.<base+service>.<replica>;
// wildcard binds (`*`, 0.0.0.0) in its environment or command become that
// address, so nothing listens beyond loopback and replicas do not collide.
// Service names resolve as in compose: the runner re-executes itself in a
// private mount namespace (unshare -m) and bind-mounts a generated /etc/hosts
// there (the real one is untouched), and it answers DNS on 127.0.0.11:53 as
// Docker's embedded resolver does (haproxy's resolvers use it).
//
// Output: one JSON object per line on stdout (events: ready, health, exited,
// restarted, scaled, down, error). Input: lines on stdin, `scale SERVICE=N`
// or `down`; end of stdin also means down. SIGTERM/SIGINT: down. Everything
// started is stopped on every way out (SIGTERM, grace, SIGKILL).
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = process.env.BESEDA_BUILD || path.join(ROOT, 'build');
const PG_BIN = fs.existsSync('/usr/lib/postgresql/15/bin') ? '/usr/lib/postgresql/15/bin'
  : (fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).pop() : '');
const NS_MARK = 'BESEDA_COMPOSE_NATIVE_NS';
const DOCKER_DNS = '127.0.0.11';
const IS_ROOT = process.getuid() === 0;

const deviations = [];   // where this run had to differ from the file (reported in `ready`)
const emit = (event, fields = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fail = (msg, code = 1) => { emit('error', { message: msg }); process.stderr.write(`compose-native: ${msg}\n`); process.exit(code); };

function parseArgs(argv) {
  const a = { envFile: path.join(ROOT, '.env.example'), profiles: [], scale: {}, stateDir: null,
    project: 'beseda', file: path.join(ROOT, 'docker-compose.yml'), base: 200 };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split(/=(.*)/s, 2);
    const val = () => (inline !== undefined ? inline : argv[++i]);
    if (k === '--env-file') a.envFile = path.resolve(val());
    else if (k === '--profile') a.profiles.push(val());
    else if (k === '--scale') { const [s, n] = val().split('='); a.scale[s] = parseCount(n, '--scale'); }
    else if (k === '--state-dir') a.stateDir = path.resolve(val());
    else if (k === '--project') a.project = val();
    else if (k === '--file' || k === '-f') a.file = path.resolve(val());
    else if (k === '--subnet-base') a.base = parseCount(val(), '--subnet-base');
    else if (k === '--help' || k === '-h') { process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 28).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n'); process.exit(0); }
    else fail(`unknown argument ${argv[i]} (see --help)`, 2);
  }
  if (a.base < 1 || a.base > 240) fail('--subnet-base must be 1..240', 2);
  return a;
}

function parseCount(s, what) {
  if (!/^\d{1,3}$/.test(String(s)) || Number(s) > 200) fail(`${what}: expected a count 0..200, got ${s}`, 2);
  return Number(s);
}

/* ----------------------------------------------------- the private mount namespace */

// Re-executes this script inside `unshare -m` (root only): the generated
// /etc/hosts is bind-mounted there, invisible to the rest of the machine.
function reexecInNamespace() {
  if (process.env[NS_MARK] === '1') return false;
  if (!IS_ROOT) fail('needs root: it uses unshare -m and a bind mount over /etc/hosts in a private mount namespace', 77);
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', process.execPath,
    fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, [NS_MARK]: '1' } });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, sig) => process.exit(code ?? (sig ? 128 + (os.constants.signals[sig] || 1) : 1)));
  child.on('error', (e) => fail(`unshare: ${e.message}`));
  return true;
}

/* ----------------------------------------------------- the compose file */

function resolvedConfig(args) {
  for (const f of [args.file, args.envFile]) if (!fs.existsSync(f)) fail(`${f} does not exist`, 2);
  const dc = spawnSync('docker-compose', ['--project-name', args.project, '--project-directory', path.dirname(args.file),
    '-f', args.file, '--env-file', args.envFile, 'config'], { encoding: 'utf8', env: cleanComposeEnv() });
  if (dc.error) fail(`docker-compose: ${dc.error.message} (install Debian's docker-compose package)`);
  if (dc.status !== 0) fail(`docker-compose config rejected ${args.file}:\n${dc.stderr.trim()}`);
  // The same YAML library docker-compose itself uses (python3-yaml, one of its dependencies).
  const py = spawnSync('python3', ['-c', 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: dc.stdout, encoding: 'utf8' });
  if (py.status !== 0) fail(`cannot parse docker-compose config output: ${py.stderr}`);
  return { config: JSON.parse(py.stdout), warnings: dc.stderr.trim() };
}

// The caller's environment overrides .env in compose: keep ours out of it.
function cleanComposeEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('BESEDA_') || k.startsWith('POSTGRES_')) delete env[k];
  return env;
}

// docker-compose config prints `$$` (the escape of a literal `$`) unchanged;
// compose replaces it with `$` when it runs the container.
const unescapeDollar = (s) => String(s).replace(/\$\$/g, '$');

function envOf(svc) {
  const e = svc.environment || {};
  const out = {};
  if (Array.isArray(e)) for (const kv of e) { const [k, v] = kv.split(/=(.*)/s); out[k] = v ?? ''; }
  else for (const [k, v] of Object.entries(e)) out[k] = v === null ? '' : String(v);
  for (const k of Object.keys(out)) out[k] = unescapeDollar(out[k]);
  return out;
}

const asArgv = (cmd) => (cmd == null ? null : Array.isArray(cmd) ? cmd.map(unescapeDollar) : ['sh', '-c', unescapeDollar(cmd)]);

/* ----------------------------------------------------- beseda's image, from deploy/Dockerfile */

// The final stage's COPY, ENV, WORKDIR and USER lines: which repo paths the
// image holds where, and its environment. Sources copied from the build stage
// (/src/...) are the repo's build output; others are repo paths.
function imageFromDockerfile(file, imageRoot) {
  const lines = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim());
  const stages = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push({ from: l, lines: [], workdir: '/' });
    else if (stages.length && l && !l.startsWith('#')) stages.at(-1).lines.push(l);
  }
  if (stages.length === 0) fail(`${file}: no FROM`);
  const buildWorkdir = {};
  for (const st of stages) {
    const m = st.from.match(/\bAS\s+(\S+)/i);
    for (const l of st.lines) if (/^WORKDIR\s/i.test(l)) st.workdir = l.split(/\s+/)[1];
    if (m) buildWorkdir[m[1]] = st.workdir;
  }
  const final = stages.at(-1);
  const img = { env: {}, workdir: '/', user: 'root', copies: [] };
  for (const l of final.lines) {
    const [instr, ...rest] = l.split(/\s+/);
    switch (instr.toUpperCase()) {
      case 'COPY': {
        let from = null;
        const parts = rest.filter((p) => { const m = p.match(/^--from=(.+)/); if (m) from = m[1]; return !p.startsWith('--'); });
        const dest = parts.pop();
        for (const src of parts) {
          let host;
          if (from) {
            const wd = buildWorkdir[from] || '/';
            const rel = path.posix.relative(wd, src);
            if (rel.startsWith('..')) fail(`${file}: cannot map ${src} from stage ${from}`);
            host = rel.startsWith('build/') ? path.join(BUILD, rel.slice(6)) : path.join(ROOT, rel);
          } else host = path.join(ROOT, src);
          const target = dest.endsWith('/') ? path.posix.join(dest, path.basename(src)) : dest;
          img.copies.push({ host, target });
        }
        break;
      }
      case 'ENV': for (const kv of rest) { const [k, v] = kv.split(/=(.*)/s); img.env[k] = v ?? ''; } break;
      case 'WORKDIR': img.workdir = rest[0]; break;
      case 'USER': img.user = rest[0]; break;
      default: break;
    }
  }
  // Lay the image out under imageRoot: only what the image holds is there.
  // Copies, not symlinks into the checkout: the services run as other
  // accounts (nobody, postgres), which cannot enter a clone under a 0700
  // directory such as /root/beseda.
  for (const c of img.copies) {
    if (!fs.existsSync(c.host)) fail(`${file}: ${c.host} (copied to ${c.target}) does not exist; run make`);
    const at = path.join(imageRoot, c.target);
    fs.mkdirSync(path.dirname(at), { recursive: true, mode: 0o755 });
    fs.cpSync(c.host, at, { recursive: true, dereference: true });
    fs.chmodSync(at, fs.statSync(at).isDirectory() ? 0o755 : fs.statSync(c.host).mode & 0o755 | 0o444);
  }
  const mapPath = (p) => (p.startsWith('/') && img.copies.some((c) => p === c.target || p.startsWith(path.posix.dirname(c.target) + '/')
    || c.target.startsWith(p.replace(/\/$/, '') + '/')) ? path.join(imageRoot, p) : p);
  img.mapPath = mapPath;
  for (const [k, v] of Object.entries(img.env)) {
    img.env[k] = v.split(':').map((p) => (p === '$PATH' ? process.env.PATH : mapPath(p))).join(':');
  }
  img.cwd = mapPath(img.workdir);
  fs.mkdirSync(img.cwd, { recursive: true, mode: 0o755 });
  return img;
}

/* ----------------------------------------------------- addresses, /etc/hosts, DNS */

// Wildcard binds become the instance's own loopback address.
function localizeBind(value, addr) {
  return value.replace(/tcp:\/\/(\*|0\.0\.0\.0|\[::\]):/g, `tcp://${addr}:`)
    .replace(/^(0\.0\.0\.0|\*|::|\[::\])(?=$|:\d+$)/, addr).replace(/^(?=:\d+$)/, addr);
}

class Names {
  constructor(stateDir, project) { this.file = path.join(stateDir, 'hosts'); this.project = project; this.table = new Map(); }
  set(service, replica, addr) { this.table.set(`${service}#${replica}`, { service, replica, addr }); }
  delete(service, replica) { this.table.delete(`${service}#${replica}`); }
  lookup(name) {
    const n = name.toLowerCase().replace(/\.$/, '');
    const hits = [...this.table.values()].filter((e) => e.service === n
      || `${this.project}-${e.service}-${e.replica}` === n || `${this.project}_${e.service}_${e.replica}` === n);
    return hits.map((e) => e.addr);
  }
  hostsText() {
    const base = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
      + `127.0.1.1\t${os.hostname()}\n`;
    const lines = [...this.table.values()].sort((a, b) => a.addr.localeCompare(b.addr, 'en', { numeric: true }))
      .map((e) => `${e.addr}\t${e.service} ${this.project}-${e.service}-${e.replica} ${this.project}_${e.service}_${e.replica}`);
    return `# generated by scripts/compose-native.mjs: compose service names\n${base}${lines.join('\n')}\n`;
  }
  // Rewritten in place (same inode): the bind mount keeps pointing at it.
  write() { fs.writeFileSync(this.file, this.hostsText()); }
  mount() {
    this.write();
    fs.chmodSync(this.file, 0o644);
    const r = spawnSync('mount', ['--bind', this.file, '/etc/hosts'], { encoding: 'utf8' });
    if (r.status !== 0) fail(`mount --bind ${this.file} /etc/hosts: ${r.stderr}`);
  }
}

// A minimal DNS responder for A queries, like Docker's embedded DNS server:
// a service name answers every replica's address; other names NXDOMAIN.
function dnsReply(msg, names) {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1 || (msg[2] & 0x80)) return null;
  let i = 12; const labels = [];
  while (i < msg.length && msg[i] !== 0) {
    const n = msg[i];
    if (n > 63 || i + 1 + n > msg.length) return null;
    labels.push(msg.toString('latin1', i + 1, i + 1 + n)); i += n + 1;
  }
  if (i + 5 > msg.length) return null;
  const qtype = msg.readUInt16BE(i + 1), qclass = msg.readUInt16BE(i + 3);
  const question = msg.subarray(12, i + 5);
  const addrs = names.lookup(labels.join('.'));
  const answers = qtype === 1 && qclass === 1 ? addrs : [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(msg.readUInt16BE(0), 0);
  head.writeUInt16BE(0x8400 | (msg[2] & 0x01) << 8 | 0x80 | (addrs.length ? 0 : 3), 2);
  head.writeUInt16BE(1, 4); head.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((a) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); rr.writeUInt16BE(1, 2); rr.writeUInt16BE(1, 4); rr.writeUInt32BE(1, 6); rr.writeUInt16BE(4, 10);
    a.split('.').forEach((o, k) => { rr[12 + k] = Number(o); });
    return rr;
  });
  return Buffer.concat([head, question, ...rrs]);
}

async function startDns(names, fallbackAddr) {
  for (const addr of [DOCKER_DNS, fallbackAddr]) {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      let out = null;
      try { out = dnsReply(msg, names); } catch { out = null; }
      if (out) sock.send(out, rinfo.port, rinfo.address);
    });
    const ok = await new Promise((resolve) => {
      sock.once('error', () => resolve(false));
      sock.bind(addr === DOCKER_DNS ? 53 : 0, addr, () => resolve(true));
    });
    if (ok) { sock.unref(); return { sock, addr, port: sock.address().port }; }
    sock.close();
  }
  fail('cannot bind a DNS responder on loopback');
  return null;
}

/* ----------------------------------------------------- instances */

const users = {};
function userIds(name) {
  if (!IS_ROOT) return {};
  if (!(name in users)) {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
    users[name] = line ? { uid: Number(line.split(':')[2]), gid: Number(line.split(':')[3]) } : null;
  }
  if (!users[name]) fail(`no local user ${name}`);
  return users[name];
}

class Instance {
  constructor(rt, svc, replica) {
    this.rt = rt; this.svc = svc; this.replica = replica;
    this.name = `${svc.name}-${replica}`;
    this.addr = `127.0.${rt.args.base + svc.index}.${replica}`;
    this.logPath = path.join(rt.logDir, `${this.name}.log`);
    this.restarts = 0; this.stopping = false; this.output = '';
  }

  spawnOnce() {
    const { cmd, args, env, cwd, user } = this.spec;
    const log = fs.openSync(this.logPath, 'a');
    this.startedAt = Date.now();
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', log], detached: false, ...userIds(user) });
    fs.closeSync(log);
    this.child = child;
    child.stdout.on('data', (d) => { fs.appendFileSync(this.logPath, d); if (this.output.length < 65536) this.output += d; });
    this.exited = new Promise((resolve) => {
      child.on('error', (e) => { fs.appendFileSync(this.logPath, `spawn error: ${e.message}\n`); });
      child.on('close', (code, sig) => { this.exitCode = code; this.exitSignal = sig; resolve(); this.onExit(code, sig); });
    });
  }

  get running() { return this.child && this.child.exitCode === null && this.child.signalCode === null; }

  onExit(code, signal) {
    this.rt.live.delete(this);
    emit('exited', { service: this.svc.name, replica: this.replica, pid: this.child.pid, code, signal,
      ...(this.svc.oneOff ? { output: this.output } : {}) });
    if (this.stopping || this.rt.down) return;
    const policy = String(this.svc.def.restart || 'no');
    const again = policy === 'always' || policy === 'unless-stopped' || (policy.startsWith('on-failure') && code !== 0);
    if (!again) return;
    // As Docker: the delay doubles from 100 ms up to a minute, and starts
    // over once the process has run for 10 s.
    if (Date.now() - this.startedAt > 10000) this.backoff = 0;
    const delay = Math.min(100 * 2 ** (this.backoff || 0), 60000);
    this.backoff = (this.backoff || 0) + 1;
    this.restarts++;
    setTimeout(() => {
      if (this.stopping || this.rt.down) return;
      this.spawnOnce(); this.rt.live.add(this);
      emit('restarted', { service: this.svc.name, replica: this.replica, pid: this.child.pid, restarts: this.restarts });
    }, delay);
  }

  async start() {
    this.spec = withUlimits(await this.rt.driverFor(this.svc).prepare(this), this.svc.def.ulimits);
    this.spawnOnce();
    this.rt.live.add(this);
  }

  // docker stop: SIGTERM, then SIGKILL after stop_grace_period.
  async stop() {
    this.stopping = true;
    if (!this.running) return;
    this.child.kill(this.svc.def.stop_signal || 'SIGTERM');
    const t = setTimeout(() => { try { this.child.kill('SIGKILL'); } catch { /* gone */ } }, this.svc.graceMs);
    await this.exited; clearTimeout(t);
  }

  // Runs the healthcheck command natively: `localhost` and 127.0.0.1 inside a
  // container are the instance itself, so they become its address (and libpq
  // and redis-cli, which default to a local socket, are pointed at it).
  healthy() {
    const hc = this.svc.def.healthcheck;
    if (!hc || hc.disable || !hc.test) return Promise.resolve(true);
    let test = Array.isArray(hc.test) ? [...hc.test] : ['CMD-SHELL', hc.test];
    const kind = test.shift();
    if (kind === 'NONE') return Promise.resolve(true);
    const local = (s) => unescapeDollar(s).replace(/\b(localhost|127\.0\.0\.1)\b/g, this.addr);
    let argv = kind === 'CMD-SHELL' ? ['sh', '-c', local(test.join(' '))] : test.map(local);
    if (path.basename(argv[0]) === 'redis-cli') argv = [argv[0], '-h', this.addr, ...argv.slice(1)];
    const env = { ...this.spec.env, PGHOST: this.addr, PGPORT: this.spec.port || '5432' };
    return new Promise((resolve) => {
      const p = spawn(argv[0], argv.slice(1), { env, cwd: this.spec.cwd, stdio: 'ignore', timeout: durationMs(hc.timeout, 30000) });
      p.on('error', () => resolve(false));
      p.on('close', (code) => resolve(code === 0));
    });
  }
}

// The service's ulimits, applied with prlimit(1) as Docker applies them to the container.
function withUlimits(spec, ulimits) {
  if (!ulimits) return spec;
  const flags = { nofile: 'nofile', nproc: 'nproc', core: 'core', memlock: 'memlock', stack: 'stack' };
  const limits = Object.entries(ulimits).map(([k, v]) => {
    if (!flags[k]) fail(`ulimits.${k}: not supported natively`);
    let [soft, hard] = typeof v === 'object' ? [v.soft, v.hard] : [v, v];
    if (spawnSync('prlimit', [`--${flags[k]}=${soft}:${hard}`, '--', 'true']).status !== 0) {
      // Without CAP_SYS_RESOURCE (some sandboxes) the hard limit cannot be
      // raised: keep this machine's, and say so.
      const max = Number(spawnSync('prlimit', [`--${flags[k]}`, '-o', 'HARD', '--noheadings', '--raw'], { encoding: 'utf8' }).stdout.trim());
      if (!(max > 0)) fail(`ulimits.${k}: cannot apply ${soft}:${hard}`);
      deviations.push(`ulimits.${k} ${soft}:${hard} lowered to ${Math.min(soft, max)}:${max} (this machine's hard limit)`);
      [soft, hard] = [Math.min(soft, max), max];
    }
    return `--${flags[k]}=${soft}:${hard}`;
  });
  // Raising a hard limit needs root: prlimit runs as root, setpriv drops to the user.
  const ids = IS_ROOT && spec.user !== 'root' ? userIds(spec.user) : null;
  const drop = ids ? ['setpriv', `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--'] : [];
  return { ...spec, cmd: 'prlimit', args: [...limits, '--', ...drop, spec.cmd, ...spec.args], user: ids ? 'root' : spec.user,
    runsAs: spec.user };
}

function durationMs(v, dflt) {
  if (v == null) return dflt;
  let ms = 0;
  for (const [, n, u] of String(v).matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) ms += Number(n) * { h: 3600e3, m: 60e3, s: 1e3, ms: 1, us: 1e-3 }[u];
  return ms || dflt;
}

/* ----------------------------------------------------- drivers: image -> native program */

const beseda = {
  async prepare(inst) {
    const rt = inst.rt, svc = inst.svc;
    const env = { ...rt.image.env, ...envOf(svc.def) };
    for (const k of Object.keys(env)) env[k] = localizeBind(rt.image.mapPath(env[k]), inst.addr);
    env.HOSTNAME = `${rt.args.project}-${inst.name}`;
    const argv = (asArgv(svc.def.command) || ['beseda-broker', '--help']).map((a) => localizeBind(a, inst.addr));
    return { cmd: argv[0], args: argv.slice(1), env: { ...env, PATH: env.PATH || process.env.PATH }, cwd: rt.image.cwd,
      user: rt.image.user === 'root' ? 'root' : 'nobody' };
  },
};

// postgres image: its entrypoint initialises an empty volume (POSTGRES_USER,
// POSTGRES_PASSWORD, POSTGRES_DB, password auth from every host), then runs
// postgres listening on the container's addresses, port 5432.
const postgres = {
  async prepare(inst) {
    const rt = inst.rt, env = envOf(inst.svc.def);
    const data = rt.volumePath(inst, '/var/lib/postgresql/data', 'postgres');
    const user = env.POSTGRES_USER || 'postgres';
    if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
      if (!env.POSTGRES_PASSWORD) fail(`${inst.svc.name}: POSTGRES_PASSWORD is empty`);
      const pw = path.join(rt.stateDir, `${inst.name}.pw`);
      fs.writeFileSync(pw, env.POSTGRES_PASSWORD, { mode: 0o600 });
      if (IS_ROOT) fs.chownSync(pw, userIds('postgres').uid, userIds('postgres').gid);
      runOk(inst, path.join(PG_BIN, 'initdb'), ['-D', data, '-U', user, `--pwfile=${pw}`, '-E', 'UTF8', '--no-sync',
        '--auth-local=trust', '--auth-host=scram-sha-256'], 'postgres');
      fs.rmSync(pw);
      fs.appendFileSync(path.join(data, 'pg_hba.conf'), 'host all all all scram-sha-256\n');
      const db = env.POSTGRES_DB || user;
      if (db !== 'postgres') {
        runOk(inst, path.join(PG_BIN, 'postgres'), ['--single', '-D', data, '-j', 'postgres'], 'postgres',
          `CREATE DATABASE "${db.replace(/"/g, '""')}" OWNER "${user.replace(/"/g, '""')}";\n\n`);
      }
    }
    const sock = path.join(rt.stateDir, 'run', inst.name);
    fs.mkdirSync(sock, { recursive: true });
    if (IS_ROOT) fs.chownSync(sock, userIds('postgres').uid, userIds('postgres').gid);
    return { cmd: path.join(PG_BIN, 'postgres'), args: ['-D', data, '-c', `listen_addresses=${inst.addr}`, '-p', '5432',
      '-k', sock, '-c', 'fsync=off'], env: { ...process.env, ...env }, cwd: data, user: 'postgres', port: '5432' };
  },
};

// redis image: the file's command, bound to the instance's address.
const redis = {
  async prepare(inst) {
    const rt = inst.rt;
    const argv = asArgv(inst.svc.def.command) || ['redis-server'];
    const dir = rt.volumePath(inst, '/data', 'nobody');
    return { cmd: argv[0], args: [...argv.slice(1), '--bind', inst.addr, '--port', '6379', '--dir', dir, '--daemonize', 'no'],
      env: { ...process.env, ...envOf(inst.svc.def) }, cwd: dir, user: 'nobody' };
  },
};

// haproxy image: the bind-mounted haproxy.cfg, with `bind *:PORT` on the
// instance's address; the DNS resolver as in Docker unless 127.0.0.11:53 was taken.
const haproxy = {
  async prepare(inst) {
    const rt = inst.rt;
    const mount = (inst.svc.def.volumes || []).map(parseVolume).find((v) => v.target === '/usr/local/etc/haproxy/haproxy.cfg');
    if (!mount || mount.type !== 'bind') fail(`${inst.svc.name}: no bind-mounted /usr/local/etc/haproxy/haproxy.cfg`);
    let cfg = fs.readFileSync(mount.source, 'utf8')
      .replace(/^(\s*bind\s+)(?:\*|0\.0\.0\.0|:::?|\[::\])?:(\d+)/gm, `$1${inst.addr}:$2`);
    if (rt.dns.addr !== DOCKER_DNS || rt.dns.port !== 53) cfg = cfg.replace(/(nameserver\s+\S+\s+)127\.0\.0\.11:53/g, `$1${rt.dns.addr}:${rt.dns.port}`);
    const file = path.join(rt.stateDir, `${inst.name}.cfg`);
    fs.writeFileSync(file, cfg, { mode: 0o644 });
    const check = spawnSync('haproxy', ['-c', '-q', '-f', file], { encoding: 'utf8' });
    if (check.error) fail(`haproxy: ${check.error.message} (install Debian's haproxy package)`);
    if (check.status !== 0) fail(`haproxy rejects ${mount.source}:\n${check.stderr}${check.stdout}`);
    return { cmd: 'haproxy', args: ['-db', '-f', file], env: { ...process.env }, cwd: rt.stateDir, user: 'haproxy' };
  },
};

function runOk(inst, cmd, args, user, input) {
  const [c, a] = IS_ROOT ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(c, a, { encoding: 'utf8', input, cwd: '/' });
  fs.appendFileSync(inst.logPath, `$ ${cmd} ${args.join(' ')}\n${r.stdout || ''}${r.stderr || ''}`);
  if (r.status !== 0) fail(`${inst.name}: ${path.basename(cmd)} failed (see ${inst.logPath})`);
}

function parseVolume(v) {
  if (typeof v === 'object') return { type: v.type || 'volume', source: v.source, target: v.target };
  const [source, target] = v.split(':');
  return { type: source.startsWith('/') || source.startsWith('.') ? 'bind' : 'volume', source, target };
}

/* ----------------------------------------------------- the runtime */

class Runtime {
  constructor(args, config) {
    this.args = args; this.config = config; this.live = new Set(); this.down = false;
    this.stateDir = args.stateDir || fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-compose-'));
    fs.mkdirSync(this.stateDir, { recursive: true });
    fs.chmodSync(this.stateDir, 0o755);
    this.logDir = path.join(this.stateDir, 'logs');
    fs.mkdirSync(this.logDir, { recursive: true });
    this.names = new Names(this.stateDir, args.project);
    const all = Object.keys(config.services || {}).sort();
    this.services = new Map(all.map((name, i) => {
      const def = config.services[name];
      const profiles = def.profiles || [];
      return [name, { name, def, index: i + 1, instances: [], started: null,
        active: profiles.length === 0 || profiles.some((p) => args.profiles.includes(p)),
        oneOff: String(def.restart || 'no') === 'no' && profiles.length > 0,
        graceMs: durationMs(def.stop_grace_period, 10000),
        replicas: args.scale[name] ?? def.deploy?.replicas ?? 1 }];
    }));
    for (const s of Object.keys(args.scale)) if (!this.services.has(s)) fail(`--scale ${s}: no such service`, 2);
  }

  driverFor(svc) {
    const image = String(svc.def.image || '');
    if (svc.def.build && /deploy\/Dockerfile$/.test(svc.def.build.dockerfile || '')) return beseda;
    if (/^(docker\.io\/)?(library\/)?postgres:/.test(image)) return postgres;
    if (/^(docker\.io\/)?(library\/)?redis:/.test(image)) return redis;
    if (/^(docker\.io\/)?(library\/)?haproxy:/.test(image)) return haproxy;
    return fail(`${svc.name}: no native equivalent for image ${image}`);
  }

  // Named volumes live under the state dir (compose: <project>_<name>).
  volumePath(inst, target, owner) {
    const v = (inst.svc.def.volumes || []).map(parseVolume).find((x) => x.target === target);
    const name = v && v.type === 'volume' ? `${this.args.project}_${v.source}` : `${inst.name}-anon${target.replace(/\//g, '_')}`;
    fs.mkdirSync(path.join(this.stateDir, 'volumes'), { recursive: true, mode: 0o755 });
    const dir = path.join(this.stateDir, 'volumes', name);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (IS_ROOT) fs.chownSync(dir, userIds(owner).uid, userIds(owner).gid);
    return dir;
  }

  async start() {
    this.image = imageFromDockerfile(path.join(ROOT, 'deploy', 'Dockerfile'), path.join(this.stateDir, 'image'));
    for (const svc of this.services.values()) {
      if (!svc.active) continue;
      for (let r = 1; r <= svc.replicas; r++) this.names.set(svc.name, r, `127.0.${this.args.base + svc.index}.${r}`);
    }
    this.names.mount();
    this.dns = await startDns(this.names, `127.0.${this.args.base}.53`);
    await Promise.all([...this.services.values()].filter((s) => s.active).map((s) => this.up(s)));
    await this.publish();
  }

  // Starts a service once its dependencies meet their conditions.
  up(svc) {
    if (!svc.started) {
      svc.started = (async () => {
        const deps = svc.def.depends_on || {};
        for (const [dep, spec] of Object.entries(Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, {}])) : deps)) {
          const d = this.services.get(dep);
          if (!d) fail(`${svc.name} depends on unknown service ${dep}`);
          if (!d.active) fail(`${svc.name} depends on ${dep}, which is not selected (profile?)`);
          await this.up(d);
          const cond = spec.condition || 'service_started';
          if (cond === 'service_healthy') await this.waitHealthy(d).catch((e) => fail(`${svc.name} waits for ${dep}: ${e.message}`));
          else if (cond === 'service_completed_successfully') await this.waitCompleted(d);
        }
        await this.scaleTo(svc, svc.replicas);
      })();
    }
    return svc.started;
  }

  async scaleTo(svc, n) {
    while (svc.instances.length < n) {
      const inst = new Instance(this, svc, svc.instances.length + 1);
      this.names.set(svc.name, inst.replica, inst.addr);
      this.names.write();
      svc.instances.push(inst);
      await inst.start();
    }
    const extra = svc.instances.splice(n);
    await Promise.all(extra.map(async (inst) => { await inst.stop(); this.names.delete(svc.name, inst.replica); }));
    this.names.write();
    svc.replicas = n;
  }

  waitHealthy(svc) {
    if (!svc.healthy) svc.healthy = this.pollHealth(svc);
    return svc.healthy;
  }

  // Every long-running service with a healthcheck: healthy or not (never fatal here).
  async healthReport() {
    const out = {};
    await Promise.all([...this.services.values()].filter((s) => s.active && !s.oneOff && s.def.healthcheck && !s.def.healthcheck.disable)
      .map(async (s) => { out[s.name] = await this.waitHealthy(s).then(() => true, () => false); }));
    return out;
  }

  async pollHealth(svc) {
    const hc = svc.def.healthcheck;
    if (!hc) fail(`${svc.name} is a service_healthy dependency but has no healthcheck`);
    // The file's interval, capped at 1 s: only to be quick, the checks are the file's.
    const every = Math.min(durationMs(hc.interval, 30000), 1000);
    const tries = Math.max((hc.retries ?? 3) * Math.ceil(durationMs(hc.interval, 30000) / every), 30) + Math.ceil(durationMs(hc.start_period, 0) / every);
    for (let i = 0; i < tries; i++) {
      const ok = (await Promise.all(svc.instances.map((x) => x.healthy()))).every(Boolean);
      if (ok) { emit('health', { service: svc.name, healthy: true, checks: i + 1 }); return; }
      if (svc.instances.every((x) => !x.running)) throw new Error(`${svc.name} exited before it became healthy (see ${svc.instances[0]?.logPath})`);
      await sleep(every);
    }
    emit('health', { service: svc.name, healthy: false });
    throw new Error(`${svc.name} did not become healthy (healthcheck: ${JSON.stringify(hc.test)})`);
  }

  async waitCompleted(svc) {
    await Promise.all(svc.instances.map((x) => x.exited));
    const bad = svc.instances.find((x) => x.exitCode !== 0);
    if (bad) fail(`${svc.name} exited with ${bad.exitCode}`);
  }

  // Published ports: loopback only, forwarded to the first replica as
  // docker-proxy does (compose cannot publish one fixed port from two replicas).
  async publish() {
    this.published = [];
    this.proxies = [];
    for (const svc of this.services.values()) {
      if (!svc.active) continue;
      for (const p of svc.def.ports || []) {
        const spec = typeof p === 'object' ? p : { published: String(p).split(':').at(-2), target: String(p).split(':').at(-1) };
        const target = Number(spec.target), port = Number(spec.published || 0);
        const inst = svc.instances[0];
        const srv = net.createServer((c) => {
          const u = net.connect(target, inst.addr);
          c.pipe(u); u.pipe(c);
          const end = () => { c.destroy(); u.destroy(); };
          c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
        });
        await new Promise((resolve) => {
          srv.once('error', (e) => fail(`cannot publish ${svc.name} port ${port} on 127.0.0.1: ${e.message}`));
          srv.listen(port, '127.0.0.1', resolve);
        });
        this.proxies.push(srv);
        this.published.push({ service: svc.name, target, host: '127.0.0.1', port: srv.address().port });
      }
    }
  }

  snapshot() {
    return [...this.services.values()].filter((s) => s.active).flatMap((s) => s.instances.map((x) => ({
      service: s.name, replica: x.replica, addr: x.addr, pid: x.child?.pid, running: !!x.running, user: x.spec?.runsAs || x.spec?.user,
      cmd: [x.spec?.cmd, ...(x.spec?.args || [])].join(' '), log: x.logPath })));
  }

  async command(line) {
    const m = line.trim().match(/^scale\s+([\w.-]+)=(\d+)$/);
    if (m) {
      const svc = this.services.get(m[1]);
      if (!svc || !svc.active) { emit('error', { message: `scale: no running service ${m[1]}` }); return; }
      await this.scaleTo(svc, parseCount(m[2], 'scale'));
      emit('scaled', { service: svc.name, replicas: svc.instances.length, instances: this.snapshot() });
    } else if (line.trim() === 'down') await this.stopAll(0);
    else if (line.trim() === 'ps') emit('ps', { instances: this.snapshot() });
    else if (line.trim()) emit('error', { message: `unknown command: ${line.trim()} (scale SERVICE=N, ps, down)` });
  }

  // compose down: dependants first, then what they depend on.
  async stopAll(code) {
    if (this.down) return;
    this.down = true;
    for (const srv of this.proxies || []) srv.close();
    const order = [...this.services.values()].filter((s) => s.active);
    const depth = (s, seen = new Set()) => {
      if (seen.has(s.name)) return 0; seen.add(s.name);
      return Math.max(0, ...Object.keys(s.def.depends_on || {}).map((d) => 1 + depth(this.services.get(d) || s, seen)));
    };
    order.sort((a, b) => depth(b) - depth(a));
    for (const s of order) await Promise.all(s.instances.map((x) => x.stop()));
    for (const x of this.live) { try { x.child.kill('SIGKILL'); } catch { /* gone */ } }
    emit('down', { stateDir: this.stateDir });
    process.exit(code);
  }
}

/* ----------------------------------------------------- main */

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (reexecInNamespace()) return;
  const { config, warnings } = resolvedConfig(args);
  emit('validated', { file: args.file, envFile: args.envFile, services: Object.keys(config.services || {}), warnings });
  const rt = new Runtime(args, config);
  let stopping = false;
  const down = (code) => { if (!stopping) { stopping = true; rt.stopAll(code); } };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => down(0));
  process.on('exit', () => { for (const x of rt.live) { try { x.child.kill('SIGKILL'); } catch { /* gone */ } } });
  const onFatal = (e) => { emit('error', { message: String(e?.stack || e) }); down(1); };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  const rl = readline.createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  rl.on('line', (l) => { queue = queue.then(() => rt.command(l)).catch(onFatal); });
  rl.on('close', () => { queue.then(() => down(0)); });
  await rt.start();
  const health = await rt.healthReport();
  emit('ready', { health, stateDir: rt.stateDir, hosts: rt.names.file, dns: `${rt.dns.addr}:${rt.dns.port}`,
    published: rt.published, instances: rt.snapshot(), deviations });
}

main().catch((e) => fail(String(e?.stack || e)));
