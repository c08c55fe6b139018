// A wrong configuration stops a process at start with a message naming the
// option and exit code 2 (or 1 when a resource cannot be had), never a crash
// later; --help documents every option. No cluster needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, freePort } from '../lib/cluster.mjs';

const BUILD = process.env.BESEDA_BUILD || path.join(ROOT, 'build');
const run = (bin, args, env = {}) => spawnSync(path.join(BUILD, bin), args,
  { env: { PATH: process.env.PATH, BESEDA_SECRET: 'a-secret-of-enough-length', ...env }, encoding: 'utf8', timeout: 10000 });

test('every binary answers --help with every option it reads', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/CONFIG.md'), 'utf8');
  for (const bin of ['beseda-broker', 'beseda-gateway', 'beseda-router', 'beseda-store']) {
    const r = run(bin, ['--help']);
    assert.equal(r.status, 0, `${bin} --help exits 0`);
    const envs = [...r.stdout.matchAll(/\bBESEDA_[A-Z_]+/g)].map((m) => m[0]);
    assert.ok(envs.length >= 3, `${bin} lists its variables`);
    for (const e of envs) assert.ok(doc.includes(e), `docs/CONFIG.md documents ${e}`);
  }
});

const refused = [
  ['beseda-store', ['--batch-max', 'abc'], {}, /batch-max.*BESEDA_BATCH_MAX/],
  ['beseda-router', [], { BESEDA_SECRET: '' }, /BESEDA_SECRET/],
  ['beseda-router', [], { BESEDA_SECRET: 'short' }, /BESEDA_SECRET.*16/],
  ['beseda-router', ['--presence-ttl-ms', '-5'], {}, /presence-ttl-ms|PRESENCE_TTL/],
  ['beseda-router', ['--geoip-db', '/nonexistent/GeoLite2-City.mmdb'], {}, /geoip-db.*BESEDA_GEOIP_DB.*GeoLite2-City\.mmdb.*No such file/],
  ['beseda-gateway', ['--http-port', '99999'], {}, /port/],
  ['beseda-gateway', ['--no-such-option', '1'], {}, /unknown option/],
  ['beseda-broker', ['stray-argument'], {}, /unexpected argument/],
  ['beseda-broker', ['--broker'], {}, /needs a value/],
];
for (const [bin, args, env, message] of refused) {
  test(`${bin} ${args.join(' ') || JSON.stringify(env)} is refused at start`, () => {
    const r = run(bin, args, env);
    assert.equal(r.status, 2, `exit 2, got ${r.status} (${r.signal || ''}) ${r.stderr}`);
    assert.match(r.stdout + r.stderr, message);
  });
}

test('an endpoint that cannot be bound stops the broker with a reason, not a crash', async () => {
  const port = await freePort();
  const r = run('beseda-broker', ['--broker', 'nonsense', '--broker-pub', `tcp://127.0.0.1:${port}`]);
  assert.ok(r.status === 1 || r.status === 2, `exit 1 or 2, got ${r.status} ${r.signal || ''}`);
  assert.match(r.stderr, /cannot bind.*nonsense/);
});
