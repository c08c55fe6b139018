// The archive (docs/PROTOCOL.md "Archive", docs/STORE.md "Archive and
// search"): every conversation and offline message of the operator's site,
// searched by text in Russian and English with stemming, filtered by date,
// operator, group, state and visitor, paged by a keyset cursor; one of them
// opened read-only with its transcript, notes and visitor data. Another
// site's conversations are never found nor opened; bad parameters are 400
// with a message naming the parameter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 1 }); });
after(async () => { if (c) await c.stop(); });

async function api(path, token) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* shown by the assertion */ }
  return { status: res.status, json, text };
}

const search = async (token, params) => api(`/conversations?${new URLSearchParams(params)}`, token);
const ids = (r) => r.json.conversations.map((x) => x.id);
const uuid = () => crypto.randomUUID();
const esc = (s) => s.replace(/'/g, "''");

/** A conversation written straight into the store, as the chat would have left it. */
function storedChat(site, { visitorName = '', operatorId = null, state = 'closed', missed = false, at, texts, rule = '' }) {
  const v = uuid(), id = uuid();
  c.sql(`INSERT INTO visitors (id, site_id, name) VALUES ('${v}', '${site}', '${esc(visitorName)}')`);
  c.sql(`INSERT INTO conversations (id, site_id, visitor_id, operator_id, state, missed, created_at, closed_at, last_seq, visitor_name, route_rule)
         VALUES ('${id}', '${site}', '${v}', ${operatorId ? `'${operatorId}'` : 'NULL'}, '${state}', ${missed}, '${at}',
                 ${state === 'closed' ? `'${at}'::timestamptz + interval '10 minutes'` : 'NULL'}, ${texts.length}, '${esc(visitorName)}', '${esc(rule)}')`);
  texts.forEach((t, i) => c.sql(`INSERT INTO messages (site_id, conversation_id, seq, client_msg_id, author_kind, author_id, author_name, body, created_at)
    VALUES ('${site}', '${id}', ${i + 1}, 'm${i}', '${i % 2 ? 'operator' : 'visitor'}', ${i % 2 && operatorId ? `'${operatorId}'` : i % 2 ? 'NULL' : `'${v}'`},
            '${i % 2 ? 'Operator' : esc(visitorName)}', '${esc(t)}', '${at}'::timestamptz + ${i} * interval '1 minute')`));
  return { id, visitor: v };
}

test('search by text in Russian and English with stemming, filters, pages, a read-only transcript; another site sees none of it', async () => {
  const siteA = await c.createSite('Archive shop');
  const siteB = await c.createSite('Other shop');
  const anna = await c.createOperator(siteA.id, { name: 'Anna' });
  const boris = await c.createOperator(siteA.id, { name: 'Boris' });
  const stranger = await c.createOperator(siteB.id, { name: 'Stranger' });
  const annaWs = await operator(c.wsUrl(0, 'operator'), anna);
  const strangerWs = await operator(c.wsUrl(0, 'operator'), stranger);
  const token = annaWs.welcome.session, theirs = strangerWs.welcome.session;
  c.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${siteA.id}', '${JSON.stringify({
    groups: [{ id: 'sales', name: 'Sales', operators: [boris.id] }, { id: 'support', name: 'Support', operators: [anna.id] }],
    rules: [{ name: 'Everyone', match: {}, groups: ['support'], mode: 'auto' }] })}')`);

  // A real chat through the gateway: its messages are indexed as they are written.
  const v = await visitor(c.wsUrl(0, 'visitor'), siteA.id);
  const live = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: live, client_id: clientId('m'), text: 'Когда будут доставки в Казань?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));

  const delivered = storedChat(siteA.id, { visitorName: 'John Smith', operatorId: boris.id, at: '2026-03-02T10:00:00Z',
    texts: ['Hi, my parcel was delivered to the wrong address', 'Sorry, we will fix that'] });
  const missed = storedChat(siteA.id, { visitorName: 'Мария', state: 'closed', missed: true, at: '2026-03-05T09:00:00Z',
    texts: ['Здравствуйте, а доставка по субботам работает?'] });
  const refund = storedChat(siteA.id, { visitorName: 'Pavel', operatorId: anna.id, at: '2026-02-20T12:00:00Z', rule: 'Everyone',
    texts: ['I want a refund for my order', 'Of course'] });
  c.sql(`INSERT INTO conversation_notes (site_id, conversation_id, author_id, to_operator_id, kind, body)
         VALUES ('${siteA.id}', '${refund.id}', '${anna.id}', '${boris.id}', 'transfer', 'VIP customer, be kind')`);
  const theirChat = storedChat(siteB.id, { visitorName: 'Чужой', at: '2026-03-03T10:00:00Z',
    texts: ['Где моя доставка? The order was never delivered'] });
  const v2 = await visitor(c.wsUrl(0, 'visitor'), siteA.id);
  const off = await v2.request({ type: 'offline', client_id: clientId('off'), name: 'Olga', phone: '+7 900 111-22-33',
    text: 'Перезвоните насчёт доставки, пожалуйста' }, 'ok');
  assert.equal(off.type, 'ok', JSON.stringify(off));
  const offId = c.sql(`SELECT id FROM offline_messages WHERE site_id = '${siteA.id}'`)[0][0];

  // Russian stemming: «доставка» finds «доставки», «доставка», «доставки» (offline), never site B's.
  const ru = await search(token, { q: 'доставка' });
  assert.equal(ru.status, 200, ru.text);
  assert.deepEqual(new Set(ids(ru)), new Set([live, missed.id, offId]), ru.text);
  const hit = ru.json.conversations.find((x) => x.id === missed.id);
  assert.match(hit.snippet, /\u0002доставка\u0003/, 'the match is marked');
  assert.equal(hit.state, 'closed');
  assert.equal(hit.missed, true);
  assert.equal(hit.visitor.name, 'Мария');
  assert.equal(ru.json.conversations.find((x) => x.id === offId).state, 'offline');
  // English stemming: "delivering" finds "delivered" (both 'deliv'; Snowball stems "delivery" to
  // 'deliveri', so that one finds "deliveries", not "delivered").
  const en = await search(token, { q: 'delivering' });
  assert.deepEqual(ids(en), [delivered.id], en.text);
  assert.match(en.json.conversations[0].snippet, /\u0002delivered\u0003/);
  assert.deepEqual([en.json.conversations[0].operator.name, en.json.conversations[0].messages], ['Boris', 2]);
  assert.deepEqual(ids(await search(token, { q: 'refunds' })), [refund.id]);
  assert.deepEqual(ids(await search(token, { q: 'nothing-like-this-anywhere' })), []);

  // Filters.
  assert.deepEqual(ids(await search(token, { state: 'missed' })), [missed.id]);
  assert.deepEqual(ids(await search(token, { state: 'offline' })), [offId]);
  assert.deepEqual(ids(await search(token, { state: 'open' })), [live]);
  assert.deepEqual(new Set(ids(await search(token, { state: 'closed' }))), new Set([delivered.id, missed.id, refund.id]));
  assert.deepEqual(ids(await search(token, { operator: boris.id })), [delivered.id]);
  assert.deepEqual(ids(await search(token, { group: 'sales' })), [delivered.id]);           // Boris is in sales
  // Anna is in support, and the live chat was routed to her by the rule naming support.
  assert.deepEqual(new Set(ids(await search(token, { group: 'support' }))), new Set([live, refund.id]));
  assert.deepEqual(ids(await search(token, { from: '2026-03-01', to: '2026-03-02' })), [delivered.id]);
  assert.deepEqual(ids(await search(token, { from: '2026-03-01T00:00:00Z', to: '2026-03-05T09:00:00+00:00' })), [delivered.id]);
  assert.deepEqual(ids(await search(token, { visitor: 'smith' })), [delivered.id]);
  assert.deepEqual(ids(await search(token, { visitor: 'olga' })), [offId]);
  assert.deepEqual(ids(await search(token, { visitor: delivered.visitor })), [delivered.id]);
  assert.deepEqual(ids(await search(token, { q: 'доставка', state: 'missed' })), [missed.id]);

  // Pages: newest first, at most `limit`, the cursor continues without repeats or gaps.
  for (let i = 0; i < 7; i++)
    storedChat(siteA.id, { visitorName: `Page ${i}`, at: `2026-01-0${i + 1}T08:00:00Z`, texts: [`paging message ${i}`] });
  const all = [];
  let page = await search(token, { q: 'paging', limit: '3' });
  for (;;) {
    assert.equal(page.status, 200, page.text);
    assert.ok(page.json.conversations.length <= 3);
    all.push(...page.json.conversations.map((x) => x.visitor.name));
    if (!page.json.next) break;
    page = await search(token, { q: 'paging', limit: '3', before: page.json.next });
  }
  assert.deepEqual(all, [6, 5, 4, 3, 2, 1, 0].map((i) => `Page ${i}`));
  const everything = await search(token, { limit: '50' });
  assert.equal(everything.json.conversations.length, 12, everything.text);
  const started = everything.json.conversations.map((x) => x.started_ms);
  assert.deepEqual(started, [...started].sort((a, b) => b - a), 'newest first');

  // One conversation, read-only: transcript, notes, routing fields, visitor.
  const one = await api(`/conversations/${refund.id}`, token);
  assert.equal(one.status, 200, one.text);
  assert.deepEqual(one.json.messages.map((m) => [m.author, m.text]),
    [['visitor', 'I want a refund for my order'], ['operator', 'Of course']]);
  assert.deepEqual([one.json.conversation.state, one.json.conversation.operator.name, one.json.conversation.rule],
    ['closed', 'Anna', 'Everyone']);
  assert.deepEqual([one.json.notes[0].text, one.json.notes[0].author.name, one.json.notes[0].to_operator.name],
    ['VIP customer, be kind', 'Anna', 'Boris']);
  assert.equal(one.json.visitor.name, 'Pavel');
  const liveOne = await api(`/conversations/${live}`, token);
  assert.equal(liveOne.json.messages[0].text, 'Когда будут доставки в Казань?');
  const offOne = await api(`/conversations/${offId}`, token);
  assert.deepEqual([offOne.json.conversation.kind, offOne.json.visitor.phone, offOne.json.messages[0].text],
    ['offline', '+7 900 111-22-33', 'Перезвоните насчёт доставки, пожалуйста']);

  // Another site: finds nothing of A's, opens nothing of A's (404), and A never sees B's.
  const strangerSearch = await search(theirs, { q: 'доставка' });
  assert.deepEqual(ids(strangerSearch), [theirChat.id], strangerSearch.text);
  for (const id of [refund.id, live, offId]) {
    const r = await api(`/conversations/${id}`, theirs);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error, 'not_found');
  }
  assert.equal((await api(`/conversations/${theirChat.id}`, token)).status, 404);
  assert.ok(!ids(await search(token, { q: 'delivered', limit: '50' })).includes(theirChat.id));

  // Bad parameters: 400 naming the parameter; no session: 401; writes: 405.
  for (const [params, word] of [[{ limit: '0' }, 'limit'], [{ limit: '51' }, 'limit'], [{ limit: 'x' }, 'limit'],
    [{ from: '2026-02-30' }, 'from'], [{ to: 'yesterday' }, 'to'], [{ state: 'lost' }, 'state'],
    [{ operator: 'anna' }, 'operator'], [{ group: 'Sales!' }, 'group'], [{ before: 'garbage' }, 'before'],
    [{ q: 'x'.repeat(501) }, 'q'], [{ site: siteB.id }, 'unknown query parameter']]) {
    const r = await search(token, params);
    assert.equal(r.status, 400, `${JSON.stringify(params)}: ${r.text}`);
    assert.match(r.json.message, new RegExp(word), r.text);
  }
  assert.equal((await api('/conversations?q=a&q=b', token)).status, 400);
  assert.equal((await api('/conversations/not-a-uuid', token)).status, 404);
  assert.equal((await api('/conversations', 'not-a-session')).status, 401);
  assert.equal((await api('/conversations')).status, 401);
  const put = await fetch(`${c.gatewayUrl(0)}/api/v1/conversations/${refund.id}`, { method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(put.status, 405);
  for (const w of [annaWs, strangerWs, v, v2]) w.close();
  assert.deepEqual(c.problems(), []);
});
