// GeoIP (docs/ROUTING.md "GeoIP"): the routers read a MaxMind DB file
// (BESEDA_GEOIP_DB) that tests/lib/mmdb.mjs writes, since Debian ships none.
// The gateway trusts 127.0.0.1 as a balancer, so a test client names its
// address with X-Forwarded-For. A rule on country sends the Russian visitor's
// chat to the Russian group and the American's to everyone else; the visit
// and the conversation record the place; a country the client sends is
// ignored; nothing personal reaches the info log. A router whose database
// cannot be opened stops at start; without one, nothing changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, operator, clientId } from '../lib/client.mjs';
import { writeGeoipFixture } from '../lib/geoip_fixture.mjs';

const BUILD = process.env.BESEDA_BUILD || path.join(ROOT, 'build');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beseda-geoip-'));
const db = path.join(dir, 'test-city.mmdb');
writeGeoipFixture(db);

let c;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 2,
    env: { BESEDA_GEOIP_DB: db, BESEDA_TRUSTED_PROXIES: '127.0.0.1' } });
});
after(async () => {
  if (c) await c.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const setRouting = (cl, site, routing) => cl.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}',
  '${JSON.stringify(routing)}') ON CONFLICT (site_id) DO UPDATE SET routing = EXCLUDED.routing`);
const convRow = (cl, conv) => {
  const [r] = cl.sql(`SELECT state, coalesce(operator_id::text, ''), country, city, route_rule
                        FROM conversations WHERE id = '${conv}'`);
  return r ? { state: r[0], operator: r[1], country: r[2], city: r[3], rule: r[4] } : null;
};
const lastVisit = (cl, visitorId) => {
  const [r] = cl.sql(`SELECT country, city, ip FROM visits WHERE visitor_id = '${visitorId}'
                        ORDER BY created_at DESC LIMIT 1`);
  return r ? { country: r[0], city: r[1], ip: r[2] } : null;
};

/** A visitor whose address the balancer (X-Forwarded-For) says is `ip`; page as the widget sends it. */
async function visitorFrom(cl, site, ip, page = { url: 'http://shop.test/', title: 'Shop' }) {
  const v = await Client.connect(cl.wsUrl(0, 'visitor'), { headers: ip ? { 'X-Forwarded-For': ip } : {} });
  const w = await v.request({ type: 'hello', site: site.id, page }, 'welcome');
  assert.equal(w.type, 'welcome', JSON.stringify(w));
  v.welcome = w;
  return v;
}
async function chatFrom(cl, site, ip, page) {
  const v = await visitorFrom(cl, site, ip, page);
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hello?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await waitFor(() => convRow(cl, conv)?.state === 'assigned', { what: 'chat assigned' });
  return { v, conv, row: convRow(cl, conv) };
}

/** A site with an operator in a Russian group and one in a group for everyone. */
async function russiaSite(cl, label) {
  const site = await cl.createSite(label);
  const ru = await cl.createOperator(site.id, { name: 'Olga' });
  const all = await cl.createOperator(site.id, { name: 'Oliver' });
  setRouting(cl, site, {
    groups: [{ id: 'ru', name: 'Russian', operators: [ru.id] }, { id: 'all', name: 'Everyone', operators: [all.id] }],
    rules: [{ name: 'Russia', match: { country: 'RU' }, groups: ['ru'] }, { name: 'Rest', match: {}, groups: ['all'] }],
  });
  ru.ws = await operator(cl.wsUrl(0, 'operator'), ru);
  all.ws = await operator(cl.wsUrl(0, 'operator'), all);
  return { site, ru, all };
}

test('the test database is a MaxMind DB: mmdblookup reads it', () => {
  const r = spawnSync('mmdblookup', ['-f', db, '-i', '77.88.1.2', 'city', 'names', 'en'], { encoding: 'utf8' });
  assert.equal(r.error?.code, undefined, 'mmdblookup is installed (Debian package mmdb-bin; scripts/deps.sh)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /"Moscow" <utf8_string>/);
  const us = spawnSync('mmdblookup', ['-f', db, '-i', '8.8.8.8', 'country', 'iso_code'], { encoding: 'utf8' });
  assert.match(us.stdout, /"US" <utf8_string>/);
  const none = spawnSync('mmdblookup', ['-f', db, '-i', '10.0.0.1'], { encoding: 'utf8' });
  assert.match(none.stdout + none.stderr, /Could not find an entry/);
});

test('a rule on country: the Russian visitor\'s chat goes to the Russian group, the American\'s to the rest; visit and conversation carry the place', async () => {
  const { site, ru, all } = await russiaSite(c, 'GeoIP shop');
  const moscow = await chatFrom(c, site, '77.88.1.2');
  assert.equal(moscow.row.operator, ru.id, 'Olga (group ru) has the Russian visitor');
  assert.deepEqual([moscow.row.country, moscow.row.city, moscow.row.rule], ['RU', 'Moscow', 'Russia']);
  const visit = lastVisit(c, moscow.v.welcome.visitor_id);
  assert.deepEqual([visit.country, visit.city, visit.ip], ['RU', 'Moscow', '77.88.1.2']);
  const a1 = await ru.ws.next((f) => f.type === 'assigned' && f.conversation.id === moscow.conv, { what: 'assigned to Olga' });
  assert.equal(a1.conversation.rule, 'Russia');
  assert.deepEqual([a1.conversation.page.country, a1.conversation.page.city], ['RU', 'Moscow'], 'the operator sees the place');
  assert.ok(!JSON.stringify(moscow.v.frames).includes('Moscow'), 'the visitor is not told where they are');

  const usa = await chatFrom(c, site, '8.8.8.8');
  assert.equal(usa.row.operator, all.id, 'Oliver (group all) has the American visitor');
  assert.deepEqual([usa.row.country, usa.row.city, usa.row.rule], ['US', 'Mountain View', 'Rest']);
  await all.ws.next((f) => f.type === 'assigned' && f.conversation.id === usa.conv, { what: 'assigned to Oliver' });

  // An address the database does not hold (the balancer itself, a private one): unknown, the rest.
  const local = await chatFrom(c, site, null);
  assert.deepEqual([local.row.operator, local.row.country, local.row.city], [all.id, '', '']);
  const lan = await chatFrom(c, site, '10.1.2.3');
  assert.deepEqual([lan.row.operator, lan.row.country, lan.row.city], [all.id, '', '']);

  // The page's country and city are never the client's word.
  const forged = await chatFrom(c, site, '8.8.8.8', { url: 'http://shop.test/', country: 'RU', city: 'Moscow' });
  assert.deepEqual([forged.row.operator, forged.row.country, forged.row.city], [all.id, 'US', 'Mountain View']);

  // The welcome's `available` is the route of this visitor's place: Olga away -> not for Russians.
  const away = await ru.ws.request({ type: 'status', status: 'away' }, 'ok');
  assert.equal(away.type, 'ok', JSON.stringify(away));
  await waitFor(async () => (await visitorFrom(c, site, '77.88.9.9')).welcome.available === false,
    { what: 'Russian visitor: nobody of the rule available' });
  assert.equal((await visitorFrom(c, site, '8.8.4.4')).welcome.available, true, 'the rest still answered');
  for (const x of [moscow, usa, local, lan, forged]) x.v.close();
  ru.ws.close(); all.ws.close();

  const logs = ['router-0', 'router-1'].map((n) => c.proc(n).log()).join('\n');
  assert.match(logs, /geoip database open/);
  assert.doesNotMatch(logs, /77\.88\.1\.2|Moscow|Mountain View/, 'no address or place in the info log');
});

test('a rule on city (case-insensitive); IPv6 and IPv4-mapped addresses; the first name when there is no English one', async () => {
  const site = await c.createSite('City shop');
  const msk = await c.createOperator(site.id, { name: 'Masha' });
  const spb = await c.createOperator(site.id, { name: 'Pyotr' });
  const rest = await c.createOperator(site.id, { name: 'Rita' });
  setRouting(c, site, {
    groups: [{ id: 'msk', name: 'Moscow', operators: [msk.id] }, { id: 'spb', name: 'Piter', operators: [spb.id] },
      { id: 'rest', name: 'Rest', operators: [rest.id] }],
    rules: [{ name: 'Moscow', match: { city: 'moscow' }, groups: ['msk'] },
      { name: 'Piter', match: { city: 'Санкт-Петербург' }, groups: ['spb'] },
      { name: 'Rest', match: {}, groups: ['rest'] }],
  });
  for (const o of [msk, spb, rest]) o.ws = await operator(c.wsUrl(0, 'operator'), o);
  const v6 = await chatFrom(c, site, '2a02:6b8::7');
  assert.deepEqual([v6.row.operator, v6.row.country, v6.row.city], [msk.id, 'RU', 'Moscow']);
  const mapped = await chatFrom(c, site, '::ffff:77.88.3.4');
  assert.deepEqual([mapped.row.operator, mapped.row.city], [msk.id, 'Moscow']);
  const piter = await chatFrom(c, site, '77.88.200.1');
  assert.deepEqual([piter.row.operator, piter.row.country, piter.row.city], [spb.id, 'RU', 'Санкт-Петербург']);
  const de = await chatFrom(c, site, '5.6.7.8');
  assert.deepEqual([de.row.operator, de.row.country, de.row.city], [rest.id, 'DE', '']);
  for (const x of [v6, mapped, piter, de]) x.v.close();
  for (const o of [msk, spb, rest]) o.ws.close();
});

const router = (env) => spawnSync(path.join(BUILD, 'beseda-router'), [],
  { env: { PATH: process.env.PATH, BESEDA_SECRET: 'a-secret-of-enough-length', ...env }, encoding: 'utf8', timeout: 10000 });

test('a router whose GeoIP database cannot be opened stops at start with the reason, exit 2', () => {
  const missing = router({ BESEDA_GEOIP_DB: path.join(dir, 'nope.mmdb') });
  assert.equal(missing.status, 2, `${missing.status} ${missing.signal || ''} ${missing.stderr}`);
  assert.match(missing.stderr, /BESEDA_GEOIP_DB.*nope\.mmdb.*No such file/);
  const junk = path.join(dir, 'junk.mmdb');
  fs.writeFileSync(junk, 'not a database\n');
  const bad = router({ BESEDA_GEOIP_DB: junk });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /BESEDA_GEOIP_DB.*junk\.mmdb.*(metadata|MaxMind)/i);
  const notFile = router({ BESEDA_GEOIP_DB: dir });
  assert.equal(notFile.status, 2, notFile.stderr);
  assert.match(notFile.stderr, /not a regular file/);
});

test('without BESEDA_GEOIP_DB the place is unknown and rules on country match nobody, as before', async () => {
  const plain = await startCluster({ gateways: 1, routers: 1, env: { BESEDA_TRUSTED_PROXIES: '127.0.0.1' } });
  try {
    const { site, all, ru } = await russiaSite(plain, 'No GeoIP shop');
    const moscow = await chatFrom(plain, site, '77.88.1.2');
    assert.deepEqual([moscow.row.operator, moscow.row.country, moscow.row.city, moscow.row.rule], [all.id, '', '', 'Rest']);
    assert.equal(lastVisit(plain, moscow.v.welcome.visitor_id).ip, '77.88.1.2', 'the address is still recorded');
    assert.match(plain.proc('router-0').log(), /geoip off/);
    moscow.v.close(); ru.ws.close(); all.ws.close();
  } finally {
    await plain.stop();
  }
});
