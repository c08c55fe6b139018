// The router's routing engine (docs/ROUTING.md, docs/ROUTER.md "Routing
// engine") with real processes: two gateways, two routers. A site's rules
// pick the group; auto gives the chat to the least loaded online member
// (away/busy skipped); ring offers it to `notify` members, the first accept
// wins and the others are told at once; nobody accepting within the limit
// rings the next ones, then the fallback group, then the chat is missed;
// working hours in the site's zone decide whether a chat can be answered;
// busy set over the HTTP API blocks new chats; a router killed mid-ring
// leaves the chat to the other's deadline poll.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => {
  c = await startCluster({ gateways: 2, routers: 2 });
});
after(async () => { if (c) await c.stop(); });

const ALL_WEEK = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['09:00', '18:00']]]));

/** Writes the site's routing section straight into site_settings. */
const setRouting = (site, routing) => c.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}',
  '${JSON.stringify(routing)}') ON CONFLICT (site_id) DO UPDATE SET routing = EXCLUDED.routing`);
const say = (client, conv, text = 'hello?') =>
  client.request({ type: 'send', conversation: conv, client_id: clientId('m'), text }, 'ack');
const row = (conv) => {
  const [r] = c.sql(`SELECT state, coalesce(operator_id::text, ''), missed, array_to_string(tried, ',')
                       FROM conversations WHERE id = '${conv}'`);
  return r ? { state: r[0], operator: r[1], missed: r[2] === 't', tried: r[3] ? r[3].split(',') : [] } : null;
};
const routerLogs = () => ['router-0', 'router-1'].map((n) => c.proc(n)?.log() || '').join('\n');

/** Operators of a new site, each logged in (gateway i % 2), sorted by id (the ring order at equal load). */
async function team(label, names) {
  const site = await c.createSite(label);
  const ops = [];
  for (const name of names) ops.push(await c.createOperator(site.id, { name }));
  ops.sort((a, b) => (a.id < b.id ? -1 : 1));
  for (let i = 0; i < ops.length; i++) ops[i].ws = await operator(c.wsUrl(i % 2, 'operator'), ops[i]);
  return { site, ops };
}
const byId = (ops, id) => ops.find((o) => o.id === id);
async function setStatus(op, status) {
  const r = await op.ws.request({ type: 'status', status }, 'ok');
  assert.equal(r.type, 'ok', JSON.stringify(r));
}
async function newChat(site, gw = 0, page) {
  const v = await visitor(c.wsUrl(gw, 'visitor'), site.id, page ? { page } : {});
  const conv = v.welcome.conversation.id;
  const ack = await say(v, conv);
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return { v, conv };
}
const rings = (op, conv, opts = {}) =>
  op.ws.next((f) => f.type === 'ring' && f.conversation.id === conv, { what: `ring for ${op.name}`, ...opts });
const ringEnd = (op, conv, reason, opts = {}) =>
  op.ws.next((f) => f.type === 'ring_end' && f.conversation === conv && f.reason === reason,
    { what: `ring_end ${reason} for ${op.name}`, ...opts });
const accept = (op, conv) => op.ws.request({ type: 'accept', conversation: conv }, 'ok');

test('auto: only the rule\'s group, least loaded with round-robin ties; away and busy skipped', async () => {
  const { site, ops } = await team('Auto groups', ['Anna', 'Boris', 'Clara', 'Denis', 'Elena']);
  const [a, b, outside, busy, away] = ops;
  setRouting(site, {
    groups: [{ id: 'sales', name: 'Sales', operators: [a.id, b.id, busy.id, away.id] },
      { id: 'other', name: 'Other', operators: [outside.id] }],
    rules: [{ name: 'Sales only', match: {}, groups: ['sales'], mode: 'auto' }],
  });
  await setStatus(busy, 'busy');
  await busy.ws.next((f) => f.type === 'status' && f.status === 'busy', { what: 'status frame' });
  await setStatus(away, 'away');
  const got = [];
  for (let i = 0; i < 4; i++) {
    const { conv } = await newChat(site, i % 2);
    await waitFor(() => row(conv).state === 'assigned', { what: `chat ${i} assigned` });
    got.push(row(conv).operator);
  }
  const allowed = new Set([a.id, b.id]);
  assert.ok(got.every((id) => allowed.has(id)), `only Sales' online members: ${got.map((id) => byId(ops, id).name)}`);
  assert.equal(got.filter((id) => id === a.id).length, 2, 'two each: least loaded, ties shared');
  assert.equal(got.filter((id) => id === b.id).length, 2);
  const open = c.sql(`SELECT id, open_chats FROM operators WHERE site_id = '${site.id}'`);
  for (const [id, n] of open) if (!allowed.has(id)) assert.equal(n, '0', `${byId(ops, id).name} got none`);
  for (const o of ops) o.ws.close();
});

test('ring: notify operators ring, one accepts, the other hears ring_end taken; a late or foreign accept is refused', async () => {
  const { site, ops } = await team('Ring', ['Anna', 'Boris', 'Clara']);
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: ops.map((o) => o.id) }],
    rules: [{ name: 'Ring two', match: {}, groups: ['g'], mode: 'ring', notify: 2, response_limit_s: 60 }],
  });
  const { v, conv } = await newChat(site);
  const [first, second, third] = ops;          // equal load: the two lowest ids ring
  const r1 = await rings(first, conv);
  await rings(second, conv);
  assert.ok(r1.conversation.deadline > Date.now() + 30000, `deadline about a minute away: ${JSON.stringify(r1)}`);
  assert.equal(row(conv).state, 'ringing');
  const foreign = await accept(third, conv);
  assert.equal(foreign.type, 'error');
  assert.equal(foreign.code, 'forbidden', 'the third was not rung');
  const won = await accept(second, conv);
  assert.equal(won.type, 'ok', JSON.stringify(won));
  assert.equal(won.conversation, conv);
  const end = await ringEnd(first, conv, 'taken');
  assert.equal(end.operator.id, second.id);
  assert.equal(end.operator.name, second.name);
  await second.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned to the winner' });
  await v.next((f) => f.type === 'conversation' && f.conversation.state === 'assigned'
    && f.conversation.operator?.id === second.id, { what: 'visitor sees the winner' });
  const late = await accept(first, conv);
  assert.equal(late.code, 'already_taken');
  const never = await accept(third, conv);
  assert.equal(never.code, 'forbidden', 'taken, but it never rang for the third');
  assert.deepEqual([row(conv).state, row(conv).operator], ['assigned', second.id]);
  assert.ok(!third.ws.frames.some((f) => f.type === 'ring' || f.type === 'ring_end'), 'the third heard nothing');
  for (const o of ops) o.ws.close();
});

test('ring: two accepts at the same moment from two gateways, exactly one wins', async () => {
  for (let round = 0; round < 3; round++) {
    const { site, ops } = await team(`Ring race ${round}`, ['Anna', 'Boris']);
    setRouting(site, {
      groups: [{ id: 'g', name: 'G', operators: ops.map((o) => o.id) }],
      rules: [{ name: 'Ring both', match: {}, groups: ['g'], mode: 'ring', notify: 2 }],
    });
    const { conv } = await newChat(site, round % 2);
    await Promise.all(ops.map((o) => rings(o, conv)));
    const answers = await Promise.all(ops.map((o) => accept(o, conv)));
    const codes = answers.map((a) => (a.type === 'ok' ? 'ok' : a.code)).sort();
    assert.deepEqual(codes, ['already_taken', 'ok'], JSON.stringify(answers));
    const winner = ops[answers.findIndex((a) => a.type === 'ok')];
    const loser = ops.find((o) => o !== winner);
    assert.equal(row(conv).operator, winner.id);
    await ringEnd(loser, conv, 'taken');
    for (const o of ops) o.ws.close();
  }
});

test('escalation: nobody accepts in 5 s -> the next operator rings, then the fallback group, then missed', async () => {
  const { site, ops } = await team('Escalation', ['Anna', 'Boris', 'Fallback Fedor']);
  const [a, b, f] = ops;
  setRouting(site, {
    groups: [{ id: 'main', name: 'Main', operators: [a.id, b.id] }, { id: 'night', name: 'Night', operators: [f.id] }],
    rules: [{ name: 'Ring one by one', match: {}, groups: ['main'], fallback_groups: ['night'], mode: 'ring',
      notify: 1, response_limit_s: 5 }],
  });
  const { v, conv } = await newChat(site);
  const started = Date.now();
  await rings(a, conv);
  const rb = await rings(b, conv, { timeoutMs: 12000 });
  const atB = Date.now() - started;
  assert.ok(atB >= 4500, `not before the limit: ${atB} ms`);
  await ringEnd(a, conv, 'escalated');
  assert.ok(rb.conversation.deadline > Date.now(), 'the next ring has its own deadline');
  await rings(f, conv, { timeoutMs: 12000 });
  await ringEnd(b, conv, 'escalated');
  await ringEnd(f, conv, 'missed', { timeoutMs: 12000 });
  const missedAt = Date.now() - started;
  assert.ok(missedAt >= 14000, `three limits passed: ${missedAt} ms`);
  const closed = await v.next((x) => x.type === 'conversation' && x.conversation.state === 'closed', { what: 'visitor sees closed' });
  assert.equal(closed.conversation.missed, true);
  for (const o of ops) {
    const m = await o.ws.next((x) => x.type === 'missed' && x.conversation.id === conv, { what: `missed for ${o.name}` });
    assert.equal(m.conversation.missed, true);
  }
  const r = row(conv);
  assert.deepEqual([r.state, r.missed], ['closed', true]);
  assert.deepEqual(new Set(r.tried), new Set([a.id, b.id, f.id]));
  assert.ok(!v.frames.some((x) => x.type === 'missed' || x.type === 'ring'), 'visitors get no operator frames');
  for (const o of ops) o.ws.close();
});

test('auto with a response limit: an unanswered chat moves to the next operator (the first is warned and sees it go); the last keeps it, warned, never missed', async () => {
  const { site, ops } = await team('Auto limit', ['Anna', 'Boris']);
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: ops.map((o) => o.id) }],
    rules: [{ name: 'Answer in 5 s', match: {}, groups: ['g'], mode: 'auto', response_limit_s: 5 }],
  });
  const { v, conv } = await newChat(site);
  await waitFor(() => row(conv).state === 'assigned', { what: 'assigned' });
  const first = byId(ops, row(conv).operator);
  const next = ops.find((o) => o !== first);
  const a1 = await first.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'first assigned' });
  assert.ok(a1.conversation.deadline > Date.now(), 'the response limit is shown as a deadline');
  const started = Date.now();
  await next.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'moved on', timeoutMs: 12000 });
  assert.ok(Date.now() - started >= 3500, 'not before the limit');
  const warned = await first.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv,
    { what: 'the first is warned' });
  assert.deepEqual([warned.escalated, warned.limit_s], [true, 5]);
  await first.ws.next((f) => f.type === 'conversation' && f.conversation.id === conv
    && f.conversation.operator?.id === next.id, { what: 'the first sees it go' });
  await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === next.id, { what: 'visitor sees the next' });
  // Nobody left after the second limit: the chat stays with the next, who is warned.
  const kept = await next.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv,
    { what: 'the last operator is warned', timeoutMs: 12000 });
  assert.equal(kept.escalated, false);
  assert.equal(kept.conversation.state, 'assigned');
  assert.equal(kept.conversation.operator.id, next.id);
  assert.deepEqual([row(conv).state, row(conv).missed, row(conv).operator], ['assigned', false, next.id]);
  assert.ok(!v.frames.some((f) => f.type === 'conversation' && f.conversation.state === 'closed'), 'the visitor was told it ended');
  assert.ok(!ops.some((o) => o.ws.frames.some((f) => f.type === 'missed' && f.conversation.id === conv)), 'announced as missed');
  assert.equal((await say(next.ws, conv, 'sorry for the wait')).type, 'ack');
  await v.next((f) => f.type === 'message' && f.text === 'sorry for the wait', { what: 'the visitor gets the late answer' });
  for (const o of ops) o.ws.close();
});

test('ring: an accepted chat without a reply is never missed under its operator: offered to the next, and the last to accept keeps it with a warning', async () => {
  const { site, ops } = await team('Accepted limit', ['Anna', 'Boris']);
  const [a, b] = ops;
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: [a.id, b.id] }],
    rules: [{ name: 'Ring, answer in 5 s', match: {}, groups: ['g'], mode: 'ring', notify: 1, response_limit_s: 5 }],
  });
  const { v, conv } = await newChat(site);
  await rings(a, conv);
  assert.equal((await accept(a, conv)).type, 'ok');
  // Anna accepted and said nothing: Boris is offered it, Anna is told why it went.
  await rings(b, conv, { timeoutMs: 12000 });
  const toA = await a.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv, { what: 'Anna warned' });
  assert.equal(toA.escalated, true);
  assert.equal((await accept(b, conv)).type, 'ok');
  const started = Date.now();
  const toB = await b.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv,
    { what: 'Boris warned', timeoutMs: 12000 });
  assert.ok(Date.now() - started >= 3500, 'not before the limit');
  assert.deepEqual([toB.escalated, toB.conversation.state, toB.conversation.operator.id], [false, 'assigned', b.id]);
  assert.deepEqual([row(conv).state, row(conv).missed, row(conv).operator], ['assigned', false, b.id]);
  assert.equal(c.sql(`SELECT count(*) FROM mail_outbox WHERE kind = 'missed' AND conversation_id = '${conv}'`)[0][0], '0',
    'no missed-chat mail');
  assert.ok(!v.frames.some((f) => f.type === 'conversation' && f.conversation.state === 'closed'), 'the visitor was told it ended');
  // The visitor writes on and Boris answers: an ordinary chat.
  assert.equal((await say(v, conv, 'anyone?')).type, 'ack');
  await b.ws.next((f) => f.type === 'message' && f.text === 'anyone?', { what: 'Boris gets it' });
  assert.equal((await say(b.ws, conv, 'here, sorry')).type, 'ack');
  await v.next((f) => f.type === 'message' && f.text === 'here, sorry', { what: 'the visitor gets the answer' });
  for (const o of ops) o.ws.close();
});

test('ring: an accepted chat offered on after no reply comes back to its operator when nobody else takes it, never missed', async () => {
  const { site, ops } = await team('Given back', ['Anna', 'Boris']);
  const [a, b] = ops;
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: [a.id, b.id] }],
    rules: [{ name: 'Ring, answer in 5 s', match: {}, groups: ['g'], mode: 'ring', notify: 1, response_limit_s: 5 }],
  });
  const { v, conv } = await newChat(site);
  await rings(a, conv);
  assert.equal((await accept(a, conv)).type, 'ok');
  await rings(b, conv, { timeoutMs: 12000 });
  assert.equal((await a.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv, { what: 'Anna warned' })).escalated, true);
  // Boris lets it ring out: it is Anna's again, with a warning; Boris stops ringing.
  const back = await a.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'given back to Anna', timeoutMs: 12000 });
  assert.equal(back.conversation.operator.id, a.id);
  const warned = await a.ws.next((f) => f.type === 'response_overdue' && f.conversation.id === conv && !f.escalated, { what: 'Anna warned again' });
  assert.equal(warned.conversation.state, 'assigned');
  const end = await ringEnd(b, conv, 'taken');
  assert.equal(end.operator.id, a.id);
  assert.deepEqual([row(conv).state, row(conv).missed, row(conv).operator], ['assigned', false, a.id]);
  await v.next((f) => f.type === 'conversation' && f.conversation.operator?.id === a.id, { what: 'the visitor sees Anna again' });
  assert.ok(!v.frames.some((f) => f.type === 'conversation' && f.conversation.state === 'closed'), 'the visitor was told it ended');
  assert.equal((await say(a.ws, conv, 'I am here')).type, 'ack');
  for (const o of ops) o.ws.close();
});

test('auto with a response limit: the operator\'s reply keeps the chat', async () => {
  const { site, ops } = await team('Auto answered', ['Anna', 'Boris']);
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: ops.map((o) => o.id) }],
    rules: [{ name: 'Answer in 5 s', match: {}, groups: ['g'], mode: 'auto', response_limit_s: 5 }],
  });
  const { conv } = await newChat(site);
  await waitFor(() => row(conv).state === 'assigned', { what: 'assigned' });
  const first = byId(ops, row(conv).operator);
  await first.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned frame' });
  assert.equal((await say(first.ws, conv, 'hi, how can I help?')).type, 'ack');
  assert.equal(c.sql(`SELECT deadline_at IS NULL FROM conversations WHERE id = '${conv}'`)[0][0], 't', 'the reply ends the limit');
  for (const o of ops) o.ws.close();
});

test('nobody free: a ring chat waits queued until an operator sets online; with a limit and nobody coming it is missed', async () => {
  const { site, ops } = await team('Waiting', ['Anna']);
  const [a] = ops;
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: [a.id] }],
    rules: [{ name: 'Ring', match: {}, groups: ['g'], mode: 'ring', notify: 1 }],
  });
  await setStatus(a, 'away');
  const { conv } = await newChat(site);
  await waitFor(() => routerLogs().split('\n').some((l) => l.includes(conv) && l.includes('queued')),
    { what: 'queued while nobody is online' });
  assert.equal(row(conv).state, 'queued');
  await setStatus(a, 'online');
  await rings(a, conv);
  assert.equal((await accept(a, conv)).type, 'ok');
  a.ws.close();

  const lonely = await c.createSite('Nobody there');
  const b = await c.createOperator(lonely.id, { name: 'Boris' });
  setRouting(lonely, {
    groups: [{ id: 'g', name: 'G', operators: [b.id] }],
    rules: [{ name: 'Limited', match: {}, groups: ['g'], mode: 'auto', response_limit_s: 5 }],
  });
  const { v, conv: unanswered } = await newChat(lonely, 1);
  assert.equal(v.welcome.available, false, 'nobody of the rule is online');
  const closed = await v.next((f) => f.type === 'conversation' && f.conversation.state === 'closed',
    { what: 'missed once the limit passed', timeoutMs: 12000 });
  assert.equal(closed.conversation.missed, true);
  assert.equal(row(unanswered).missed, true);
});

/** "UTC+HH:MM" / "UTC-HH:MM" making the local time now `hh:mm`. */
function zoneFor(hh, mm) {
  const now = new Date();
  let off = hh * 60 + mm - (now.getUTCHours() * 60 + now.getUTCMinutes());
  off = ((off % 1440) + 1440) % 1440;
  if (off > 720) off -= 1440;
  const a = Math.abs(off);
  return `UTC${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

test('working hours: 17:59 local is open (available, assigned), 18:01 is closed (offline form, the chat waits)', async () => {
  const { site, ops } = await team('Hours', ['Anna']);
  const [a] = ops;
  // Not across a minute boundary: the zone is computed for this minute.
  await waitFor(() => new Date().getUTCSeconds() < 45, { timeoutMs: 20000, what: 'early in a minute' });
  const rule = { name: 'Office', match: {}, groups: ['g'], mode: 'auto', hours: ALL_WEEK };
  const groups = [{ id: 'g', name: 'G', operators: [a.id] }];
  setRouting(site, { timezone: zoneFor(17, 59), groups, rules: [rule] });
  const inside = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal(inside.welcome.available, true, JSON.stringify(inside.welcome));
  const conv = inside.welcome.conversation.id;
  assert.equal((await say(inside, conv)).type, 'ack');
  await a.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned inside hours' });

  setRouting(site, { timezone: zoneFor(18, 1), groups, rules: [rule] });
  const outside = await visitor(c.wsUrl(1, 'visitor'), site.id);
  assert.equal(outside.welcome.available, false, JSON.stringify(outside.welcome));
  const late = outside.welcome.conversation.id;
  assert.equal((await say(outside, late)).type, 'ack');
  await waitFor(() => routerLogs().includes('out of the rule') && routerLogs().split('\n')
    .some((l) => l.includes(late) && l.includes('out of the rule')), { what: 'router left it waiting' });
  assert.deepEqual([row(late).state, row(late).operator], ['queued', '']);
  a.ws.close();
});

async function api(method, path, token, body) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

test('busy via PUT /api/v1/status blocks new chats, sticks while the console beats; online gets the queued ones', async () => {
  const { site, ops } = await team('Busy', ['Anna']);
  const [a] = ops;
  const token = a.ws.welcome.session;
  const put = await api('PUT', '/status', token, { status: 'busy' });
  assert.deepEqual([put.status, put.json], [200, { operator: a.id, status: 'busy' }]);
  await a.ws.next((f) => f.type === 'status' && f.status === 'busy', { what: 'console told busy' });
  const { conv } = await newChat(site, 1);
  await waitFor(() => routerLogs().split('\n').some((l) => l.includes(conv) && l.includes('queued')),
    { what: 'chat queued while busy' });
  assert.deepEqual([row(conv).state, row(conv).operator], ['queued', '']);
  // A presence beat of the console (its TTL renewed) keeps the status the API set.
  const ttl = () => Number(c.redisCli('PTTL', `op:${a.id}`));
  const before = ttl();
  await waitFor(() => ttl() > before, { timeoutMs: 15000, what: 'a presence beat' });
  const got = await api('GET', '/status', token);
  assert.deepEqual(got.json, { operator: a.id, status: 'busy' });
  const ops2 = await api('GET', '/operators', token);
  assert.equal(ops2.json.operators.find((o) => o.id === a.id).status, 'busy');
  assert.equal((await api('PUT', '/status', token, { status: 'lunch' })).status, 400);
  const back = await api('PUT', '/status', token, { status: 'online' });
  assert.equal(back.json.status, 'online');
  await a.ws.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'queued chat after online' });
  assert.equal(row(conv).operator, a.id);
  a.ws.close();
});

test('welcome lists the chats ringing for the operator and the site\'s groups', async () => {
  const { site, ops } = await team('Welcome', ['Anna']);
  const [a] = ops;
  setRouting(site, {
    groups: [{ id: 'g', name: 'Group G', operators: [a.id] }],
    rules: [{ name: 'Ring', match: {}, groups: ['g'], mode: 'ring', notify: 1, response_limit_s: 60 }],
  });
  const { conv } = await newChat(site);
  await rings(a, conv);
  const again = await operator(c.wsUrl(1, 'operator'), a);
  assert.deepEqual(again.welcome.ringing.map((x) => x.id), [conv]);
  assert.deepEqual(again.welcome.groups.map((g) => [g.id, g.name]), [['g', 'Group G']]);
  const ok = await accept({ ...a, ws: again }, conv);
  assert.equal(ok.type, 'ok');
  again.close();
  a.ws.close();
});

test('kill -9 of the router that rang: the other router escalates the chat and it is accepted', async () => {
  const { site, ops } = await team('Router killed', ['Anna', 'Boris']);
  const [a, b] = ops;
  setRouting(site, {
    groups: [{ id: 'g', name: 'G', operators: [a.id, b.id] }],
    rules: [{ name: 'One by one', match: {}, groups: ['g'], mode: 'ring', notify: 1, response_limit_s: 5 }],
  });
  const { conv } = await newChat(site);
  await rings(a, conv);
  const rang = ['router-0', 'router-1'].find((n) => c.proc(n).log().split('\n')
    .some((l) => l.includes(conv) && l.includes('routing step applied')));
  assert.ok(rang, 'one router applied the ring');
  await c.proc(rang).kill('SIGKILL');
  await rings(b, conv, { timeoutMs: 20000 });
  await ringEnd(a, conv, 'escalated');
  const ok = await accept(b, conv);
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  assert.deepEqual([row(conv).state, row(conv).operator], ['assigned', b.id]);
  for (const o of ops) o.ws.close();
});
