// Hostile input against routing, transfer, team chat, visitor forms and the
// HTTP API, through the real processes
// (one gateway, two routers), by someone who read only docs/PROTOCOL.md:
// the frames accept, transfer, team_send, team_sync, survey, offline,
// transcript and status busy; the HTTP API (/api/v1/settings[/<section>],
// /api/v1/operators, /api/v1/status); settings documents that are huge,
// deep, wide, of the wrong types or pathological. Tenant walls: an operator
// of site B never accepts, transfers, reads or configures anything of site
// A; a visitor never gets operator-only frames nor another visitor's chat.
// After every attack the processes are alive (no crash in c.problems(),
// /healthz, a bystander chat still works) and nothing was written that
// should not be (SQL).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { Client, visitor, operator, clientId } from '../lib/client.mjs';

let c;
let A, B;          // { site, admin, ops: [..] } with .ws on each
let bystander;     // a visitor of a third site whose chat must keep working

async function admin(site, name) {
  const email = `admin-${Math.random().toString(36).slice(2, 10)}@test.example`;
  const id = c.storeAdmin('create-operator', '--site', site.id, '--email', email, '--password', 'correct horse battery',
    '--name', name, '--role', 'admin');
  return { id, email, password: 'correct horse battery', name, siteId: site.id };
}

async function tenant(label, names) {
  const site = await c.createSite(label);
  const adm = await admin(site, `${label} admin`);
  adm.ws = await operator(c.wsUrl(0, 'operator'), adm);
  const ops = [];
  for (const name of names) {
    const op = await c.createOperator(site.id, { name });
    op.ws = await operator(c.wsUrl(0, 'operator'), op);
    ops.push(op);
  }
  return { site, admin: adm, ops };
}

before(async () => {
  c = await startCluster({ gateways: 1, routers: 2 });
  A = await tenant('Site A', ['Anna', 'Boris', 'Clara']);
  B = await tenant('Site B', ['Xenia']);
  bystander = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
});

after(async () => {
  if (!c) return;
  try {
    await alive('the end');
  } finally {
    for (const t of [A, B]) for (const o of t ? [t.admin, ...t.ops] : []) o.ws?.close();
    bystander?.close();
    await c.stop();
  }
});

/** The processes survived: nothing crashed, the gateway serves, a normal chat works. */
async function alive(what) {
  assert.deepEqual(c.problems(), [], `no crash after ${what}`);
  for (const name of ['gateway-0', 'router-0', 'router-1', 'store-0', 'broker'])
    assert.ok(c.proc(name).running, `${name} runs after ${what}`);
  const h = await fetch(`${c.gatewayUrl(0)}/healthz`);
  assert.equal(h.status, 200, `/healthz after ${what}`);
  const conv = bystander.welcome.conversation.id;
  const a = await bystander.request({ type: 'send', conversation: conv, client_id: clientId('by'), text: `still here after ${what}` }, 'ack',
    { timeoutMs: 15000 });
  assert.equal(a.type, 'ack', `a bystander chat works after ${what}: ${JSON.stringify(a)}`);
}

/** One HTTP API request; a 429 (20 requests/s per address) is waited out unless retry429 is false. */
async function api(method, path, { token, body, headers = {}, retry429 = true } = {}) {
  for (let i = 0; ; i++) {
    const r = await apiOnce(method, path, { token, body, headers });
    if (r.status !== 429 || !retry429 || i >= 20) return r;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function apiOnce(method, path, { token, body, headers }) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* the assertion shows the text */ }
  return { status: res.status, json, text, headers: res.headers };
}

/** One raw HTTP/1.1 request; resolves the whole answer as text (the server closes or we stop at 2 s). */
function rawHttp(request, { waitMs = 2000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(c.gatewayPorts[0], '127.0.0.1');
    let got = '';
    const done = () => { sock.destroy(); resolve(got); };
    const t = setTimeout(done, waitMs);
    sock.on('data', (d) => { got += d.toString('latin1'); });
    sock.on('close', () => { clearTimeout(t); resolve(got); });
    sock.on('error', () => { clearTimeout(t); resolve(got); });
    sock.write(request);
  });
}

const version = (site) => Number((c.sql(`SELECT coalesce((SELECT version FROM site_settings WHERE site_id = '${site.id}'), 0)`)[0] || ['0'])[0]);
const count = (sql) => Number(c.sql(sql)[0][0]);
const UUID0 = '00000000-0000-4000-8000-000000000000';

/** Sends frame on cl and expects an error with code (and the connection still usable). */
async function expectError(cl, frame, code, what) {
  cl.send(frame);
  const e = await cl.next((f) => f.type === 'error', { what: `error ${code} for ${what}` });
  assert.equal(e.code, code, `${what}: ${JSON.stringify(e)}`);
  assert.ok(e.message && e.message.length > 0, `${what}: the error says why`);
  return e;
}
const pingOk = async (cl) => assert.equal((await cl.request({ type: 'ping' }, 'pong')).type, 'pong');

/** A fresh operator connection of op (the shared one stays clean of rate-limit debt). */
const fresh = (op) => operator(c.wsUrl(0, 'operator'), op);

async function setRouting(t, routing) {
  const r = await api('PUT', '/settings/routing', { token: t.admin.ws.welcome.session, body: routing });
  assert.equal(r.status, 200, r.text);
  return r;
}

async function chat(site, page) {
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id, page ? { page } : {});
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'hello?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return { v, conv };
}

// ------------------------------------------------------------ frames

test('operator frames of routing, transfer and team chat with wrong types, missing and oversized fields', async () => {
  const op = await fresh(A.ops[0]);
  const long = 'x'.repeat(3000);
  const cases = [
    [{ type: 'accept' }, 'missing_field'],
    [{ type: 'accept', conversation: 5 }, 'missing_field'],
    [{ type: 'accept', conversation: ['a'] }, 'missing_field'],
    [{ type: 'accept', conversation: 'not-a-uuid' }, 'no_conversation'],
    [{ type: 'accept', conversation: long }, 'field_too_long'],
    [{ type: 'accept', conversation: UUID0 }, 'no_conversation'],
    [{ type: 'transfer', conversation: UUID0 }, 'missing_field'],
    [{ type: 'transfer', conversation: UUID0, to_operator: 7 }, 'missing_field'],
    [{ type: 'transfer', conversation: UUID0, to_operator: 'bob' }, 'bad_value'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'Sales!' }, 'bad_value'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'g'.repeat(33) }, 'bad_value'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'sales', to_operator: UUID0 }, 'bad_value'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'sales', note: 'n'.repeat(2001) }, 'field_too_long'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'sales', note: 'bell\u0007' }, 'bad_value'],
    [{ type: 'transfer', conversation: UUID0, to_group: 'sales', note: { html: '<b>' } }, 'missing_field'],
    [{ type: 'team_send', text: 'no id' }, 'missing_field'],
    [{ type: 'team_send', client_id: 'x'.repeat(65), text: 'hi' }, 'field_too_long'],
    [{ type: 'team_send', client_id: 't1', text: 42 }, 'missing_field'],
    [{ type: 'team_send', client_id: 't1', text: '   ' }, 'empty_text'],
    [{ type: 'team_send', client_id: 't1', text: 'я'.repeat(4097) }, 'text_too_long'],
    [{ type: 'team_send', client_id: 't1', text: 'nul\u0000' }, 'bad_json'],
    [{ type: 'team_send', client_id: 't1', text: 'esc\u001b[31m' }, 'bad_value'],
    [{ type: 'team_sync', after: -1 }, 'bad_value'],
    [{ type: 'team_sync', after: '12' }, 'missing_field'],
    [{ type: 'team_sync', after: 1.5 }, 'missing_field'],
    [{ type: 'status', status: 'offline' }, 'bad_value'],
    [{ type: 'status', status: 'BUSY' }, 'bad_value'],
    [{ type: 'status', status: true }, 'missing_field'],
    // Visitor frames on the operator endpoint do not exist there.
    [{ type: 'survey', name: 'x' }, 'unknown_type'],
    [{ type: 'offline', client_id: 'o', email: 'a@b.c', text: 'x' }, 'unknown_type'],
    [{ type: 'transcript', conversation: UUID0, email: 'a@b.c' }, 'unknown_type'],
  ];
  // Slower than the rate limit (5/s, burst 20): every frame gets its own answer.
  for (const [i, [frame, code]] of cases.entries()) {
    if (i && i % 15 === 0) await new Promise((r) => setTimeout(r, 3000));
    await expectError(op, frame, code, JSON.stringify(frame).slice(0, 80));
  }
  op.close();
  assert.equal(count(`SELECT count(*) FROM team_messages WHERE site_id = '${A.site.id}'`), 0, 'no team message was stored');
  await alive('bad operator frames');
});

test('visitor frames of the survey, offline and transcript forms with wrong types, missing and oversized fields; operator frames do not exist for visitors', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), A.site.id);
  const cases = [
    [{ type: 'survey', name: 5 }, 'missing_field'],
    [{ type: 'survey', name: 'n'.repeat(101) }, 'field_too_long'],
    [{ type: 'survey', email: 'not an address' }, 'bad_value'],
    [{ type: 'survey', email: 'a@b@c' }, 'bad_value'],
    [{ type: 'survey', email: 'a@b.c\r\nBcc: victim@x.example' }, 'bad_value'],
    [{ type: 'survey', phone: 'p'.repeat(33) }, 'field_too_long'],
    [{ type: 'survey', answer: 'a'.repeat(201) }, 'field_too_long'],
    [{ type: 'survey', name: 'Ivan' }, 'bad_value'],           // the site has no survey
    [{ type: 'offline', email: 'a@b.c', text: 'x' }, 'missing_field'],
    [{ type: 'offline', client_id: 'o1', text: 'no way back' }, 'missing_field'],
    [{ type: 'offline', client_id: 'o1', email: 'a@b.c' }, 'missing_field'],
    [{ type: 'offline', client_id: 'o1', email: 'a@b.c', text: 'я'.repeat(4097) }, 'text_too_long'],
    [{ type: 'offline', client_id: 'o1', phone: 'call me', text: 'x' }, 'bad_value'],
    [{ type: 'offline', client_id: 'o1', name: 'Eve\u0001', email: 'a@b.c', text: 'x' }, 'bad_value'],
    [{ type: 'transcript', conversation: v.welcome.conversation.id }, 'missing_field'],
    [{ type: 'transcript', conversation: 'x', email: 'a@b.c' }, 'no_conversation'],
    [{ type: 'transcript', conversation: v.welcome.conversation.id, email: 'a b@c.d' }, 'bad_value'],
    [{ type: 'accept', conversation: v.welcome.conversation.id }, 'unknown_type'],
    [{ type: 'transfer', conversation: v.welcome.conversation.id, to_group: 'sales' }, 'unknown_type'],
    [{ type: 'team_send', client_id: 't', text: 'let me in' }, 'unknown_type'],
    [{ type: 'team_sync', after: 0 }, 'unknown_type'],
    [{ type: 'status', status: 'busy' }, 'unknown_type'],
    [{ type: 'history', visitor: UUID0 }, 'unknown_type'],
  ];
  for (const [i, [frame, code]] of cases.entries()) {
    if (i && i % 15 === 0) await new Promise((r) => setTimeout(r, 3000));
    await expectError(v, frame, code, JSON.stringify(frame).slice(0, 80));
  }
  await pingOk(v);
  v.close();
  assert.equal(count(`SELECT count(*) FROM offline_messages WHERE site_id = '${A.site.id}'`), 0, 'no offline message was stored');
  assert.equal(count(`SELECT count(*) FROM mail_outbox WHERE site_id = '${A.site.id}'`), 0, 'no mail was queued');
  await alive('bad visitor frames');
});

test('a visitor never gets operator-only frames: no team_message, ring, missed, note', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), A.site.id);
  const op = A.ops[0].ws;
  const t = await op.request({ type: 'team_send', client_id: clientId('t'), text: 'secret team talk' }, 'team_ack');
  assert.equal(t.type, 'team_ack', JSON.stringify(t));
  const { v: v2, conv } = await chat(A.site);
  await new Promise((r) => setTimeout(r, 500));
  for (const cl of [v, v2]) {
    const bad = cl.frames.filter((f) => ['team_message', 'ring', 'ring_end', 'missed', 'status', 'assigned', 'team_messages'].includes(f.type)
      || JSON.stringify(f).includes('secret team talk') || (f.conversation && typeof f.conversation === 'object'
        && ('note' in f.conversation || 'transferred_by' in f.conversation || 'ringing' in f.conversation || 'rule' in f.conversation)));
    assert.deepEqual(bad, [], 'visitor got operator-only data');
  }
  // The other visitor of the same site cannot read, mail or write that chat.
  await expectError(v, { type: 'sync', conversation: conv }, 'forbidden', 'sync of another visitor\'s chat');
  await expectError(v, { type: 'transcript', conversation: conv, email: 'thief@evil.example' }, 'forbidden', 'transcript of another visitor\'s chat');
  await expectError(v, { type: 'typing', conversation: conv, text: 'x' }, 'forbidden', 'typing into another visitor\'s chat');
  assert.equal(count(`SELECT count(*) FROM mail_outbox WHERE conversation_id = '${conv}'`), 0, 'no transcript was queued');
  v.close(); v2.close();
  await alive('visitor walls');
});

// ------------------------------------------------------- tenant walls

test('tenant walls: site B\'s operator never accepts, transfers, syncs or reads site A\'s chats, room or settings', async () => {
  const [anna, boris, clara] = A.ops;
  const xenia = B.ops[0];
  await setRouting(A, {
    groups: [{ id: 'sales', name: 'Sales', operators: [anna.id, boris.id, clara.id] }],
    rules: [{ name: 'Ring all', match: {}, groups: ['sales'], mode: 'ring', notify: 3, response_limit_s: 60 }],
  });
  const { v, conv } = await chat(A.site);
  await anna.ws.next((f) => f.type === 'ring' && f.conversation.id === conv, { what: 'ring for Anna' });
  const x = await fresh(xenia);
  // PROTOCOL.md: "an existing conversation that is not yours is forbidden".
  const attempts = [
    ['accept', { type: 'accept', conversation: conv }],
    ['sync', { type: 'sync', conversation: conv }],
    ['close', { type: 'close', conversation: conv }],
    ['typing', { type: 'typing', conversation: conv }],
    ['send', { type: 'send', conversation: conv, client_id: clientId('x'), text: 'hijack' }],
  ];
  const codes = {};
  for (const [what, frame] of attempts) {
    x.send(frame);
    codes[what] = (await x.next('error', { what })).code;
  }
  assert.deepEqual(codes, Object.fromEntries(attempts.map(([what]) => [what, 'forbidden'])), 'B on A\'s chat');
  // Transfers of A's chat by B, to B's own colleague or to A's operator: refused.
  for (const frame of [{ type: 'transfer', conversation: conv, to_operator: B.admin.id },
    { type: 'transfer', conversation: conv, to_operator: boris.id }]) {
    x.send(frame);
    const e = await x.next('error', { what: 'transfer refusal' });
    assert.ok(['forbidden', 'no_conversation', 'bad_value'].includes(e.code), JSON.stringify(e));
  }
  assert.equal(count(`SELECT count(*) FROM conversation_notes WHERE conversation_id = '${conv}'`), 0, 'no transfer happened');
  const h = await x.request({ type: 'history', visitor: v.welcome.visitor_id }, 'history');
  assert.ok(h.type === 'error' || (h.conversations || []).length === 0, `B reads A's visitor history: ${JSON.stringify(h).slice(0, 300)}`);
  assert.ok(!x.frames.some((f) => f.type === 'ring'), 'B never rings for A\'s chat');

  // Anna accepts; she cannot hand it to B's operator (online) or to a B group.
  assert.equal((await anna.ws.request({ type: 'accept', conversation: conv }, 'ok')).type, 'ok');
  await anna.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  await expectError(anna.ws, { type: 'transfer', conversation: conv, to_operator: xenia.id }, 'bad_value', 'A transfers to B\'s operator');
  await expectError(anna.ws, { type: 'transfer', conversation: conv, to_operator: B.admin.id }, 'bad_value', 'A transfers to B\'s admin');
  await expectError(anna.ws, { type: 'transfer', conversation: conv, to_operator: anna.id }, 'bad_value', 'A transfers to herself');
  await expectError(anna.ws, { type: 'transfer', conversation: conv, to_group: 'nosuchgroup' }, 'bad_value', 'A transfers to no group');
  const [row] = c.sql(`SELECT operator_id FROM conversations WHERE id = '${conv}'`);
  assert.equal(row[0], anna.id, 'the chat stays with Anna');

  // Team rooms are per site.
  const secret = `A-only ${Date.now()}`;
  assert.equal((await boris.ws.request({ type: 'team_send', client_id: clientId('t'), text: secret }, 'team_ack')).type, 'team_ack');
  const xs = await x.request({ type: 'team_sync', after: 0 }, 'team_messages');
  assert.equal(xs.type, 'team_messages');
  assert.ok(!JSON.stringify(xs).includes(secret), 'B reads A\'s team room');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!x.frames.concat(xenia.ws.frames).some((f) => JSON.stringify(f).includes(secret)), 'B got a team_message of A');

  // Settings: B's admin token reads and writes only B; a group naming A's operator is refused.
  const bTok = B.admin.ws.welcome.session;
  const got = await api('GET', '/settings', { token: bTok });
  assert.equal(got.status, 200, got.text);
  assert.ok(!got.text.includes(anna.id), 'B\'s admin sees A\'s routing');
  const vA = version(A.site);
  const steal = await api('PUT', '/settings/routing', { token: bTok, body: {
    groups: [{ id: 'sales', name: 'Stolen', operators: [anna.id] }], rules: [{ name: 'x', groups: ['sales'] }] } });
  assert.equal(steal.status, 400, steal.text);
  assert.match(steal.json.message, /groups\[0\]\.operators\[0\]/);
  assert.equal(version(A.site), vA, 'A\'s settings untouched');
  const ops = await api('GET', '/operators', { token: xenia.ws.welcome.session });
  assert.equal(ops.status, 200, ops.text);
  assert.ok(!ops.text.includes(anna.id) && !ops.text.includes(A.admin.email), 'B lists A\'s operators');
  // A plain operator (and B's operators) may not change settings.
  const plain = await api('PUT', '/settings/routing', { token: anna.ws.welcome.session, body: { rules: [] } });
  assert.equal(plain.status, 403, plain.text);
  assert.equal((await api('GET', '/settings', { token: anna.ws.welcome.session })).status, 403);
  // Status through the API changes only the token's own operator.
  const st = await api('PUT', '/status', { token: xenia.ws.welcome.session, body: { status: 'busy', operator: anna.id } });
  assert.equal(st.status, 200, st.text);
  assert.equal(st.json.operator, xenia.id, 'the status is always the token\'s own');
  await api('PUT', '/status', { token: xenia.ws.welcome.session, body: { status: 'online' } });
  x.close(); v.close();
  assert.equal(count(`SELECT count(*) FROM messages WHERE conversation_id = '${conv}' AND body = 'hijack'`), 0);
  await alive('tenant walls');
});

// ------------------------------------------------------ concurrency

test('three accepts at once: exactly one wins; many transfers at once: exactly one applies', async () => {
  const [anna, boris, clara] = A.ops;
  const { v, conv } = await chat(A.site);
  await Promise.all([anna, boris, clara].map((o) => o.ws.next((f) => f.type === 'ring' && f.conversation.id === conv, { what: `ring ${o.name}` })));
  const answers = await Promise.all([anna, boris, clara].map((o) => o.ws.request({ type: 'accept', conversation: conv }, 'ok')));
  const won = answers.filter((a) => a.type === 'ok');
  assert.equal(won.length, 1, JSON.stringify(answers));
  assert.deepEqual(answers.filter((a) => a.type === 'error').map((a) => a.code), ['already_taken', 'already_taken']);
  const winner = [anna, boris, clara][answers.findIndex((a) => a.type === 'ok')];
  await winner.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  const others = [anna, boris, clara].filter((o) => o !== winner);
  // Twelve transfers of the chat at once, to both colleagues: one applies, the rest are refused.
  const sent = [];
  for (let i = 0; i < 12; i++) {
    winner.ws.send({ type: 'transfer', conversation: conv, to_operator: others[i % 2].id, note: `t${i}` });
    sent.push(i);
  }
  const replies = [];
  while (replies.length < 12)
    replies.push(await winner.ws.next((f) => (f.type === 'ok' && f.ref === 'transfer') || (f.type === 'error' && f.ref === 'transfer'), { what: 'transfer reply' }));
  assert.equal(replies.filter((r) => r.type === 'ok').length, 1, JSON.stringify(replies));
  assert.equal(count(`SELECT count(*) FROM messages WHERE conversation_id = '${conv}' AND author_kind = 'system'`), 1, 'one system message');
  await v.next((f) => f.type === 'message' && f.author?.kind === 'system', { what: 'the visitor hears who joined' });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!v.frames.some((f) => /"note"|transferred_by|"ringing"|"rule"|"deadline"/.test(JSON.stringify(f))),
    `the visitor got operator-only fields: ${JSON.stringify(v.frames).slice(0, 400)}`);
  assert.equal(count(`SELECT count(*) FROM conversation_notes WHERE conversation_id = '${conv}'`), 1, 'one note');
  const [owner] = c.sql(`SELECT operator_id FROM conversations WHERE id = '${conv}'`);
  assert.ok(others.some((o) => o.id === owner[0]), 'the chat went to one colleague');
  const total = count(`SELECT sum(open_chats) FROM operators WHERE site_id = '${A.site.id}'`);
  const open = count(`SELECT count(*) FROM conversations WHERE site_id = '${A.site.id}' AND state = 'assigned'`);
  assert.equal(total, open, 'open_chats counters match the assigned chats');
  v.close();
  await alive('accept and transfer races');
});

test('team_send from many consoles at once: gapless seqs, duplicates answered once; a flood is rate limited', async () => {
  const before = count(`SELECT coalesce(max(seq), 0) FROM team_messages WHERE site_id = '${A.site.id}'`);
  const consoles = await Promise.all([...A.ops, A.admin].map((o) => fresh(o)));
  const id = clientId('dup');
  const acks = await Promise.all(consoles.flatMap((cl, i) => [
    cl.request({ type: 'team_send', client_id: `${id}-${i}`, text: `from ${i}` }, 'team_ack'),
  ]));
  assert.ok(acks.every((a) => a.type === 'team_ack'), JSON.stringify(acks));
  // The same console sends one client_id three times at once.
  const same = consoles[0];
  for (let i = 0; i < 3; i++) same.send({ type: 'team_send', client_id: `${id}-again`, text: 'once' });
  const d = [];
  while (d.length < 3) d.push(await same.next('team_ack'));
  assert.equal(new Set(d.map((a) => a.seq)).size, 1, JSON.stringify(d));
  assert.equal(d.filter((a) => !a.duplicate).length, 1, JSON.stringify(d));
  const seqs = c.sql(`SELECT seq FROM team_messages WHERE site_id = '${A.site.id}' AND seq > ${before} ORDER BY seq`).map((r) => Number(r[0]));
  assert.deepEqual(seqs, Array.from({ length: consoles.length + 1 }, (_, i) => before + 1 + i), 'gapless');
  // A flood: 300 frames at once from one console; at most the operator's
  // burst (200, refilled at 50/s while the flood is read) gets through.
  const flood = consoles[1];
  for (let i = 0; i < 300; i++) flood.send({ type: 'team_send', client_id: `${id}-flood-${i}`, text: `flood ${i}` });
  await flood.next((f) => f.type === 'error' && f.code === 'rate_limited', { what: 'rate_limited' });
  await new Promise((r) => setTimeout(r, 1500));
  const flooded = count(`SELECT count(*) FROM team_messages WHERE site_id = '${A.site.id}' AND client_msg_id LIKE '${id}-flood-%'`);
  assert.ok(flooded > 0 && flooded <= 260, `flood stored ${flooded}`);
  for (const cl of consoles) cl.close();
  await alive('team floods');
});

test('offline and transcript: retries are harmless; at most 3 transcripts; a flood of offline forms is rate limited', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), B.site.id);
  const id = clientId('off');
  for (let i = 0; i < 3; i++) v.send({ type: 'offline', client_id: id, email: 'ivan@example.ru', name: 'Ivan\r\nBcc: x@evil.example', text: 'call me' });
  for (let i = 0; i < 3; i++) {
    const r = await v.next((f) => f.ref === 'offline' || f.type === 'error', { what: 'offline answer' });
    assert.equal(r.type, 'ok', JSON.stringify(r));
  }
  assert.equal(count(`SELECT count(*) FROM offline_messages WHERE site_id = '${B.site.id}' AND client_msg_id = '${id}'`), 1);
  const [name] = c.sql(`SELECT name FROM offline_messages WHERE client_msg_id = '${id}'`);
  assert.ok(!/[\r\n]/.test(name[0]), 'the stored name is one line');
  const subj = c.sql(`SELECT subject FROM mail_outbox WHERE site_id = '${B.site.id}'`);
  assert.ok(subj.every((r) => !/[\r\n]/.test(r[0])), 'no line break in a subject');
  // Transcripts: 3, then rate_limited.
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hi' }, 'ack')).type, 'ack');
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await v.request({ type: 'transcript', conversation: conv, email: 'ivan@example.ru' }, 'ok'));
  assert.deepEqual(answers.map((a) => a.type === 'ok' ? 'ok' : a.code), ['ok', 'ok', 'ok', 'rate_limited', 'rate_limited']);
  assert.equal(count(`SELECT count(*) FROM mail_outbox WHERE conversation_id = '${conv}' AND kind = 'transcript'`), 3);
  // A visitor of site A asks for B's conversation.
  const va = await visitor(c.wsUrl(0, 'visitor'), A.site.id);
  await expectError(va, { type: 'transcript', conversation: conv, email: 'thief@evil.example' }, 'forbidden', 'transcript of another site\'s chat');
  // A flood of offline forms: the rate limit stops it.
  const f = await visitor(c.wsUrl(0, 'visitor'), B.site.id);
  for (let i = 0; i < 60; i++) f.send({ type: 'offline', client_id: `${id}-f${i}`, email: 'a@b.example', text: 'spam' });
  await f.next((x) => x.type === 'error' && x.code === 'rate_limited', { what: 'rate_limited' });
  await new Promise((r) => setTimeout(r, 1500));
  const stored = count(`SELECT count(*) FROM offline_messages WHERE client_msg_id LIKE '${id}-f%'`);
  assert.ok(stored <= 25, `offline flood stored ${stored}`);
  v.close(); va.close(); f.close();
  await alive('offline and transcripts');
});

// ------------------------------------------------------------- settings

test('hostile settings documents are refused with a path, and nothing is written', async () => {
  const token = A.admin.ws.welcome.session;
  const anna = A.ops[0];
  const g = [{ id: 'sales', name: 'Sales', operators: [anna.id] }];
  const rule = (extra) => ({ name: 'r', match: {}, groups: ['sales'], ...extra });
  const nest = (d) => (d ? { a: nest(d - 1) } : 1);
  const v0 = version(A.site);
  const cases = [
    ['routing', '[]', 400, /bad_json|bad_value/],
    ['routing', '"routing"', 400],
    ['routing', '{"rules": [}', 400],
    ['routing', '{"timezone":"UTC","timezone":"UTC"}', 400],
    ['routing', JSON.stringify(nest(40)), 400],
    ['routing', { groups: g, rules: [rule({ deep: nest(10) })] }, 400, /rules\[0\]\.deep/],
    ['routing', { color: 'red' }, 400, /color/],
    ['routing', { groups: 'sales' }, 400, /groups/],
    ['routing', { groups: [{ id: 'Sales', name: 'x' }] }, 400, /groups\[0\]\.id/],
    ['routing', { groups: [{ id: 'a', name: 'x' }, { id: 'a', name: 'y' }] }, 400, /groups\[1\]\.id/],
    ['routing', { groups: [{ id: 'a', name: '' }] }, 400, /groups\[0\]\.name/],
    ['routing', { groups: [{ id: 'a', name: 'x', operators: ['nope'] }] }, 400, /operators\[0\]/],
    ['routing', { groups: [{ id: 'a', name: 'x', operators: [anna.id, anna.id.toUpperCase()] }] }, 400, /operators\[1\]/],
    ['routing', { groups: [{ id: 'a', name: 'x', operators: [UUID0] }] }, 400, /operators\[0\]/],
    ['routing', { groups: Array.from({ length: 101 }, (_, i) => ({ id: `g${i}`, name: 'g' })) }, 400, /groups/],
    ['routing', { groups: g, rules: Array.from({ length: 101 }, () => rule()) }, 400, /rules/],
    ['routing', { groups: g, rules: [rule({ groups: [] })] }, 400, /rules\[0\]\.groups/],
    ['routing', { groups: g, rules: [rule({ groups: ['other'] })] }, 400, /rules\[0\]\.groups\[0\]/],
    ['routing', { groups: g, rules: [rule({ mode: 'RING' })] }, 400, /mode/],
    ['routing', { groups: g, rules: [rule({ notify: 0 })] }, 400, /notify/],
    ['routing', { groups: g, rules: [rule({ notify: 1e300 })] }, 400, /notify/],
    ['routing', { groups: g, rules: [rule({ notify: '3' })] }, 400, /notify/],
    ['routing', { groups: g, rules: [rule({ response_limit_s: 4 })] }, 400, /response_limit_s/],
    ['routing', { groups: g, rules: [rule({ response_limit_s: -1 })] }, 400, /response_limit_s/],
    ['routing', { groups: g, rules: [rule({ match: { url: '' } })] }, 400, /match\.url/],
    ['routing', { groups: g, rules: [rule({ match: { url: 'x'.repeat(1001) } })] }, 400, /match\.url/],
    ['routing', { groups: g, rules: [rule({ match: { url: Array(51).fill('*') } })] }, 400, /match\.url/],
    ['routing', { groups: g, rules: [rule({ match: { url: [] } })] }, 400, /match\.url/],
    ['routing', { groups: g, rules: [rule({ match: { url: [1] } })] }, 400, /match\.url\[0\]/],
    ['routing', { groups: g, rules: [rule({ match: { country: 'RUS' } })] }, 400, /country/],
    ['routing', { groups: g, rules: [rule({ match: { ip: '1.2.3.4' } })] }, 400, /match\.ip/],
    ['routing', { groups: g, rules: [rule({ match: [] })] }, 400, /match/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['24:01', '24:00']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['09:00', '24:01']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['09:60', '10:00']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['9:00', '10:00']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['10:00', '09:00']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [['10:00']] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: [[900, 1000]] } })] }, 400, /hours\.mon\[0\]/],
    ['routing', { groups: g, rules: [rule({ hours: { monday: [] } })] }, 400, /hours\.monday/],
    ['routing', { groups: g, rules: [rule({ hours: { mon: Array(11).fill(['09:00', '10:00']) } })] }, 400, /hours\.mon/],
    ['routing', { timezone: 'Mars/Olympus_Mons' }, 400, /timezone/],
    ['routing', { timezone: '../../etc/passwd' }, 400, /timezone/],
    ['routing', { timezone: "Europe/Moscow'; DROP TABLE sites; --" }, 400, /timezone/],
    ['routing', { timezone: 'UTC+15:00' }, 400, /timezone/],
    ['routing', { timezone: 'UTC+3' }, 400, /timezone/],
    ['routing', { timezone: 'x'.repeat(65) }, 400, /timezone/],
    ['routing', { timezone: 3 }, 400, /timezone/],
    ['survey', { enabled: 'yes' }, 400, /enabled/],
    ['survey', { enabled: true, name: 'maybe' }, 400, /name/],
    ['survey', { enabled: true, question: 'q', choices: Array(21).fill('a') }, 400, /choices/],
    ['survey', { enabled: true, question: 'q', choices: ['a', 'a'] }, 400, /choices\[1\]/],
    ['survey', { enabled: true, choices: ['a'] }, 400, /choices/],
    ['survey', { enabled: true, question_required: true }, 400, /question_required/],
    ['offline', { smtp_url: 'smtp://mail.example:25\r\nRCPT TO:<victim@x.example>' }, 400, /smtp_url/],
    ['offline', { smtp_url: 'file:///etc/passwd' }, 400, /smtp_url/],
    ['offline', { smtp_url: 'http://169.254.169.254/latest/meta-data/' }, 400, /smtp_url/],
    ['offline', { smtp_url: 'gopher://127.0.0.1:6379/_FLUSHALL' }, 400, /smtp_url/],
    ['offline', { smtp_url: 'SMTP://x' }, 400, /smtp_url/],
    ['offline', { smtp_url: 'smtp://a b' }, 400, /smtp_url/],
    ['offline', { smtp_url: `smtp://${'a'.repeat(501)}` }, 400, /smtp_url/],
    ['offline', { smtp_user: 'u'.repeat(201) }, 400, /smtp_user/],
    ['offline', { from: 'chat@shop.example\r\nBcc: victim@x.example' }, 400, /from/],
    ['offline', { from: '"Evil" <evil@x.example>' }, 400, /from/],
    ['offline', { to: [] }, 400, /to/],
    ['offline', { to: 'a@b.example' }, 400, /to/],
    ['offline', { to: Array.from({ length: 11 }, (_, i) => `a${i}@b.example`) }, 400, /to/],
    ['offline', { to: ['a@b.example', 'victim@x.example\r\nBcc: y@z.example'] }, 400, /to\[1\]/],
    ['offline', { to: ['a@b.example, c@d.example'] }, 400, /to\[0\]/],
    ['offline', { to: [7] }, 400, /to\[0\]/],
  ];
  for (const [section, body, status, re] of cases) {
    const r = await api('PUT', `/settings/${section}`, { token, body });
    assert.equal(r.status, status, `${section} ${JSON.stringify(body).slice(0, 120)}: ${r.text}`);
    assert.ok(r.json && typeof r.json.error === 'string' && r.json.message, `an error document: ${r.text}`);
    if (re) assert.match(`${r.json.error} ${r.json.message}`, re, `${JSON.stringify(body).slice(0, 120)}`);
  }
  // Bodies the size limit stops: 10 000 recipients, a megabyte of rules.
  // A Content-Length over 64 KiB is answered 413 at once and the connection
  // closed (docs/PROTOCOL.md): a client still writing the rest of its body
  // may see the close (EPIPE, reset) before it reads the answer.
  const tooLarge = async (path, body) => {
    try {
      const r = await api('PUT', path, { token, body });
      assert.equal(r.status, 413, r.text);
      assert.equal(r.json.error, 'too_large');
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.match(String(e.cause?.code || e.code || e), /EPIPE|ECONNRESET|UND_ERR_SOCKET/, `${path}: ${e}`);
    }
  };
  await tooLarge('/settings/offline', { to: Array.from({ length: 10000 }, (_, i) => `user${i}@example.com`) });
  await tooLarge('/settings/routing', 'x'.repeat(1 << 20));
  assert.equal(version(A.site), v0, 'no hostile document was written');
  const stored = c.sql(`SELECT offline::text || routing::text || survey::text FROM site_settings WHERE site_id = '${A.site.id}'`);
  assert.ok(!/passwd|169\.254|victim|Mars|DROP/.test(stored[0]?.[0] || ''), 'nothing of the attack is in the row');
  // An operator id in upper case is the same operator: stored in lower case.
  const up = await api('PUT', '/settings/routing', { token, body: { groups: [{ id: 'sales', name: 'Sales', operators: [anna.id.toUpperCase()] }] } });
  assert.equal(up.status, 200, up.text);
  assert.deepEqual(up.json.routing.groups[0].operators, [anna.id]);
  await alive('hostile settings');
});

test('pathological url patterns that fit the limits cost the store nothing; the chat is routed as usual', async () => {
  const token = A.admin.ws.welcome.session;
  const [anna, boris, clara] = A.ops;
  // As many long almost-occurring parts as 64 KiB holds, none of which matches.
  const part = `*${'a'.repeat(990)}b*`;
  const stars = '*a'.repeat(490) + '*b';
  const rules = Array.from({ length: 20 }, (_, i) => ({ name: `trap ${i}`, match: { url: [part, stars], referrer: part }, groups: ['sales'] }));
  rules.push({ name: 'Everyone', match: {}, groups: ['sales'], mode: 'auto' });
  const body = { groups: [{ id: 'sales', name: 'Sales', operators: [anna.id, boris.id, clara.id] }], rules };
  assert.ok(JSON.stringify(body).length < 65536);
  await setRouting(A, body);
  const url = `https://shop.example/${'a'.repeat(2000)}`;
  const t0 = Date.now();
  const chats = [];
  for (let i = 0; i < 10; i++) chats.push(await chat(A.site, { url, referrer: url, title: 'aaa' }));
  const ms = Date.now() - t0;
  assert.ok(ms < 8000, `10 chats on pathological patterns took ${ms} ms`);
  for (const { conv } of chats) {
    await waitFor(() => c.sql(`SELECT state FROM conversations WHERE id = '${conv}'`)[0]?.[0] === 'assigned', { what: 'assigned' });
    const [r] = c.sql(`SELECT route_rule FROM conversations WHERE id = '${conv}'`);
    assert.equal(r[0], 'Everyone');
  }
  for (const { v, conv } of chats) {
    const owner = [anna, boris, clara].find((o) => o.id === c.sql(`SELECT operator_id FROM conversations WHERE id = '${conv}'`)[0][0]);
    await owner.ws.request({ type: 'close', conversation: conv }, 'ok');
    v.close();
  }
  await alive('pathological patterns');
});

// ------------------------------------------------------------- HTTP API

test('HTTP API abuse: methods, paths, headers, bodies and tokens', async () => {
  const token = A.admin.ws.welcome.session;
  const v0 = version(A.site);
  for (const method of ['POST', 'DELETE', 'PATCH']) {
    for (const path of ['/settings', '/settings/routing', '/operators', '/status']) {
      const r = await api(method, path, { token, body: method === 'DELETE' ? undefined : {} });
      assert.equal(r.status, 405, `${method} ${path}: ${r.text}`);
      assert.equal(r.json?.error, 'method_not_allowed');
    }
  }
  assert.equal((await api('PUT', '/settings', { token, body: {} })).status, 405);
  assert.equal((await api('PUT', '/operators', { token, body: {} })).status, 405);
  assert.equal((await api('GET', '/settings/routing', { token })).status, 405);
  for (const path of ['/settings/ROUTING', '/settings/nope', '/settings/routing/', '/settings/routing%00', '/settings/' + 'a'.repeat(40),
    '/settings/..', '/nope']) {
    let r;
    try { r = await api('PUT', path, { token, body: {} }); } catch (e) {
      // libwebsockets drops a request whose path decodes to a NUL byte without an answer.
      assert.ok(path.includes('%00'), `${path}: ${e.message}`);
      continue;
    }
    assert.ok([404, 400].includes(r.status), `${path}: ${r.status} ${r.text}`);
  }
  assert.equal((await api('GET', '/../v1/settings', { token })).status, 200, 'the path is normalised');
  assert.equal((await api('GET', '/settings?section=../../etc', { token })).status, 200, 'a query is ignored');
  // Tokens: none, malformed, a visitor's, a logged-out one, someone else's in a second header.
  const vis = await visitor(c.wsUrl(0, 'visitor'), A.site.id);
  for (const headers of [{}, { Authorization: 'Bearer' }, { Authorization: 'Bearer ' }, { Authorization: 'Basic YTpi' },
    { Authorization: `Bearer ${vis.welcome.token}` }, { Authorization: `Bearer ${vis.welcome.visitor_id}` },
    { Authorization: `Bearer ${'x'.repeat(4000)}` }, { Authorization: `Bearer ${token}x` }, { Authorization: `Bearer ${token} ${token}` }]) {
    const r = await api('GET', '/settings', { headers });
    assert.equal(r.status, 401, `${JSON.stringify(headers).slice(0, 80)}: ${r.text}`);
    assert.equal(r.json.error, 'bad_session');
  }
  const logout = await fresh(A.ops[2]);
  const dead = logout.welcome.session;
  await logout.request({ type: 'logout', session: dead }, 'ok');
  assert.equal((await api('GET', '/status', { token: dead })).status, 401, 'a logged-out session');
  // Bodies.
  for (const body of ['', 'null', '[]', '"busy"', '{"status":', '{"status":"busy","status":"online"}', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    '{"status":"busy"}garbage', `{"status":"busy","x":${'['.repeat(20)}1${']'.repeat(20)}}`]) {
    const r = await api('PUT', '/status', { token: A.ops[1].ws.welcome.session, body });
    assert.equal(r.status, 400, `${String(body).slice(0, 60)}: ${r.text}`);
  }
  for (const [body, code] of [[{}, 'missing_field'], [{ status: 5 }, 'missing_field'], [{ status: 'offline' }, 'bad_value'], [{ status: 'Busy' }, 'bad_value']]) {
    const r = await api('PUT', '/status', { token: A.ops[1].ws.welcome.session, body });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, code, r.text);
  }
  // Raw requests: no Content-Length, a chunked body, a lying or silly Content-Length, a foreign Origin.
  const h = `Host: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n`;
  let raw = await rawHttp(`PUT /api/v1/settings/survey HTTP/1.1\r\n${h}\r\n{}`);
  assert.match(raw, /^HTTP\/1\.1 411/, raw.slice(0, 200));
  raw = await rawHttp(`PUT /api/v1/settings/survey HTTP/1.1\r\n${h}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
  assert.match(raw, /^HTTP\/1\.1 (411|400)/, raw.slice(0, 200));
  for (const cl of ['-1', 'abc', '99999999999999999999999', '1e3', '0x10', ' 5']) {
    raw = await rawHttp(`PUT /api/v1/settings/survey HTTP/1.1\r\n${h}Content-Length: ${cl}\r\nConnection: close\r\n\r\n{}`);
    // libwebsockets closes the connection on a Content-Length it cannot parse; ours answers 400.
    assert.ok(raw === '' || /^HTTP\/1\.1 (400|413|411)/.test(raw), `Content-Length ${cl}: ${raw.slice(0, 200)}`);
  }
  raw = await rawHttp(`PUT /api/v1/settings/survey HTTP/1.1\r\n${h}Content-Length: 100\r\n\r\n{}`, { waitMs: 1500 });
  assert.ok(!/^HTTP\/1\.1 200/.test(raw), 'a short body is not taken as a whole');
  const o = await api('GET', '/settings', { token, headers: { Origin: 'http://evil.example' } });
  assert.equal(o.status, 403, o.text);
  // Many requests on one keep-alive connection, some with bodies of another's length: no desync.
  raw = await rawHttp(`GET /api/v1/status HTTP/1.1\r\n${h}\r\n`.repeat(3));
  assert.equal((raw.match(/HTTP\/1\.1 200/g) || []).length, 3, raw.slice(0, 400));
  assert.equal(version(A.site), v0, 'no request wrote settings');
  vis.close();
  await alive('HTTP abuse');
});

test('the settings never return smtp_password, also not after a PUT without it', async () => {
  const token = A.admin.ws.welcome.session;
  const secret = 'hunter2-' + Math.random().toString(36).slice(2);
  const put = await api('PUT', '/settings/offline', { token, body: { smtp_url: 'smtp://127.0.0.1:1', smtp_user: 'u', smtp_password: secret, from: 'chat@a.example', to: ['ops@a.example'] } });
  assert.equal(put.status, 200, put.text);
  assert.ok(!put.text.includes(secret));
  const again = await api('PUT', '/settings/offline', { token, body: { smtp_url: 'smtp://127.0.0.1:1', smtp_user: 'u', from: 'chat@a.example', to: ['ops@a.example'] } });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.json.offline.smtp_password_set, true, 'a PUT without the password keeps it');
  for (const r of [put, again, await api('GET', '/settings', { token })]) {
    assert.ok(!r.text.includes(secret), 'the password came back');
    assert.ok(!('smtp_password' in r.json.offline));
  }
  // Another site's admin never sees it either.
  assert.ok(!(await api('GET', '/settings', { token: B.admin.ws.welcome.session })).text.includes(secret));
  assert.ok(!(await api('GET', '/operators', { token })).text.includes(secret));
  await alive('smtp password');
});

test('the HTTP API rate limit holds per address and the gateway stays up', async () => {
  const token = B.ops[0].ws.welcome.session;
  const rs = await Promise.all(Array.from({ length: 150 }, () => api('GET', '/status', { token, retry429: false })));
  const limited = rs.filter((r) => r.status === 429);
  assert.ok(limited.length > 0, 'a burst of 150 is limited');
  assert.ok(limited.every((r) => r.json && r.json.error === 'rate_limited' && /requests/.test(r.json.message)), JSON.stringify(limited[0]?.json));
  assert.ok(rs.filter((r) => r.status === 200).length <= 80, 'at most about the burst passes');
  await waitFor(async () => (await api('GET', '/status', { token, retry429: false })).status === 200,
    { timeoutMs: 5000, intervalMs: 200, what: 'the limit refills' });
  await alive('HTTP rate limit');
});

test('a transfer to an operator without a free place is refused (max_chats holds)', async () => {
  const [anna] = A.ops;
  const dora = await c.createOperator(A.site.id, { name: 'Dora', maxChats: 1 });
  dora.ws = await operator(c.wsUrl(0, 'operator'), dora);
  // Everything goes to Anna (auto), who hands two chats to Dora, whose limit is 1.
  await setRouting(A, { groups: [{ id: 'anna', name: 'Anna', operators: [anna.id] }],
    rules: [{ name: 'Anna', match: {}, groups: ['anna'], mode: 'auto' }] });
  const chats = [await chat(A.site), await chat(A.site)];
  for (const { conv } of chats)
    await waitFor(() => c.sql(`SELECT operator_id FROM conversations WHERE id = '${conv}'`)[0]?.[0] === anna.id, { what: 'assigned to Anna' });
  const first = await anna.ws.request({ type: 'transfer', conversation: chats[0].conv, to_operator: dora.id }, 'ok');
  assert.equal(first.type, 'ok', JSON.stringify(first));
  const second = await anna.ws.request({ type: 'transfer', conversation: chats[1].conv, to_operator: dora.id }, 'ok');
  assert.equal(second.type, 'error', JSON.stringify(second));
  assert.equal(second.code, 'no_operator_available', JSON.stringify(second));
  const [open, max] = c.sql(`SELECT open_chats, max_chats FROM operators WHERE id = '${dora.id}'`)[0].map(Number);
  assert.ok(open <= max, `Dora has ${open} chats with a limit of ${max}`);
  assert.equal(c.sql(`SELECT operator_id FROM conversations WHERE id = '${chats[1].conv}'`)[0][0], anna.id, 'the second chat stays with Anna');
  for (const { v } of chats) v.close();
  dora.ws.close();
  await alive('transfer over the limit');
});

test('transcripts are no open mail relay: at most 10 a day to one address from a site', async () => {
  const victim = `victim-${Date.now()}@x.example`;
  const answers = [];
  for (let i = 0; i < 12; i++) {
    // A fresh visitor and chat each time, as a script would do.
    const v = await visitor(c.wsUrl(0, 'visitor'), B.site.id);
    const conv = v.welcome.conversation.id;
    assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: `buy pills ${i}` }, 'ack')).type, 'ack');
    const r = await v.request({ type: 'transcript', conversation: conv, email: victim.toUpperCase() }, 'ok');
    answers.push(r.type === 'ok' ? 'ok' : r.code);
    if (r.type === 'error') assert.match(r.message, /too many/, JSON.stringify(r));
    v.close();
  }
  assert.deepEqual(answers, [...Array(10).fill('ok'), 'rate_limited', 'rate_limited']);
  assert.equal(count(`SELECT count(*) FROM mail_outbox WHERE kind = 'transcript' AND lower(recipients[1]) = lower('${victim}')`), 10);
  // Another address still works.
  const v = await visitor(c.wsUrl(0, 'visitor'), B.site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hi' }, 'ack');
  assert.equal((await v.request({ type: 'transcript', conversation: conv, email: 'someone.else@x.example' }, 'ok')).type, 'ok');
  v.close();
  await alive('transcript relay');
});

test('offline forms from one address are capped at 20 an hour per site; a retry of a stored one is still ok', async () => {
  const site = await c.createSite('Offline flood');
  const answers = [];
  let first;
  for (let i = 0; i < 22; i++) {
    const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
    const frame = { type: 'offline', client_id: clientId('flood'), email: `bot${i}@spam.example`, text: `spam ${i}` };
    if (i === 0) first = { v, frame };
    const r = await v.request(frame, 'ok');
    answers.push(r.type === 'ok' ? 'ok' : r.code);
    if (r.type === 'error') assert.match(r.message, /too many/, JSON.stringify(r));
    if (i) v.close();
  }
  assert.deepEqual(answers, [...Array(20).fill('ok'), 'rate_limited', 'rate_limited']);
  assert.equal(count(`SELECT count(*) FROM offline_messages WHERE site_id = '${site.id}'`), 20);
  assert.equal(count(`SELECT count(*) FROM mail_outbox WHERE site_id = '${site.id}'`), 20);
  const retry = await first.v.request(first.frame, 'ok');
  assert.equal(retry.type, 'ok', JSON.stringify(retry));
  first.v.close();
  await alive('offline flood');
});

test('tokens across roles: a visitor token is no operator session and an operator session no visitor token', async () => {
  const v = await visitor(c.wsUrl(0, 'visitor'), A.site.id);
  const op = await Client.connect(c.wsUrl(0, 'operator'));
  for (const session of [v.welcome.token, v.welcome.visitor_id, A.site.id, `${A.admin.ws.welcome.session}\u0001`]) {
    const e = await op.request({ type: 'hello', session }, 'welcome');
    assert.equal(e.type, 'error', JSON.stringify(e));
    assert.ok(['bad_session', 'bad_value'].includes(e.code), JSON.stringify(e));
  }
  op.close();
  const vis = await Client.connect(c.wsUrl(0, 'visitor'));
  const e = await vis.request({ type: 'hello', site: A.site.id, token: A.admin.ws.welcome.session }, 'welcome');
  assert.equal(e.code, 'bad_token', JSON.stringify(e));
  vis.close(); v.close();
  await alive('tokens across roles');
});
