// The systems under test, each started on loopback only, with a load
// generator attached to it:
//   beseda     the real cluster from tests/lib/cluster.mjs (PostgreSQL with fsync on)
//   mosquitto  Debian's mosquitto, in its own network namespace (its WebSocket
//              listener binds every interface), the load generator inside it
//   rabbitmq   Debian's RabbitMQ with rabbitmq_web_mqtt, likewise in its own namespace
// Each start() returns { name, loadgen, procs() } where procs() lists the
// server's processes to measure as { name, pid, tree } (tree: with children).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Cluster, ROOT, sleep, waitFor } from '../tests/lib/cluster.mjs';

export const LOADGEN = path.join(process.env.BESEDA_BUILD || path.join(ROOT, 'build'), 'beseda-loadgen');
const MQTT_PORT = 18830;       // inside the namespaces only
const WS_PORT = 18080;
const RABBIT_WS_PORT = 15675;

const live = new Set();         // pids this runner started outside the harness, killed on exit
const epmdHomes = new Set();    // RabbitMQ homes whose epmd to stop on exit
process.on('exit', () => {
  for (const pid of live) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const dir of epmdHomes) for (const pid of epmdPids(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
});

/** A load generator child: commands in on stdin, one JSON report per line out. */
export class Loadgen {
  /** Wraps a child process whose stdin/stdout are the generator's. */
  constructor(child, logPath) {
    this.child = child;
    this.logPath = logPath;
    this.reports = [];
    this.waiters = [];
    live.add(child.pid);
    this.exited = new Promise((resolve) => child.on('exit', (code, sig) => {
      live.delete(child.pid); this.exitCode = code; this.exitSignal = sig;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`load generator exited (${code ?? sig}); see ${logPath}`));
      resolve();
    }));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      let obj;
      try { obj = JSON.parse(line); } catch { return; }
      const w = this.waiters.shift();
      if (w) w.resolve(obj); else this.reports.push(obj);
    });
  }

  static spawn(cmd, args, logPath) {
    const log = fs.openSync(logPath, 'a');
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', log] });
    fs.closeSync(log);
    return new Loadgen(child, logPath);
  }

  /** Sends one command and waits (at most timeoutMs) for its report. */
  async command(line, timeoutMs) {
    const next = this.reports.length ? Promise.resolve(this.reports.shift())
      : new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.exitCode !== undefined) throw new Error(`load generator is gone; see ${this.logPath}`);
    this.child.stdin.write(line + '\n');
    let timer;
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer to "${line}" in ${timeoutMs} ms`)), timeoutMs); });
    try { return await Promise.race([next, timeout]); } finally { clearTimeout(timer); }
  }

  async quit() {
    try { this.child.stdin.end('quit\n'); } catch { /* closed */ }
    const t = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await this.exited; clearTimeout(t);
  }
}

function loadgenArgs(o, extra) {
  return ['--visitors', String(o.visitors), '--text-bytes', String(o.textBytes), '--seed', String(o.seed), ...extra];
}

/** beseda: the test cluster, with durable commits (the harness turns fsync off for speed). */
class BenchCluster extends Cluster {
  async startPostgres() {
    await super.startPostgres();
    if (this.opts.fsync) {
      this.pgArgs = this.pgArgs.map((a) => a.replace('-c fsync=off', '-c fsync=on'));
      await this.restartPostgres();
    }
  }
}

export async function startBeseda(o, workDir) {
  const c = new BenchCluster({
    gateways: 1, routers: o.routers, fsync: o.fsync,
    env: {
      // Each operator answers 20 visitors: far above the per-connection
      // anti-abuse limit meant for one human. The benchmark raises it.
      BESEDA_RATE_PER_SEC: '1000000', BESEDA_RATE_BURST: '1000000',
      BESEDA_LOG_LEVEL: process.env.BESEDA_LOG_LEVEL || 'warn',
      BESEDA_MIGRATIONS: path.join(ROOT, 'store', 'migrations'),   // the binaries run from a copy
    },
  });
  try { await c.start(); } catch (e) { console.error(c.logs()); await c.stop(); throw e; }
  const nOps = Math.ceil(o.visitors / 20);
  const lines = [];
  for (let i = 0; i < nOps; i++) {
    const op = await c.createOperator(c.site.id, { name: `Op ${i}`, email: `op${i}@bench.example`, password: `pw-${i}-bench`, maxChats: 100000 });
    lines.push(`${op.email} ${op.password}`);
  }
  const opsFile = path.join(workDir, 'beseda-operators.txt');
  fs.writeFileSync(opsFile, lines.join('\n') + '\n');
  const url = c.wsUrl(0, 'visitor').replace(/\/ws\/visitor$/, '');
  const loadgen = Loadgen.spawn(LOADGEN, loadgenArgs(o, ['--mode', 'beseda', '--url', url, '--site', c.site.id,
    '--operators-file', opsFile, '--origin', url.replace(/^ws:/, 'http:')]), path.join(workDir, 'loadgen-beseda.log'));
  const pgPid = () => {
    try { return Number(fs.readFileSync(path.join(c.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]); } catch {
      console.error(`  postgres of the beseda cluster is not running (no postmaster.pid in ${c.dir}/pg); see ${c.logDir}/postgres.log`);
      return 0;
    }
  };
  const procs = () => [
    ...['gateway-0', 'broker', ...Array.from({ length: o.routers }, (_, i) => `router-${i}`), 'store-0']
      .map((n) => ({ name: n, pid: c.proc(n).child.pid, tree: false, server: true })),
    { name: 'postgres', pid: pgPid(), tree: true, server: true },
    { name: 'redis', pid: c.proc('redis').child.pid, tree: false, server: true },
  ];
  return {
    name: 'beseda', loadgen, procs, connectionHolder: 'gateway-0',
    async stop() { await loadgen.quit(); await c.stop(); },
  };
}

/** Runs `script` in a new network namespace with only loopback; returns the child. */
function inNamespace(script, env, logPath) {
  const log = fs.openSync(logPath, 'a');
  const child = spawn('unshare', ['-n', 'bash', '-c', `ip link set lo up && ${script}`],
    { stdio: ['pipe', 'pipe', log], env: { ...process.env, ...env } });
  fs.closeSync(log);
  return child;
}

/** The broker in the namespace writes its pid to pidFile; the load generator then execs in the shell's place. */
async function brokerWithLoadgen(name, o, workDir, brokerCmd, port, wsPath, env) {
  const pidFile = path.join(workDir, `${name}.pid`);
  const lgArgs = loadgenArgs(o, ['--mode', 'mqtt', '--url', `ws://127.0.0.1:${port}`, '--visitor-path', wsPath,
    '--run-id', `${name}${o.visitors}`]).map((a) => `'${a}'`).join(' ');
  const script = `{ ${brokerCmd} > '${path.join(workDir, name + '.out')}' 2>&1 & echo $! > '${pidFile}'; } ; `
    + `for i in $(seq 240); do (echo > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && break; sleep 0.25; done; `
    + `exec '${LOADGEN}' ${lgArgs}`;
  const logPath = path.join(workDir, `loadgen-${name}.log`);
  // The namespace shell becomes the generator by exec, so its stdin/stdout are the generator's.
  const loadgen = new Loadgen(inNamespace(script, env, logPath), logPath);
  const brokerPid = await waitFor(() => { try { return Number(fs.readFileSync(pidFile, 'utf8')); } catch { return 0; } },
    { timeoutMs: 10000, what: `${name} pid` });
  live.add(brokerPid);
  return { loadgen, brokerPid };
}

async function stopPid(pid, graceMs = 10000) {
  try { process.kill(pid, 'SIGTERM'); } catch { live.delete(pid); return; }
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    try { process.kill(pid, 0); } catch { live.delete(pid); return; }
    await sleep(100);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  live.delete(pid);
}

export async function startMosquitto(o, workDir) {
  const conf = path.join(workDir, 'mosquitto.conf');
  // persistence off: mosquitto only saves its in-memory state every autosave
  // interval, never per message, so it is not durable per message either way.
  // max_queued_messages high: the default 1000 silently drops QoS 1 messages
  // to a slow subscriber, which would be counted as lost.
  fs.writeFileSync(conf, ['per_listener_settings false', 'allow_anonymous true', 'persistence false',
    'max_queued_messages 1000000', 'max_inflight_messages 0', 'log_type error', 'log_type warning',
    `listener ${MQTT_PORT} 127.0.0.1`, 'protocol mqtt', `listener ${WS_PORT}`, 'protocol websockets', ''].join('\n'));
  const { loadgen, brokerPid } = await brokerWithLoadgen('mosquitto', o, workDir, `mosquitto -c '${conf}'`, WS_PORT, '/mqtt', {});
  return {
    name: 'mosquitto', loadgen, connectionHolder: 'mosquitto',
    procs: () => [{ name: 'mosquitto', pid: brokerPid, tree: false, server: true }],
    async stop() { await loadgen.quit(); await stopPid(brokerPid); },
  };
}

export async function startRabbit(o, workDir) {
  const dir = path.join(workDir, 'rabbitmq');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'rabbitmq.conf'), [
    'listeners.tcp.default = 127.0.0.1:5672', `mqtt.listeners.tcp.default = 127.0.0.1:${MQTT_PORT}`,
    `web_mqtt.tcp.port = ${RABBIT_WS_PORT}`, 'web_mqtt.tcp.ip = 127.0.0.1', 'mqtt.allow_anonymous = true',
    'loopback_users = none', 'log.console = false', 'log.file.level = warning', ''].join('\n'));
  fs.writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_web_mqtt].\n');
  const env = {
    HOME: dir, RABBITMQ_NODENAME: 'bench@localhost', RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'), RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'), RABBITMQ_PID_FILE: path.join(dir, 'pid'),
    RABBITMQ_PLUGINS_EXPAND_DIR: path.join(dir, 'plugins-expand'),
    // Erlang's schedulers busy-wait by default, which would steal the shared
    // cores from the other systems and the generator while idle.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+sbwt none +sbwtdcpu none +sbwtdio none',
  };
  epmdHomes.add(dir);
  const started = await brokerWithLoadgen('rabbitmq', o, workDir, '/usr/lib/rabbitmq/bin/rabbitmq-server',
    RABBIT_WS_PORT, '/ws', env);
  const { loadgen, brokerPid } = started;
  const adopt = setInterval(() => { for (const pid of descendants(brokerPid)) live.add(pid); }, 2000);
  adopt.unref();
  return {
    name: 'rabbitmq', loadgen, connectionHolder: 'rabbitmq',
    procs: () => {
      for (const pid of descendants(brokerPid)) live.add(pid);   // beam.smp outlives its script on a kill
      return [{ name: 'rabbitmq', pid: brokerPid, tree: true, server: true }];
    },
    async stop() {
      clearInterval(adopt);
      await loadgen.quit();
      // the server script's children (beam.smp, epmd) get the signal through the script
      for (const pid of descendants(brokerPid)) live.add(pid);
      await stopPid(brokerPid);
      for (const pid of descendants(brokerPid)) await stopPid(pid, 2000);
      await stopEpmd(dir);
    },
  };
}

/** epmd daemonizes away from the tree; find the one started with our HOME by its environment. */
function epmdPids(dir) {
  const out = [];
  for (const pid of allPids()) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'epmd') continue;
      if (fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`HOME=${dir}\0`)) out.push(pid);
    } catch { /* gone */ }
  }
  return out;
}

async function stopEpmd(dir) {
  for (const pid of epmdPids(dir)) await stopPid(pid, 2000);
  epmdHomes.delete(dir);
}

export function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Every descendant of pid (not pid itself), from /proc's parent links. */
export function descendants(pid) {
  const children = new Map();
  for (const p of allPids()) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(p);
    } catch { /* exited */ }
  }
  const out = [];
  const stack = [...(children.get(pid) || [])];
  while (stack.length && out.length < 10000) {
    const p = stack.pop();
    out.push(p);
    stack.push(...(children.get(p) || []));
  }
  return out;
}

export const STARTERS = { beseda: startBeseda, mosquitto: startMosquitto, rabbitmq: startRabbit };
export const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-bench-'));
