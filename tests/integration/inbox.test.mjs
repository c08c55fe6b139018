// The operators' inbox (docs/ROUTING.md "Inbox", docs/PROTOCOL.md §3): a
// missed chat and an offline message each become an item of their site with
// the visitor's contact and text; an operator answers one by e-mail (it
// arrives at the SMTP sink, Reply-To the operator) or marks a callback done;
// another site's operator neither sees nor answers them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';
import { startSmtp } from '../lib/smtp.mjs';

let c, smtp;
before(async () => {
  smtp = await startSmtp();
  c = await startCluster({ gateways: 1, routers: 1, env: { BESEDA_MAIL_POLL_MS: '100' } });
});
after(async () => { if (c) await c.stop(); if (smtp) await smtp.stop(); });

async function api(method, path, token, body) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* shown by the assertion */ }
  return { status: res.status, json, text };
}

/** A site whose only operator is away (nobody answers), chats missed after 5 s, mail to the sink. */
async function quietSite(name) {
  const site = await c.createSite(name);
  const op = await c.createOperator(site.id, { name: `${name} operator` });
  op.ws = await operator(c.wsUrl(0, 'operator'), op);
  assert.equal((await op.ws.request({ type: 'status', status: 'away' }, 'ok')).type, 'ok');
  c.sql(`INSERT INTO site_settings (site_id, routing, survey, offline) VALUES ('${site.id}', '${JSON.stringify({
    groups: [{ id: 'g', name: 'G', operators: [op.id] }],
    rules: [{ name: 'Answer in 5 s', match: {}, groups: ['g'], mode: 'auto', response_limit_s: 5 }],
  })}', '${JSON.stringify({ enabled: true, name: 'optional', email: 'optional', phone: 'optional' })}', '${JSON.stringify({
    smtp_url: smtp.url, smtp_user: '', smtp_password: '', from: 'chat@shop.test', to: ['support@shop.test'] })}')`);
  return { site, op };
}

test('a missed chat and an offline message appear in the inbox with the contact; a reply reaches the visitor by mail; a callback is marked done; another site sees nothing', async () => {
  const { site, op } = await quietSite('Inbox shop');
  const token = op.ws.welcome.session;
  assert.deepEqual((await api('GET', '/inbox', token)).json, { items: [] });

  // A chat nobody answers: missed after the limit.
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal((await v.request({ type: 'survey', name: 'Мария', email: 'maria@example.ru' }, 'ok')).type, 'ok');
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'Где мой заказ №12?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await v.next((f) => f.type === 'conversation' && f.conversation.state === 'closed' && f.conversation.missed,
    { what: 'missed', timeoutMs: 15000 });
  // An offline message with a phone only.
  const w = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const off = await w.request({ type: 'offline', client_id: clientId('off'), name: 'Pavel', phone: '+7 900 000-00-00',
    text: 'Please call me back after six.' }, 'ok');
  assert.equal(off.type, 'ok', JSON.stringify(off));
  // Open consoles hear of both: the missed chat by `missed`, the message by `inbox_changed`.
  await op.ws.next((f) => f.type === 'missed' && f.conversation.id === conv, { what: 'missed frame' });
  await op.ws.next((f) => f.type === 'inbox_changed' && f.reason === 'offline', { what: 'inbox_changed offline' });

  const list = await api('GET', '/inbox', token);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.items.length, 2, list.text);
  const missed = list.json.items.find((i) => i.kind === 'missed');
  const callback = list.json.items.find((i) => i.kind === 'offline');
  assert.deepEqual([missed.state, missed.conversation, missed.name, missed.email, missed.text],
    ['new', conv, 'Мария', 'maria@example.ru', 'Где мой заказ №12?']);
  assert.deepEqual([callback.state, callback.name, callback.phone, callback.email, callback.text],
    ['new', 'Pavel', '+7 900 000-00-00', '', 'Please call me back after six.']);

  // Another site's operator: an empty inbox, and neither item can be answered.
  const { op: stranger } = await quietSite('Other shop');
  const theirs = stranger.ws.welcome.session;
  assert.deepEqual((await api('GET', '/inbox', theirs)).json, { items: [] });
  for (const [path, body] of [[`/inbox/${missed.id}/reply`, { text: 'gotcha' }], [`/inbox/${callback.id}/done`, {}]]) {
    const r = await api('POST', path, theirs, body);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.error, 'not_found');
  }
  assert.equal(c.sql(`SELECT count(*) FROM mail_outbox WHERE kind = 'reply'`)[0][0], '0');

  // Answering: a reply needs an e-mail address and a text; the mail goes out and the item is done.
  const noMail = await api('POST', `/inbox/${callback.id}/reply`, token, { text: 'hello' });
  assert.equal(noMail.status, 400, noMail.text);
  const empty = await api('POST', `/inbox/${missed.id}/reply`, token, { text: '   ' });
  assert.equal(empty.status, 400, empty.text);
  const reply = await api('POST', `/inbox/${missed.id}/reply`, token, { text: 'Мария, заказ №12 уже в пути.' });
  assert.equal(reply.status, 200, reply.text);
  assert.deepEqual([reply.json.item.state, reply.json.item.done_by.id, reply.json.item.reply],
    ['done', op.id, 'Мария, заказ №12 уже в пути.']);
  const [mail] = await smtp.waitFor((ms) => ms.filter((m) => m.to.includes('maria@example.ru')), { what: 'the reply' });
  assert.equal(mail.header('Reply-To'), op.email);
  assert.equal(mail.header('Subject'), 'Re: your message to Inbox shop');
  assert.match(mail.body, /Мария, заказ №12 уже в пути\./);
  assert.match(mail.body, /> Где мой заказ №12\?/);

  const done = await api('POST', `/inbox/${callback.id}/done`, token, '');
  assert.equal(done.status, 200, done.text);
  await op.ws.next((f) => f.type === 'inbox_changed' && f.reason === 'answered', { what: 'inbox_changed answered' });
  assert.ok(!stranger.ws.frames.some((f) => f.type === 'inbox_changed' || f.type === 'missed'), 'another site heard of it');
  assert.ok(!v.frames.some((f) => f.type === 'inbox_changed') && !w.frames.some((f) => f.type === 'inbox_changed'),
    'a visitor heard of it');
  assert.equal(done.json.item.state, 'done');
  const after = (await api('GET', '/inbox', token)).json.items;
  assert.deepEqual(after.map((i) => i.state), ['done', 'done']);

  // Bad requests are answered, not crashes.
  assert.equal((await api('GET', '/inbox', 'not-a-session')).status, 401);
  assert.equal((await api('POST', '/inbox/not-a-uuid/done', token, {})).status, 404);
  assert.equal((await api('POST', `/inbox/${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}/done`, token, {})).status, 404);
  assert.equal((await api('PUT', `/inbox/${missed.id}/done`, token, {})).status, 405);
  assert.equal((await api('POST', '/inbox', token, {})).status, 405);
  assert.equal((await api('POST', `/inbox/${missed.id}/reply`, token, { text: 5 })).status, 400);
  assert.equal((await api('POST', '/settings', token, {})).status, 405);
  for (const x of [v, w, op.ws, stranger.ws]) x.close();
});
