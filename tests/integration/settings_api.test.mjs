// The settings and operators endpoints of the HTTP API (docs/PROTOCOL.md §3,
// docs/ROUTING.md): a site admin's PUT is validated by the store and read
// back by GET at once; a plain operator is refused the settings (403) but
// may list the site's operators with their presence status; a bad token is
// 401; a bad document is 400 with a message naming the field's path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { operator, visitor, clientId } from '../lib/client.mjs';

let c, site, admin, plain, adminWs, plainWs;
before(async () => {
  c = await startCluster({ gateways: 1, routers: 2 });
  site = c.site;
  const email = `admin-${Date.now()}@test.example`;
  const id = c.storeAdmin('create-operator', '--site', site.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Alla Admin', '--role', 'admin');
  admin = { id, email, password: 'correct horse battery' };
  plain = c.operator;
  adminWs = await operator(c.wsUrl(0, 'operator'), admin);
  plainWs = await operator(c.wsUrl(0, 'operator'), plain);
});
after(async () => {
  for (const cl of [adminWs, plainWs]) if (cl) cl.close();
  if (c) await c.stop();
});

async function api(method, path, { token, body } = {}) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON: the assertion below shows it */ }
  return { status: res.status, json, text, headers: res.headers };
}

const ROUTING = {
  timezone: 'Europe/Moscow',
  groups: [{ id: 'sales', name: 'Sales', operators: [] }],
  rules: [{ name: 'Everyone', match: {}, groups: ['sales'], mode: 'auto' }],
};

test('an admin PUTs a section and GETs it back at once; the version moves on', async () => {
  const token = adminWs.welcome.session;
  const before = await api('GET', '/settings', { token });
  assert.equal(before.status, 200, before.text);
  const routing = { ...ROUTING, groups: [{ ...ROUTING.groups[0], operators: [plain.id, admin.id] }] };
  const put = await api('PUT', '/settings/routing', { token, body: routing });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.version, before.json.version + 1);
  assert.equal(put.json.routing.timezone, 'Europe/Moscow');
  assert.deepEqual(put.json.routing.groups[0].operators, [plain.id, admin.id]);
  assert.equal(put.json.routing.rules[0].name, 'Everyone');
  const got = await api('GET', '/settings', { token });
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.routing, put.json.routing);
  assert.equal(got.json.version, put.json.version);
  assert.match(got.headers.get('content-type') || '', /application\/json/);

  const offline = await api('PUT', '/settings/offline', { token, body: {
    smtp_url: 'smtp://mail.example:587', smtp_user: 'u', smtp_password: 'hunter2-secret', from: 'chat@shop.example', to: ['support@shop.example'] } });
  assert.equal(offline.status, 200, offline.text);
  assert.ok(!offline.text.includes('hunter2-secret'), 'the SMTP password came back');
  assert.equal(offline.json.offline.smtp_password_set, true);
});

test('a bad document is 400 naming the path; an unknown section 404; nothing is written', async () => {
  const token = adminWs.welcome.session;
  const version = (await api('GET', '/settings', { token })).json.version;
  const bad = await api('PUT', '/settings/routing', { token, body: {
    ...ROUTING, rules: [ROUTING.rules[0], { name: 'Bad hours', match: {}, groups: ['sales'], hours: { mon: [['25:00', '18:00']] } }] } });
  assert.equal(bad.status, 400, bad.text);
  assert.equal(bad.json.error, 'bad_value');
  assert.match(bad.json.message, /rules\[1\]\.hours\.mon\[0\]/);
  const unknownGroup = await api('PUT', '/settings/routing', { token, body: { ...ROUTING, rules: [{ name: 'x', match: {}, groups: ['zzz'] }] } });
  assert.equal(unknownGroup.status, 400, unknownGroup.text);
  assert.match(unknownGroup.json.message, /rules\[0\]\.groups\[0\]/);
  const section = await api('PUT', '/settings/nosuch', { token, body: {} });
  assert.equal(section.status, 404, section.text);
  assert.equal((await api('GET', '/settings', { token })).json.version, version);
});

test('a plain operator may not read or change settings (403); a bad or missing token is 401', async () => {
  const token = plainWs.welcome.session;
  const get = await api('GET', '/settings', { token });
  assert.equal(get.status, 403, get.text);
  assert.equal(get.json.error, 'forbidden');
  const put = await api('PUT', '/settings/survey', { token, body: { enabled: true } });
  assert.equal(put.status, 403, put.text);
  for (const t of ['not-a-session', '']) {
    const r = await api('GET', '/settings', { token: t });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json.error, 'bad_session');
  }
  assert.equal((await api('GET', '/operators', { token: 'not-a-session' })).status, 401);
});

test('any operator of the site lists its operators with their presence status', async () => {
  const absent = await c.createOperator(site.id, { name: 'Oleg' });
  const r = await api('GET', '/operators', { token: plainWs.welcome.session });
  assert.equal(r.status, 200, r.text);
  const byId = Object.fromEntries(r.json.operators.map((o) => [o.id, o]));
  assert.deepEqual(byId[admin.id], { id: admin.id, name: 'Alla Admin', email: admin.email, role: 'admin', max_chats: 5, status: 'online' });
  assert.equal(byId[plain.id].role, 'operator');
  assert.equal(byId[plain.id].status, 'online');
  assert.equal(byId[absent.id].status, 'offline');
  assert.equal((await plainWs.request({ type: 'status', status: 'away' }, 'ok')).type, 'ok');
  const after = await api('GET', '/operators', { token: adminWs.welcome.session });
  assert.equal(after.json.operators.find((o) => o.id === plain.id).status, 'away');
  assert.ok(after.json.operators.every((o) => !('password_hash' in o)));
});

test('a settings change takes effect at once, without a restart: the next chat follows the new rule, the next welcome has the survey', async () => {
  const token = adminWs.welcome.session;
  // The test before left the plain operator away, and away gets no new chats.
  assert.equal((await plainWs.request({ type: 'status', status: 'online' }, 'ok')).type, 'ok');
  const routeTo = (op) => api('PUT', '/settings/routing', { token, body: {
    timezone: 'UTC', groups: [{ id: 'first', name: 'First', operators: [op.id] }],
    rules: [{ name: 'All to first', match: {}, groups: ['first'], mode: 'auto' }] } });
  const chatGoesTo = async (ws) => {
    const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
    const conv = v.welcome.conversation.id;
    const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hello' }, 'ack');
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const got = await ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: `assigned ${conv}` });
    assert.equal(got.conversation.rule, 'All to first');
    v.close();
  };
  assert.equal((await routeTo(plain)).status, 200);
  await chatGoesTo(plainWs);
  assert.equal((await routeTo(admin)).status, 200);
  await chatGoesTo(adminWs);
  const survey = await api('PUT', '/settings/survey', { token, body: { enabled: true, name: 'required', email: 'optional',
    phone: 'off', question: 'What do you need?', choices: ['Buy', 'Help'], question_required: true } });
  assert.equal(survey.status, 200, survey.text);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal(v.welcome.survey.enabled, true, JSON.stringify(v.welcome));
  assert.deepEqual([v.welcome.survey.name, v.welcome.survey.email, v.welcome.survey.phone], ['required', 'optional', 'off']);
  assert.deepEqual(v.welcome.survey.choices, ['Buy', 'Help']);
  v.close();
  assert.equal((await api('PUT', '/settings/survey', { token, body: { enabled: false } })).status, 200);
});

/** One raw HTTP/1.1 exchange over a socket of its own; resolves with the status line's code. */
function rawHttp(request) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(c.gatewayPorts[0], '127.0.0.1');
    let got = '';
    sock.on('data', (d) => { got += d; const m = /^HTTP\/1\.1 (\d+)/.exec(got); if (m && got.includes('\r\n\r\n')) { sock.destroy(); resolve(Number(m[1])); } });
    sock.on('error', reject);
    sock.on('close', () => { if (!/^HTTP/.test(got)) reject(new Error(`closed without an answer: ${got}`)); });
    sock.write(request);
  });
}

test('hostile HTTP: bodies too large, not JSON or not UTF-8, wrong methods and paths, foreign origins; the gateway carries on', async () => {
  const token = adminWs.welcome.session;
  const version = (await api('GET', '/settings', { token })).json.version;
  const huge = await api('PUT', '/settings/survey', { token, body: JSON.stringify({ enabled: true, question: 'x'.repeat(70000) }) });
  assert.equal(huge.status, 413, huge.text);
  assert.equal(huge.json.error, 'too_large');
  for (const body of ['{"enabled": tru', '[1,2]', '"text"', '{"a":1,"a":2}', '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]']) {
    const r = await api('PUT', '/settings/survey', { token, body });
    assert.equal(r.status, 400, `${body}: ${r.text}`);
    assert.equal(r.json.error, 'bad_json', r.text);
  }
  const bytes = Buffer.concat([Buffer.from('{"question":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const badUtf8 = await fetch(`${c.gatewayUrl(0)}/api/v1/settings/survey`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body: bytes });
  assert.equal(badUtf8.status, 400);
  assert.equal((await api('POST', '/settings', { token, body: {} })).status, 405);
  assert.equal((await api('PUT', '/operators', { token, body: {} })).status, 405);
  assert.equal((await api('GET', '/nothing-here', { token })).status, 404);
  assert.equal((await api('PUT', '/settings/../../etc', { token, body: {} })).status, 404);
  const foreign = await fetch(`${c.gatewayUrl(0)}/api/v1/operators`, { headers: { Authorization: `Bearer ${token}`, Origin: 'http://evil.example' } });
  assert.equal(foreign.status, 403);
  // A PUT without Content-Length (chunked) is 411; a client that hangs up while its request is out changes nothing.
  const chunked = await rawHttp(`PUT /api/v1/settings/survey HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
  assert.equal(chunked, 411);
  await new Promise((resolve) => {
    const sock = net.connect(c.gatewayPorts[0], '127.0.0.1', () => {
      sock.write(`GET /api/v1/settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      sock.destroy(); resolve();
    });
  });
  const after = await api('GET', '/settings', { token });
  assert.equal(after.status, 200, after.text);
  assert.equal(after.json.version, version, 'nothing was written');
  assert.deepEqual(c.problems(), []);
});

test('the API is rate-limited per client address (429), then serves again', async () => {
  const codes = await Promise.all([...Array(300)].map(() => api('GET', '/operators').then((r) => r.status)));
  assert.ok(codes.includes(429), `no 429 among ${[...new Set(codes)]}`);
  assert.ok(codes.every((s) => s === 401 || s === 429), `${[...new Set(codes)]}`);
  await waitFor(async () => (await api('GET', '/operators', { token: plainWs.welcome.session })).status === 200,
    { what: 'the bucket refilled', timeoutMs: 20000, intervalMs: 500 });
});

test('a saved settings section reaches the open consoles of its site at once: settings_changed with the groups, nothing for visitors or other sites', async () => {
  const token = adminWs.welcome.session;
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const other = await c.createSite('Other shop');
  const stranger = await c.createOperator(other.id, { name: 'Stranger' });
  const strangerWs = await operator(c.wsUrl(0, 'operator'), stranger);
  plainWs.frames.length = 0; // the tests before changed settings too
  try {
    const put = await api('PUT', '/settings/routing', { token, body: {
      timezone: 'UTC', groups: [{ id: 'late', name: 'Created after login', operators: [plain.id] }],
      rules: [{ name: 'Everyone', match: {}, groups: ['late'], mode: 'auto' }] } });
    assert.equal(put.status, 200, put.text);
    const changed = await plainWs.next((f) => f.type === 'settings_changed' && f.version === put.json.version,
      { what: 'settings_changed' });
    assert.equal(changed.section, 'routing');
    assert.deepEqual(changed.groups.map((g) => [g.id, g.name]), [['late', 'Created after login']]);
    await adminWs.next((f) => f.type === 'settings_changed' && f.version === put.json.version, { what: 'admin settings_changed' });
    // A refused PUT changes nothing and announces nothing; the next good one is the next frame.
    const bad = await api('PUT', '/settings/routing', { token, body: { timezone: 'Nowhere/Never', groups: [], rules: [] } });
    assert.equal(bad.status, 400, bad.text);
    const survey = await api('PUT', '/settings/survey', { token, body: { enabled: false } });
    assert.equal(survey.status, 200, survey.text);
    const next = await plainWs.next((f) => f.type === 'settings_changed' && f.version > put.json.version, { what: 'the next settings_changed' });
    assert.equal(next.section, 'survey');
    assert.equal(next.version, survey.json.version);
    assert.deepEqual(next.groups.map((g) => g.id), ['late']);
    // A round trip on each of the others' connections: the delivery would have come before it.
    assert.equal((await strangerWs.request({ type: 'status', status: 'online' }, 'ok')).type, 'ok');
    assert.ok(!strangerWs.frames.some((f) => f.type === 'settings_changed'), 'another site heard of it');
    const ping = await v.request({ type: 'send', conversation: v.welcome.conversation.id, client_id: clientId('m'), text: 'hi' }, 'ack');
    assert.equal(ping.type, 'ack');
    assert.ok(!v.frames.some((f) => f.type === 'settings_changed'), 'a visitor heard of it');
  } finally {
    strangerWs.close();
    v.close();
  }
});
