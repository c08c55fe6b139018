#!/usr/bin/env node
// The benchmark (docs/PERFORMANCE.md). For each visitor count V and each
// scenario, start beseda and the baselines and bring V visitors (+ V/20
// operators) to each:
//   warm  connect them in four batches while sampling the server's RSS, then
//         every visitor's first message at a fixed rate (the warm-up);
//   open  open every visitor's conversation first, --open-batch at a time
//         (connect, welcome, one message, assigned and answered), timed;
// then raise the Poisson offered rate step by step, alternating between the
// systems at each step, until each misses the SLO, and go on past capacity:
// 2x and 5x (--beyond) the last rate within the SLO, reporting goodput, errors
// and every process's peak RSS against its idle RSS there.
// Writes bench/results/latest.{json,md} and PNG plots (gnuplot).
//
//   node bench/run.mjs [--visitors 1000,5000] [--rates 500,1000,...] [--step-seconds 5]
//                      [--systems beseda,mosquitto,rabbitmq] [--scenarios warm,open]
//                      [--open-batch 20] [--beyond 2,5] [--smoke] [--out DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// systems.mjs (and through it the cluster harness) is imported in main(),
// after BESEDA_BUILD points at this run's own copy of the binaries.
let STARTERS, descendants, tmpDir;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLK_TCK = 100;
const SLO = { deliveryP99Us: 50000, ackP99Us: 100000 };
// Generator-side events that do not mean the system failed.
const BENIGN_ERRORS = new Set([]);

function parseArgs(argv) {
  const o = {
    visitors: [1000, 5000], rates: [500, 1000, 2000, 5000, 10000, 20000], stepSeconds: 5, drainSeconds: 5,
    systems: ['beseda', 'mosquitto', 'rabbitmq'], smoke: false, out: path.join(HERE, 'results'), textBytes: 64,
    seed: 1, routers: 2, fsync: true, warmRate: 200, batches: 4, perfRate: 0, confirm: true,
    scenarios: ['warm', 'open'], openBatch: 20, openTimeout: 900, beyond: [2, 5], settleSeconds: 30,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]; const v = () => argv[++i];
    if (a === '--visitors') o.visitors = v().split(',').map(Number);
    else if (a === '--rates') o.rates = v().split(',').map(Number);
    else if (a === '--step-seconds') o.stepSeconds = Number(v());
    else if (a === '--drain-seconds') o.drainSeconds = Number(v());
    else if (a === '--systems') o.systems = v().split(',');
    else if (a === '--out') o.out = path.resolve(v());
    else if (a === '--text-bytes') o.textBytes = Number(v());
    else if (a === '--routers') o.routers = Number(v());
    else if (a === '--no-fsync') o.fsync = false;
    else if (a === '--perf-rate') o.perfRate = Number(v());
    else if (a === '--no-confirm') o.confirm = false;
    else if (a === '--scenarios') o.scenarios = v().split(',');
    else if (a === '--open-batch') o.openBatch = Number(v());
    else if (a === '--open-timeout') o.openTimeout = Number(v());
    else if (a === '--beyond') { const b = v(); o.beyond = b === 'none' ? [] : b.split(',').map(Number); }
    else if (a === '--settle-seconds') o.settleSeconds = Number(v());
    else if (a === '--smoke') o.smoke = true;
    else { console.error(`unknown flag ${a}`); process.exit(2); }
  }
  if (o.smoke) {
    // Both scenarios, tiny, and nothing past capacity: the smoke test checks
    // that nothing is lost or duplicated, which overload is allowed to break;
    // a slow step is not tried again (speed is not judged here).
    Object.assign(o, { visitors: [100], rates: [200], stepSeconds: 3, systems: ['beseda'], batches: 1, warmRate: 200,
      scenarios: ['warm', 'open'], beyond: [], settleSeconds: 5, confirm: false });
    if (!argv.includes('--out')) o.out = path.join(HERE, '..', 'build', 'bench-smoke');
  }
  for (const s of o.systems) if (!['beseda', 'mosquitto', 'rabbitmq'].includes(s)) { console.error(`unknown system ${s}`); process.exit(2); }
  for (const s of o.scenarios) if (!['warm', 'open'].includes(s)) { console.error(`unknown scenario ${s}`); process.exit(2); }
  if (o.beyond.some((k) => !(k > 1))) { console.error('--beyond takes multiples above 1 (e.g. 2,5) or none'); process.exit(2); }
  return o;
}

function readStat(pid) {
  if (!pid) return { ticks: 0, rssKiB: 0 };
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number((status.match(/VmRSS:\s+(\d+)/) || [0, 0])[1]);
    return { ticks: Number(f[11]) + Number(f[12]), rssKiB: rss };
  } catch { return { ticks: 0, rssKiB: 0 }; }
}

/** CPU ticks and RSS of each measured process (a tree: summed over its descendants too). */
function sample(sys) {
  const out = {};
  for (const p of [...sys.procs(), { name: 'loadgen', pid: sys.loadgen.child.pid, tree: false }]) {
    const pids = p.tree && p.pid ? [p.pid, ...descendants(p.pid)] : [p.pid];
    const acc = { ticks: 0, rssKiB: 0, server: !!p.server };
    for (const pid of pids) { const s = readStat(pid); acc.ticks += s.ticks; acc.rssKiB += s.rssKiB; }
    out[p.name] = acc;
  }
  return out;
}

function serverRss(s) { return Object.values(s).filter((p) => p.server).reduce((a, p) => a + p.rssKiB, 0); }

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, p) => a + p[0], 0) / n, my = points.reduce((a, p) => a + p[1], 0) / n;
  const sxx = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxx ? points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / sxx : null;
}

async function connectAll(sys, o, V, log) {
  const points = [];
  await sleep(1000);
  let s = sample(sys);
  points.push({ connections: 0, holderKiB: s[sys.connectionHolder].rssKiB, serverKiB: serverRss(s) });
  let seconds = 0;
  const reports = [];
  for (let b = 1; b <= o.batches; b++) {
    const n = Math.round((V * b) / o.batches);
    const r = await sys.loadgen.command(`connect ${n}`, 240000);
    reports.push(r);
    seconds += r.seconds;
    log(`  ${sys.name}: ${r.ready_visitors}/${n} visitors, ${r.ready_operators}/${r.operators} operators in ${r.seconds.toFixed(2)} s`);
    await sleep(1500);     // let allocations settle before reading RSS
    s = sample(sys);
    points.push({ connections: r.ready_visitors + r.ready_operators, holderKiB: s[sys.connectionHolder].rssKiB, serverKiB: serverRss(s) });
  }
  const last = reports[reports.length - 1];
  return {
    connect_seconds: seconds, ready_visitors: last.ready_visitors, ready_operators: last.ready_operators,
    operators: last.operators, failed: last.failed, errors: reports.map((r) => r.errors),
    connect_latency_last_batch: last.connect_latency, rss_points: points,
    kib_per_conn_holder: slope(points.map((p) => [p.connections, p.holderKiB])),
    kib_per_conn_server: slope(points.map((p) => [p.connections, p.serverKiB])),
  };
}

function sloCheck(r) {
  const reasons = [];
  if (r.delivery.p99_us >= SLO.deliveryP99Us) reasons.push(`delivery p99 ${(r.delivery.p99_us / 1000).toFixed(1)} ms`);
  if (r.ack.p99_us >= SLO.ackP99Us) reasons.push(`ack p99 ${(r.ack.p99_us / 1000).toFixed(1)} ms`);
  const lost = r.lost.ack + r.lost.delivery + r.lost.reply;
  const dup = r.duplicated.ack + r.duplicated.delivery + r.duplicated.reply + r.duplicated.echo;
  if (lost) reasons.push(`${lost} lost`);
  if (r.rejected) reasons.push(`${r.rejected} refused`);
  if (dup) reasons.push(`${dup} duplicated`);
  const errs = Object.entries(r.errors).filter(([k]) => !BENIGN_ERRORS.has(k));
  if (errs.length) reasons.push(`errors ${errs.map(([k, v]) => `${k}=${v}`).join(',')}`);
  return { pass: reasons.length === 0, reasons };
}

/** Samples every process's RSS every half second until stopped; the peak of each. */
function watchRss(sys) {
  const peak = {};
  const take = () => { for (const [name, p] of Object.entries(sample(sys))) peak[name] = Math.max(peak[name] || 0, p.rssKiB); };
  take();
  const timer = setInterval(take, 500);
  return () => { clearInterval(timer); take(); return peak; };
}

/** RSS of each process with the system idle (after the setup, before any step). */
async function idleRss(sys, o) {
  await sleep(o.smoke ? 200 : 1500);     // let allocations settle before reading RSS
  return Object.fromEntries(Object.entries(sample(sys)).map(([name, p]) => [name, p.rssKiB]));
}

/** Waits (at most o.settleSeconds) until the system's server processes are quiet
 * (< 0.15 core over a second), so a backlog left by an overloaded step does not
 * eat into the next system's step; returns the seconds it took. */
async function settle(sys, o) {
  const t0 = Date.now();
  const cpuTicks = () => Object.values(sample(sys)).filter((p) => p.server).reduce((a, p) => a + p.ticks, 0);
  let before = cpuTicks();
  do {
    await sleep(1000);
    const now = cpuTicks();
    if ((now - before) / CLK_TCK < 0.15) break;
    before = now;
  } while (Date.now() - t0 < o.settleSeconds * 1000);
  return (Date.now() - t0) / 1000;
}

async function runStep(sys, o, rate, perf, idle) {
  const before = sample(sys);
  const t0 = Date.now();
  const perfRun = perf ? startPerf(sys, o, perf) : null;
  const stopWatch = watchRss(sys);
  let r, peak;
  try {
    r = await sys.loadgen.command(`step ${rate} ${o.stepSeconds} ${o.drainSeconds}`, (o.stepSeconds + o.drainSeconds + 60) * 1000);
  } finally {
    peak = stopWatch();
  }
  if (perfRun) finishPerf(perfRun);
  const after = sample(sys);
  const msgs = r.sent + r.replies_sent;
  const procs = {};
  let worst = null;
  for (const [name, a] of Object.entries(after)) {
    const cpuMs = ((a.ticks - (before[name]?.ticks || 0)) * 1000) / CLK_TCK;
    const idleKiB = idle?.[name] || null;
    const peakKiB = Math.max(peak[name] || 0, a.rssKiB);
    procs[name] = {
      cpu_ms: cpuMs, cpu_ms_per_1000_msgs: msgs ? (cpuMs * 1000) / msgs : null, rss_kib: a.rssKiB,
      rss_peak_kib: peakKiB, rss_idle_kib: idleKiB, server: a.server,
    };
    if (a.server && idleKiB && (!worst || peakKiB / idleKiB > worst.ratio)) worst = { process: name, ratio: peakKiB / idleKiB };
  }
  const serverCpu = Object.values(procs).filter((p) => p.server).reduce((a, p) => a + p.cpu_ms, 0);
  const slo = sloCheck(r);
  return {
    ...r, system: sys.name, wall_seconds: (Date.now() - t0) / 1000, messages_with_replies: msgs, processes: procs,
    server_cpu_ms_per_1000_msgs: msgs ? (serverCpu * 1000) / msgs : null,
    server_cpu_cores: serverCpu / 1000 / Math.max(0.001, r.seconds + r.drain_seconds),
    rss_worst: worst, slo_pass: slo.pass, slo_reasons: slo.reasons,
  };
}

/** perf record of the system's server processes during one step (optional). */
function startPerf(sys, o, perf) {
  const pids = sys.procs().filter((p) => p.server && p.name !== 'redis').map((p) => p.pid).join(',');
  const file = path.join(perf.dir, `perf-${sys.name}.data`);
  const p = execFileSync('sh', ['-c', `perf record -F 499 -g -o '${file}' -p ${pids} -- sleep ${o.stepSeconds} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
  return { pid: Number(p.trim()), file, name: sys.name, out: perf.out };
}

function finishPerf(run) {
  for (let i = 0; i < 100; i++) { try { process.kill(run.pid, 0); } catch { break; } spawnSync('sleep', ['0.1']); }
  const rep = spawnSync('perf', ['report', '-i', run.file, '--stdio', '--no-children', '--sort', 'comm,dso,symbol', '--percent-limit', '1.5'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const text = (rep.stdout || '').split('\n').filter((l) => /^\s+\d/.test(l)).slice(0, 40).join('\n');
  fs.writeFileSync(path.join(run.out, `perf-${run.name}.txt`), text + '\n');
}

function logStep(log, sys, rate, r) {
  const tag = r.retry ? ' (again)' : r.beyond ? ` (${r.beyond}x)` : '';
  log(`  ${sys.name.padEnd(9)} ${String(rate).padStart(6)}/s${tag}: sent ${r.offered_per_s.toFixed(0)}/s delivered ${r.delivered_per_s.toFixed(0)}/s `
    + `goodput ${(r.goodput_per_s ?? 0).toFixed(0)}/s, `
    + (r.rss_worst ? `RSS peak/idle ${r.rss_worst.ratio.toFixed(2)} (${r.rss_worst.process}), ` : '')
    + `ack p99 ${(r.ack.p99_us / 1000).toFixed(1)} ms, delivery p50/p99 ${(r.delivery.p50_us / 1000).toFixed(1)}/${(r.delivery.p99_us / 1000).toFixed(1)} ms `
    + `${r.slo_pass ? 'SLO ok' : 'SLO missed: ' + r.slo_reasons.join('; ')}`);
}

/** The open scenario's setup: every visitor's conversation opened, o.openBatch at a time. */
async function openAll(sys, o, V, log) {
  const r = await sys.loadgen.command(`open ${V} ${o.openBatch} ${o.openTimeout}`, (o.openTimeout + 60) * 1000);
  const lost = r.lost.ack + r.lost.delivery + r.lost.reply;
  log(`  ${sys.name}: opened ${r.opened}/${V} conversations in ${r.seconds.toFixed(2)} s (${r.conversations_per_s.toFixed(0)}/s, `
    + `batches of ${r.batch_size}, batch p50/p99 ${(r.batch.p50_us / 1000).toFixed(0)}/${(r.batch.p99_us / 1000).toFixed(0)} ms), `
    + `${r.ready_operators}/${r.operators} operators logged in in ${r.operators_seconds.toFixed(2)} s, ${lost} missing, errors ${JSON.stringify(r.errors)}`);
  return { open: r, ready_visitors: r.ready_visitors, ready_operators: r.ready_operators, operators: r.operators, failed: r.failed };
}

/** The rates past capacity for a system: each multiple of the last rate within
 * the SLO (of the lowest rate offered if none was), except those already offered. */
function beyondRates(steps, multiples) {
  const final = steps.filter((s) => !s.superseded);
  const ok = final.filter((s) => s.slo_pass).map((s) => s.rate);
  const offered = new Set(final.map((s) => s.rate));
  const base = ok.length ? Math.max(...ok) : Math.min(...offered);
  if (!Number.isFinite(base)) return [];
  return multiples.map((k) => ({ k, rate: Math.round(base * k) })).filter((b) => !offered.has(b.rate));
}

async function ladderFor(V, scenario, o, results, log) {
  const work = tmpDir();
  log(`== V=${V}, scenario ${scenario}: starting ${o.systems.join(', ')} (work dir ${work})`);
  const oV = { ...o, visitors: V };
  const systems = [];
  const block = { visitors: V, scenario, systems: {}, steps: [] };
  results.runs.push(block);
  const idle = {};
  try {
    for (const name of o.systems) {
      const t = Date.now();
      systems.push(await STARTERS[name](oV, work));
      log(`  ${name} started in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    for (const sys of systems) {
      if (scenario === 'open') {
        block.systems[sys.name] = await openAll(sys, o, V, log);
      } else {
        const conn = await connectAll(sys, o, V, log);
        const warm = await sys.loadgen.command(`warm ${o.warmRate} 120`, 300000);
        const lost = warm.lost.ack + warm.lost.delivery + warm.lost.reply;
        log(`  ${sys.name}: warm-up ${warm.sent} messages, ${lost} missing, errors ${JSON.stringify(warm.errors)}`);
        block.systems[sys.name] = { ...conn, warm };
      }
      idle[sys.name] = await idleRss(sys, o);
      block.systems[sys.name].idle_rss_kib = idle[sys.name];
    }
    const step = async (sys, rate, perf, extra) => {
      const r = { ...(await runStep(sys, o, rate, perf, idle[sys.name])), ...extra };
      r.settle_seconds = await settle(sys, o);
      return r;
    };
    const active = new Set(systems.map((s) => s.name));
    for (const rate of o.rates) {
      for (const sys of systems) {
        if (!active.has(sys.name)) continue;
        const perf = o.perfRate === rate && sys.name === 'beseda' && V === o.visitors[o.visitors.length - 1] && scenario === o.scenarios[0]
          ? { dir: work, out: o.out } : null;
        let r = await step(sys, rate, perf, {});
        if (!r.slo_pass && o.confirm) {
          // One miss on a shared 2-core machine may be a hiccup elsewhere:
          // the rate counts as missed only if a second try misses too.
          logStep(log, sys, rate, r);
          block.steps.push({ ...r, superseded: true });
          r = await step(sys, rate, null, { retry: true });
        }
        block.steps.push(r);
        logStep(log, sys, rate, r);
        if (!r.slo_pass) active.delete(sys.name);
      }
      if (!active.size) break;
    }
    // Past capacity: what the system still delivers when offered more than it
    // can carry (goodput should level off, not fall towards zero).
    const plans = Object.fromEntries(systems.map((sys) => [sys.name, beyondRates(block.steps.filter((s) => s.system === sys.name), o.beyond)]));
    for (const k of o.beyond) {
      for (const sys of systems) {
        const b = plans[sys.name].find((p) => p.k === k);
        if (!b) continue;
        const r = await step(sys, b.rate, null, { beyond: k });
        block.steps.push(r);
        logStep(log, sys, b.rate, r);
      }
    }
  } finally {
    for (const sys of systems) { try { await sys.stop(); } catch (e) { log(`  stopping ${sys.name}: ${e.message}`); } }
    if (!process.env.BESEDA_KEEP_BENCH_DIR) fs.rmSync(work, { recursive: true, force: true });
    else log(`  kept ${work}`);
  }
}

function machine() {
  const cpus = os.cpus();
  let pg = '', mosq = '', rabbit = '';
  try { pg = execFileSync('sh', ['-c', 'ls /usr/lib/postgresql | tail -1'], { encoding: 'utf8' }).trim(); } catch { /* none */ }
  try { mosq = execFileSync('sh', ['-c', "dpkg-query -W -f='${Version}' mosquitto"], { encoding: 'utf8' }); } catch { /* none */ }
  try { rabbit = execFileSync('sh', ['-c', "dpkg-query -W -f='${Version}' rabbitmq-server"], { encoding: 'utf8' }); } catch { /* none */ }
  return {
    cpu: cpus[0]?.model, cores: cpus.length, mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
    postgresql: pg, mosquitto: mosq, rabbitmq: rabbit,
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  // Our own temp root (the harness makes its clusters under os.tmpdir()):
  // other sessions on the machine clean up /tmp/beseda-test-* behind our back.
  process.env.TMPDIR = fs.mkdtempSync('/var/tmp/beseda-bench-root-');
  fs.chmodSync(process.env.TMPDIR, 0o755);   // PostgreSQL runs as postgres and must reach its data dir
  // A private copy of the binaries: other sessions rebuilding build/ while a
  // cluster starts would otherwise hand it half-written executables.
  const snap = path.join(process.env.TMPDIR, 'build');
  fs.mkdirSync(snap);
  for (const b of ['broker', 'gateway', 'router', 'store', 'loadgen']) {
    fs.copyFileSync(path.join(HERE, '..', 'build', `beseda-${b}`), path.join(snap, `beseda-${b}`));
    fs.chmodSync(path.join(snap, `beseda-${b}`), 0o755);
  }
  process.env.BESEDA_BUILD = snap;
  ({ STARTERS, descendants, tmpDir } = await import('./systems.mjs'));
  fs.mkdirSync(o.out, { recursive: true });
  const started = Date.now();
  const log = (m) => console.log(m);
  const results = {
    started: new Date().toISOString(), machine: machine(), slo: SLO,
    options: { ...o, out: undefined }, runs: [],
  };
  let failure = null;
  outer: for (const V of o.visitors) {
    for (const scenario of o.scenarios) {
      try { await ladderFor(V, scenario, o, results, log); } catch (e) {
        failure = e; log(`V=${V}, scenario ${scenario} failed: ${e.stack || e.message}`); break outer;
      }
    }
  }
  results.seconds = (Date.now() - started) / 1000;
  const base = o.smoke ? 'smoke' : 'latest';
  fs.writeFileSync(path.join(o.out, `${base}.json`), JSON.stringify(results, null, 1) + '\n');
  const { writeReport } = await import('./report.mjs');
  writeReport(results, o.out, base, { plots: !o.smoke });
  log(`wrote ${path.join(o.out, base + '.json')} and ${base}.md in ${results.seconds.toFixed(0)} s`);
  if (failure) process.exit(1);
  if (o.smoke) {
    // Smoke: fail only on the generator failing or on lost/duplicated messages.
    const bad = results.runs.flatMap((r) => r.steps).filter((s) => s.lost.ack + s.lost.delivery + s.lost.reply
      + s.duplicated.ack + s.duplicated.delivery + s.duplicated.reply > 0 || s.sent === 0);
    const setups = results.runs.flatMap((r) => Object.values(r.systems));
    const warmBad = setups.filter((s) => s.ready_visitors === 0 || (s.open && (s.open.opened === 0
      || s.open.lost.ack + s.open.lost.delivery + s.open.lost.reply + s.open.duplicated.ack + s.open.duplicated.delivery + s.open.duplicated.reply > 0)));
    if (bad.length || warmBad.length || !results.runs.every((r) => r.steps.length)) {
      console.error('bench-smoke: messages lost or duplicated, or nothing was sent');
      process.exit(1);
    }
    console.log('bench-smoke: no message lost or duplicated');
  }
}

function removeRoot() {
  if (process.env.TMPDIR?.startsWith('/var/tmp/beseda-bench-root-') && !process.env.BESEDA_KEEP_BENCH_DIR) {
    try { fs.rmSync(process.env.TMPDIR, { recursive: true, force: true }); } catch { /* gone */ }
  }
}
process.on('exit', removeRoot);
main().catch((e) => { console.error(e.stack || e.message); process.exit(1); });
