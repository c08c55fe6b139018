// Turns the benchmark's results into a Markdown table (<base>.md) and, with
// gnuplot, PNG plots: latency percentiles vs offered rate, server RSS vs
// connections, server CPU per 1000 messages vs offered rate, goodput vs
// offered rate (past capacity too).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ms = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 1);
const n0 = (x) => (x == null ? '–' : Number(x).toFixed(0));
const n1 = (x) => (x == null ? '–' : Number(x).toFixed(1));
const mib = (kib) => (kib == null ? '–' : (kib / 1024).toFixed(kib < 10240 ? 1 : 0));
const scenarioOf = (run) => run.scenario || 'warm';
const finalSteps = (run, system) => run.steps.filter((s) => s.system === system && !s.superseded);
const errorsText = (errors) => Object.entries(errors || {}).map(([k, v]) => `${k}: ${v}`).join(', ') || '–';
const stepKind = (s) => (s.beyond ? `${s.beyond}× past` : 'ladder');

function stepsTable(run) {
  const rows = ['| system | offered msg/s | sent/s | delivered/s | ack p50 / p99 / p99.9 ms | delivery p50 / p99 / p99.9 ms | reply p99 ms | lost | refused | dup | out of order | errors | server CPU ms / 1000 msgs | server cores | SLO |',
    '|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|'];
  for (const s of run.steps) {
    const lost = s.lost.ack + s.lost.delivery + s.lost.reply;
    const dup = s.duplicated.ack + s.duplicated.delivery + s.duplicated.reply + s.duplicated.echo;
    const errs = Object.entries(s.errors).map(([k, v]) => `${k}: ${v}`).join(', ') || '–';
    rows.push(`| ${s.system} | ${s.rate}${s.beyond ? ` (${s.beyond}×)` : ''} | ${n0(s.offered_per_s)} | ${n0(s.delivered_per_s)} | ${ms(s.ack.p50_us)} / ${ms(s.ack.p99_us)} / ${ms(s.ack.p999_us)} `
      + `| ${ms(s.delivery.p50_us)} / ${ms(s.delivery.p99_us)} / ${ms(s.delivery.p999_us)} | ${ms(s.reply.p99_us)} | ${lost} | ${s.rejected ?? 0} | ${dup} | ${s.out_of_order} | ${errs} `
      + `| ${n1(s.server_cpu_ms_per_1000_msgs)} | ${s.server_cpu_cores.toFixed(2)} | ${s.slo_pass ? 'ok' : 'missed'}${s.superseded ? ' (first try; tried again)' : ''} |`);
  }
  return rows.join('\n');
}

function processTable(run, system) {
  const steps = run.steps.filter((s) => s.system === system && !s.superseded);
  if (!steps.length) return '';
  const names = Object.keys(steps[0].processes);
  const rows = [`| offered msg/s | ${names.join(' | ')} |`, `|---:|${names.map(() => '---:').join('|')}|`];
  const idle = run.systems[system]?.idle_rss_kib;
  if (idle) rows.push(`| idle | ${names.map((n) => `${mib(idle[n])} MiB`).join(' | ')} |`);
  for (const s of steps) {
    const cell = (p) => `${n1(p?.cpu_ms_per_1000_msgs)} ms, ${mib(p?.rss_kib || 0)} MiB${p?.rss_peak_kib != null ? ` (peak ${mib(p.rss_peak_kib)})` : ''}`;
    rows.push(`| ${s.rate}${s.beyond ? ` (${s.beyond}×)` : ''} | ${names.map((n) => cell(s.processes[n])).join(' | ')} |`);
  }
  return rows.join('\n');
}

/** Goodput, errors and memory of every step, the steps past capacity included. */
function capacityTable(run) {
  const rows = ['| system | offered msg/s | step | goodput msg/s | % of peak | delivered/s | delivery p50 / p99 ms | not delivered | refused | errors by code | highest RSS peak / idle | settle s |',
    '|---|---:|---|---:|---:|---:|---|---:|---:|---|---|---:|'];
  for (const name of Object.keys(run.systems)) {
    const steps = finalSteps(run, name);
    const peak = Math.max(0, ...steps.map((s) => s.goodput_per_s || 0));
    for (const s of steps) {
      const pct = peak ? `${((100 * (s.goodput_per_s || 0)) / peak).toFixed(0)} %` : '–';
      const w = s.rss_worst ? `${s.rss_worst.ratio.toFixed(2)}× (${s.rss_worst.process})` : '–';
      rows.push(`| ${name} | ${s.rate} | ${stepKind(s)} | ${n0(s.goodput_per_s)} | ${pct} | ${n0(s.delivered_per_s)} `
        + `| ${ms(s.delivery.p50_us)} / ${ms(s.delivery.p99_us)} | ${s.lost.delivery} | ${s.rejected ?? 0} | ${errorsText(s.errors)} | ${w} | ${n1(s.settle_seconds)} |`);
    }
  }
  return rows.join('\n');
}

/** Per system and run: does goodput hold past capacity, and does memory stay bounded? */
function collapseSummary(results) {
  const rows = ['| visitors | scenario | system | last rate within the SLO | peak goodput msg/s (at offered) | goodput at 2× | goodput at 5× | highest RSS peak / idle | a process above 2× its idle RSS |',
    '|---:|---|---|---:|---|---|---|---|---|'];
  for (const run of results.runs) {
    for (const name of Object.keys(run.systems)) {
      const steps = finalSteps(run, name);
      if (!steps.length) continue;
      const ok = steps.filter((s) => s.slo_pass && !s.beyond).map((s) => s.rate);
      const best = steps.reduce((a, s) => ((s.goodput_per_s || 0) > (a.goodput_per_s || 0) ? s : a), steps[0]);
      const peak = best.goodput_per_s || 0;
      // k× the last rate within the SLO (of the lowest offered if none): a step
      // past capacity, or a ladder step when the ladder had offered it already
      const base = ok.length ? Math.max(...ok) : Math.min(...steps.map((x) => x.rate));
      const at = (k) => {
        const s = steps.find((x) => x.beyond === k) || steps.find((x) => x.rate === Math.round(base * k));
        return s ? `${n0(s.goodput_per_s)} (${peak ? ((100 * (s.goodput_per_s || 0)) / peak).toFixed(0) : '–'} % of peak, at ${s.rate})` : 'not offered';
      };
      const worst = steps.map((s) => s.rss_worst).filter(Boolean).reduce((a, w) => (!a || w.ratio > a.ratio ? w : a), null);
      const above = [...new Set(steps.flatMap((s) => Object.entries(s.processes || {})
        .filter(([, p]) => p.server && p.rss_idle_kib && p.rss_peak_kib > 2 * p.rss_idle_kib).map(([n]) => n)))];
      rows.push(`| ${run.visitors} | ${scenarioOf(run)} | ${name} | ${ok.length ? Math.max(...ok) : 'none'} | ${n0(peak)} (${best.rate}) | ${at(2)} | ${at(5)} `
        + `| ${worst ? `${worst.ratio.toFixed(2)}× (${worst.process})` : '–'} | ${worst ? (above.length ? `yes: ${above.join(', ')}` : 'no') : '–'} |`);
    }
  }
  return rows.join('\n');
}

function openTable(results) {
  const rows = ['| visitors | system | conversations opened | of | time to open all, s | conversations/s | batch size | batch p50 / p99 ms | operators logged in, s | failed | not delivered | errors |',
    '|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|'];
  for (const run of results.runs) {
    for (const [name, c] of Object.entries(run.systems)) {
      const r = c.open;
      if (!r) continue;
      rows.push(`| ${run.visitors} | ${name} | ${r.opened} | ${r.visitors} | ${r.seconds.toFixed(2)} | ${n0(r.conversations_per_s)} | ${r.batch_size} `
        + `| ${ms(r.batch.p50_us)} / ${ms(r.batch.p99_us)} | ${r.operators_seconds.toFixed(2)} | ${r.failed} | ${r.lost.delivery} | ${errorsText(r.errors)} |`);
    }
  }
  return rows.join('\n');
}

function connTable(results) {
  const rows = ['| visitors | system | connections (incl. operators) | time to connect all, s | connect p99 ms (last batch) | KiB per idle connection: connection holder | KiB per idle connection: all server processes |',
    '|---:|---|---:|---:|---:|---:|---:|'];
  for (const run of results.runs) {
    for (const [name, c] of Object.entries(run.systems)) {
      if (!c.rss_points) continue;
      rows.push(`| ${run.visitors} | ${name} | ${c.ready_visitors + c.ready_operators} | ${c.connect_seconds.toFixed(2)} | ${ms(c.connect_latency_last_batch.p99_us)} `
        + `| ${n1(c.kib_per_conn_holder)} | ${n1(c.kib_per_conn_server)} |`);
    }
  }
  return rows.join('\n');
}

function maxPassing(results) {
  const rows = ['| visitors | scenario | system | highest offered rate within the SLO | first rate that missed it (why) |', '|---:|---|---|---:|---|'];
  for (const run of results.runs) {
    for (const name of Object.keys(run.systems)) {
      const steps = finalSteps(run, name).filter((s) => !s.beyond);
      const ok = steps.filter((s) => s.slo_pass).map((s) => s.rate);
      const miss = steps.find((s) => !s.slo_pass);
      rows.push(`| ${run.visitors} | ${scenarioOf(run)} | ${name} | ${ok.length ? Math.max(...ok) : 'none'} | ${miss ? `${miss.rate} (${miss.slo_reasons.join('; ')})` : 'not reached'} |`);
    }
  }
  return rows.join('\n');
}

function markdown(results) {
  const m = results.machine;
  const parts = [`# Benchmark results (${results.started})`, '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.mem_gib} GiB, Linux ${m.kernel}; PostgreSQL ${m.postgresql}, mosquitto ${m.mosquitto}, RabbitMQ ${m.rabbitmq}. `
    + `Run took ${results.seconds.toFixed(0)} s. SLO: delivery p99 < ${results.slo.deliveryP99Us / 1000} ms, ack p99 < ${results.slo.ackP99Us / 1000} ms, nothing lost or duplicated, no errors.`,
    '', '## Highest rate within the SLO', '', maxPassing(results), '', '## Past capacity: goodput and memory', '', collapseSummary(results)];
  if (results.runs.some((r) => scenarioOf(r) === 'warm')) parts.push('', '## Connections and idle memory (scenario warm)', '', connTable(results));
  if (results.runs.some((r) => scenarioOf(r) === 'open')) parts.push('', '## Opening every conversation (scenario open)', '', openTable(results));
  for (const run of results.runs) {
    parts.push('', `## ${run.visitors} visitors, ${Object.values(run.systems)[0]?.operators ?? '?'} operators, scenario ${scenarioOf(run)}`, '', stepsTable(run),
      '', 'Goodput, errors and memory per step (past capacity included):', '', capacityTable(run));
    for (const name of Object.keys(run.systems)) {
      const t = processTable(run, name);
      if (t) parts.push('', `CPU ms per 1000 messages and RSS per process, ${name}:`, '', t);
    }
  }
  return parts.join('\n') + '\n';
}

function gnuplot(script, cwd) {
  const r = spawnSync('gnuplot', [], { input: script, cwd, encoding: 'utf8' });
  if (r.status !== 0) console.error(`gnuplot failed: ${r.stderr || r.error}`);
}

function plots(results, out) {
  const dataDir = path.join(out, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const term = "set terminal pngcairo size 1000,620 font 'DejaVu Sans,10'";
  const lat = [];
  const cpu = [];
  for (const run of results.runs) {
    for (const name of Object.keys(run.systems)) {
      const f = `lat-${name}-${run.visitors}-${scenarioOf(run)}.dat`;
      const rows = finalSteps(run, name).slice().sort((a, b) => a.rate - b.rate)
        .map((s) => [s.offered_per_s, s.delivery.p50_us / 1000, s.delivery.p99_us / 1000, s.delivery.p999_us / 1000, s.ack.p99_us / 1000, s.server_cpu_ms_per_1000_msgs, s.goodput_per_s ?? 0].join(' '));
      fs.writeFileSync(path.join(dataDir, f), '# offered delivery_p50 delivery_p99 delivery_p999 ack_p99 (ms) server_cpu_ms_per_1000 goodput_per_s\n' + rows.join('\n') + '\n');
      lat.push({ f, title: `${name}, ${run.visitors} visitors, ${scenarioOf(run)}` });
    }
  }
  const rss = [];
  const byName = {};
  for (const run of results.runs) for (const [name, c] of Object.entries(run.systems)) (byName[name] ||= []).push(...(c.rss_points || []).map((p) => [p.connections, p.serverKiB / 1024, p.holderKiB / 1024]));
  for (const [name, pts] of Object.entries(byName)) {
    pts.sort((a, b) => a[0] - b[0]);
    fs.writeFileSync(path.join(dataDir, `rss-${name}.dat`), '# connections server_rss_mib holder_rss_mib\n' + pts.map((p) => p.join(' ')).join('\n') + '\n');
    rss.push(name);
  }
  const color = (i) => ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'][i % 6];
  const latLines = (col, dash) => lat.map((l, i) => `'data/${l.f}' using 1:${col} with linespoints lc rgb '${color(i)}' dt ${dash} pt 7 title '${l.title}'`);
  gnuplot(`${term}\nset output 'latency-p99.png'\nset title 'p99 latency vs offered rate (solid: delivery to operator, dashed: ack)'\n`
    + "set logscale xy\nset xlabel 'offered visitor messages/s'\nset ylabel 'ms'\nset grid\nset key top left\n"
    + "set arrow from graph 0, first 50 to graph 1, first 50 nohead dt 3 lc rgb 'red'\n"
    + `plot ${[...latLines(3, 1), ...latLines(5, 2).map((s) => s.replace(/title '([^']*)'/, "notitle"))].join(', \\\n  ')}\n`, out);
  gnuplot(`${term}\nset output 'latency-delivery.png'\nset title 'delivery latency percentiles vs offered rate (p50 dashed, p99 solid, p99.9 dotted)'\n`
    + "set logscale xy\nset xlabel 'offered visitor messages/s'\nset ylabel 'ms'\nset grid\nset key top left\n"
    + `plot ${[...latLines(3, 1), ...latLines(2, 2).map((s) => s.replace(/title '([^']*)'/, 'notitle')), ...latLines(4, 3).map((s) => s.replace(/title '([^']*)'/, 'notitle'))].join(', \\\n  ')}\n`, out);
  gnuplot(`${term}\nset output 'cpu.png'\nset title 'server CPU per 1000 messages (visitor messages + replies)'\n`
    + "set logscale x\nset xlabel 'offered visitor messages/s'\nset ylabel 'CPU ms / 1000 messages'\nset grid\nset key top right\n"
    + `plot ${lat.map((l, i) => `'data/${l.f}' using 1:6 with linespoints lc rgb '${color(i)}' pt 7 title '${l.title}'`).join(', \\\n  ')}\n`, out);
  gnuplot(`${term}\nset output 'goodput.png'\nset title 'goodput (visitor messages + replies delivered while sending, per s) vs offered rate, past capacity too'\n`
    + "set logscale xy\nset xlabel 'offered visitor messages/s'\nset ylabel 'delivered messages/s'\nset grid\nset key top left\n"
    + `plot ${lat.map((l, i) => `'data/${l.f}' using 1:7 with linespoints lc rgb '${color(i)}' pt 7 title '${l.title}'`).join(', \\\n  ')}\n`, out);
  gnuplot(`${term}\nset output 'rss.png'\nset title 'server RSS vs idle connections (solid: all server processes, dashed: the process holding the sockets)'\n`
    + "set xlabel 'connections (visitors + operators)'\nset ylabel 'MiB'\nset grid\nset key top left\n"
    + `plot ${rss.map((n, i) => `'data/rss-${n}.dat' using 1:2 with linespoints lc rgb '${color(i)}' pt 7 title '${n}', 'data/rss-${n}.dat' using 1:3 with linespoints lc rgb '${color(i)}' dt 2 pt 6 notitle`).join(', \\\n  ')}\n`, out);
}

export function writeReport(results, out, base, { plots: withPlots }) {
  fs.writeFileSync(path.join(out, `${base}.md`), markdown(results));
  if (withPlots) plots(results, out);
}
