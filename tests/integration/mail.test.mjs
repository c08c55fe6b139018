// E-mail (docs/ROUTING.md "E-mail", docs/STORE.md "Mail"): the offline form,
// transcripts and missed-chat notices go through the store's outbox and its
// mailer thread to a real SMTP server on loopback (tests/lib/smtp.mjs).
// Checked: the mail's envelope and headers (From, To, Subject, Date,
// Message-ID, MIME, UTF-8 Russian text intact), one mail for a retried form,
// a refusing server retried with backoff until it takes the mail, a site
// without mail settings failing with a clear error, transcripts of one's own
// chat only (and at most 3), header injection, and forms refused with
// nothing stored. Two stores run, so two mailers share the outbox: no mail
// may arrive twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, freePort } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';
import { startSmtp } from '../lib/smtp.mjs';

let c, smtp;
before(async () => {
  smtp = await startSmtp();
  c = await startCluster({
    gateways: 1, routers: 1, stores: 2,      // two mailers share the outbox
    env: { BESEDA_MAIL_POLL_MS: '100', BESEDA_MAIL_BACKOFF: '1', BESEDA_MAIL_ATTEMPTS: '5' },
  });
});
after(async () => { if (c) await c.stop(); if (smtp) await smtp.stop(); });

/** Sets the site's offline section straight in PostgreSQL (the HTTP API is tested elsewhere). */
function mailSettings(site, { to = ['support@shop.test'], from = 'chat@shop.test', url = smtp.url } = {}) {
  const doc = JSON.stringify({ smtp_url: url, smtp_user: '', smtp_password: '', from, to });
  c.sql(`INSERT INTO site_settings (site_id, offline) VALUES ('${site}', '${doc}'::jsonb)
         ON CONFLICT (site_id) DO UPDATE SET offline = EXCLUDED.offline`);
}
const outbox = (where) => c.sql(`SELECT kind, state, attempts, last_error, array_to_string(recipients, ',')
                                   FROM mail_outbox WHERE ${where} ORDER BY created_at`)
  .map(([kind, state, attempts, error, to]) => ({ kind, state, attempts: Number(attempts), error, to }));
const sentTo = (addr) => (ms) => ms.filter((m) => m.to.includes(addr));
const offline = (v, fields) => v.request({ type: 'offline', ...fields }, 'ok');

test('an offline message arrives by mail with its headers and Russian text intact; a retry sends nothing new', async () => {
  const site = await c.createSite('Магазин «Ромашка»');
  mailSettings(site.id, { to: ['support@romashka.test', 'boss@romashka.test'] });
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal(v.welcome.available, false, 'nobody is online: the widget offers the form');
  const id = clientId('off');
  const text = 'Здравствуйте! Перезвоните мне после 18:00, пожалуйста.\nВторая строка — с тире.';
  const ok = await offline(v, { client_id: id, name: 'Иван Петров', email: 'ivan@example.ru', text });
  assert.deepEqual([ok.type, ok.ref, ok.client_id], ['ok', 'offline', id], JSON.stringify(ok));

  const [m] = await smtp.waitFor(sentTo('support@romashka.test'), { what: 'the offline mail' });
  assert.equal(m.from, 'chat@shop.test', 'envelope sender');
  assert.deepEqual(m.to, ['support@romashka.test', 'boss@romashka.test'], 'envelope recipients');
  assert.equal(m.header('From'), 'chat@shop.test');
  assert.equal(m.header('To'), 'support@romashka.test, boss@romashka.test');
  assert.equal(m.header('Reply-To'), 'ivan@example.ru');
  assert.equal(m.header('Subject'), 'Offline message from Иван Петров (Магазин «Ромашка»)');
  assert.match(m.rawHead, /^Subject: =\?UTF-8\?B\?/m, 'the subject is RFC 2047-encoded');
  assert.match(m.header('Content-Type'), /text\/plain; charset=utf-8/i);
  assert.equal(m.header('MIME-Version'), '1.0');
  assert.match(m.header('Date'), /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
  assert.match(m.header('Message-ID'), /^<[0-9a-f-]{36}@shop\.test>$/);
  assert.ok(m.body.includes(text), `body keeps the text: ${m.body}`);
  assert.ok(m.body.includes('Name: Иван Петров') && m.body.includes('E-mail: ivan@example.ru'));
  assert.ok(m.rawBody.split('\r\n').every((l) => l.length <= 76), 'quoted-printable lines are short');

  // The widget re-sends until it sees ok: the same client id again is ok and
  // nothing new; a second message (sent after it) is the only other mail.
  const again = await offline(v, { client_id: id, name: 'Иван Петров', email: 'ivan@example.ru', text });
  assert.equal(again.type, 'ok', JSON.stringify(again));
  await offline(v, { client_id: clientId('off'), phone: '+7 900 123-45-67', text: 'Второе' });
  await smtp.waitFor((ms) => sentTo('support@romashka.test')(ms).length >= 2, { what: 'the second mail' });
  await waitFor(() => outbox(`site_id = '${site.id}'`).every((r) => r.state === 'sent'), { what: 'all sent' });
  assert.equal(sentTo('support@romashka.test')(smtp.messages).length, 2, 'the retry sent no mail');
  assert.deepEqual(c.sql(`SELECT count(*) FROM offline_messages WHERE site_id = '${site.id}'`), [['2']]);
  assert.equal(outbox(`site_id = '${site.id}'`).length, 2);
  const [, second] = sentTo('support@romashka.test')(smtp.messages);
  assert.equal(second.header('Subject'), 'Offline message from +7 900 123-45-67 (Магазин «Ромашка»)');
  assert.equal(second.header('Reply-To'), undefined, 'no e-mail given: no Reply-To');
  v.close();
});

test('a server that refuses the mail (451) is retried with backoff until it takes it', async () => {
  const site = await c.createSite('Refusing');
  mailSettings(site.id, { to: ['retry@shop.test'] });
  let refusals = 0;
  smtp.dataReply = (m) => (m.to.includes('retry@shop.test') && refusals++ < 2 ? '451 4.3.0 try again later' : null);
  try {
    const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
    await offline(v, { client_id: clientId('off'), email: 'a@b.test', text: 'Retry me' });
    await waitFor(() => outbox(`site_id = '${site.id}'`)[0]?.error.includes('451'), { what: 'the first refusal recorded' });
    const [m] = await smtp.waitFor(sentTo('retry@shop.test'), { what: 'the mail after two refusals' });
    assert.ok(m.body.includes('Retry me'));
    await waitFor(() => outbox(`site_id = '${site.id}'`)[0].state === 'sent', { what: 'marked sent' });
    const [row] = outbox(`site_id = '${site.id}'`);
    assert.deepEqual([row.state, row.attempts, row.error], ['sent', 3, '']);
    assert.equal(refusals, 3, 'two refused, then the third attempt was let through');
    v.close();
  } finally { smtp.dataReply = () => null; }
});

test('a site without mail settings: the form is still ok, the mail fails with a clear error after its attempts', async () => {
  const site = await c.createSite('No mail');
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const ok = await offline(v, { client_id: clientId('off'), email: 'a@b.test', text: 'Anyone?' });
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  await waitFor(() => outbox(`site_id = '${site.id}'`)[0]?.state === 'failed', { what: 'failed', timeoutMs: 30000 });
  const [row] = outbox(`site_id = '${site.id}'`);
  assert.equal(row.attempts, 5);
  assert.match(row.error, /smtp_url is not set/);
  assert.deepEqual(c.sql(`SELECT count(*) FROM offline_messages WHERE site_id = '${site.id}'`), [['1']], 'the message is kept');
  // The store is still fine: the next form on another site goes out.
  const other = await c.createSite('Has mail');
  mailSettings(other.id, { to: ['after@shop.test'] });
  const w = await visitor(c.wsUrl(0, 'visitor'), other.id);
  await offline(w, { client_id: clientId('off'), email: 'a@b.test', text: 'Still works' });
  await smtp.waitFor(sentTo('after@shop.test'), { what: 'a mail after the failures' });
  v.close(); w.close();
});

test('hostile forms: refused with a clear error and nothing stored; headers cannot be injected', async () => {
  const site = await c.createSite('Hostile');
  mailSettings(site.id, { to: ['hostile@shop.test'] });
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const refused = async (fields, code, what) => {
    const r = await offline(v, { client_id: clientId('off'), ...fields });
    assert.equal(r.type, 'error', `${what}: ${JSON.stringify(r)}`);
    assert.equal(r.code, code, `${what}: ${JSON.stringify(r)}`);
    return r;
  };
  const noWayBack = await refused({ name: 'Ivan', text: 'hi' }, 'missing_field', 'neither email nor phone');
  assert.match(noWayBack.message, /email or phone/);
  await refused({ email: 'a@b.test', text: '   ' }, 'empty_text', 'blank text');
  await refused({ email: 'a@b.test', text: 'я'.repeat(5000) }, 'text_too_long', 'oversized text');
  await refused({ email: 'not-an-address', text: 'hi' }, 'bad_value', 'bad e-mail');
  await refused({ email: 'a@b.test\r\nBcc: evil@evil.test', text: 'hi' }, 'bad_value', 'CRLF in the e-mail');
  await refused({ email: 'a@b.test', phone: 'call me maybe', text: 'hi' }, 'bad_value', 'bad phone');
  assert.deepEqual(c.sql(`SELECT count(*) FROM offline_messages WHERE site_id = '${site.id}'`), [['0']]);
  assert.equal(outbox(`site_id = '${site.id}'`).length, 0);

  // A line break in the name is taken (names may hold anything), but it
  // never leaves the Subject line.
  await offline(v, { client_id: clientId('off'), name: 'Ivan\r\nBcc: evil@evil.test', email: 'a@b.test', text: 'hi' });
  const [byName] = await smtp.waitFor(sentTo('hostile@shop.test'), { what: 'the mail of the CRLF name' });
  assert.deepEqual(byName.to, ['hostile@shop.test']);
  assert.ok(!byName.headers.some(([n]) => /^bcc$/i.test(n)), `no injected header: ${byName.rawHead}`);
  assert.equal(byName.header('Subject'), 'Offline message from Ivan  Bcc: evil@evil.test (Hostile)');

  // Whatever reaches the outbox, the mailer writes no header of its own from
  // it: control characters in a subject or Reply-To become spaces.
  c.sql(`INSERT INTO mail_outbox (site_id, kind, reply_to, subject, body) VALUES ('${site.id}', 'offline',
         E'x@y.test\\r\\nBcc: evil@evil.test', E'Hi\\r\\nBcc: evil@evil.test\\nX-Evil: 1', E'line\\n.\\n..dots\\nend')`);
  const m = await smtp.waitFor((ms) => sentTo('hostile@shop.test')(ms)[1], { what: 'the hostile row' });
  assert.deepEqual(m.to, ['hostile@shop.test'], 'no extra envelope recipient');
  assert.ok(!m.headers.some(([n]) => /^(bcc|x-evil)$/i.test(n)), `no injected header: ${m.rawHead}`);
  assert.equal(m.header('Reply-To'), undefined, 'an invalid Reply-To is left out');
  assert.equal(m.header('Subject'), 'Hi  Bcc: evil@evil.test X-Evil: 1');
  assert.equal(m.body, 'line\n.\n..dots\nend\n', 'lines of dots survive SMTP');
  v.close();
});

test('an operator cannot send the visitor forms', async () => {
  const op = await operator(c.wsUrl(0, 'operator'), c.operator);
  const r = await op.request({ type: 'offline', client_id: clientId('off'), email: 'a@b.test', text: 'hi' }, 'ok');
  assert.equal(r.type, 'error');
  assert.match(r.code, /forbidden|unknown_type/);
  op.close();
});

test('a transcript of the visitor\'s own chat arrives with every message; at most 3; not of another\'s chat', async () => {
  const site = await c.createSite('Transcripts');
  mailSettings(site.id, { to: ['team@shop.test'] });
  const anna = await c.createOperator(site.id, { name: 'Анна' });
  const op = await operator(c.wsUrl(0, 'operator'), anna);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  for (const text of ['Привет!', 'Есть ли красная модель?']) {
    const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text }, 'ack');
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
  }
  await op.next((f) => f.type === 'assigned' && f.conversation.id === conv, { what: 'assigned' });
  await op.request({ type: 'send', conversation: conv, client_id: clientId('o'), text: 'Да, есть.' }, 'ack');

  const ok = await v.request({ type: 'transcript', conversation: conv, email: 'visitor@mail.test' }, 'ok');
  assert.deepEqual([ok.type, ok.ref, ok.conversation], ['ok', 'transcript', conv], JSON.stringify(ok));
  const [m] = await smtp.waitFor(sentTo('visitor@mail.test'), { what: 'the transcript' });
  assert.deepEqual(m.to, ['visitor@mail.test']);
  assert.equal(m.header('Subject'), 'Your chat with Transcripts');
  const lines = m.body.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} /.test(l)).map((l) => l.slice(17));
  assert.deepEqual(lines, ['You: Привет!', 'You: Есть ли красная модель?', 'Анна: Да, есть.']);

  const stranger = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const theirs = await stranger.request({ type: 'transcript', conversation: conv, email: 'spy@mail.test' }, 'ok');
  assert.equal(theirs.code, 'forbidden', JSON.stringify(theirs));
  const none = await v.request({ type: 'transcript', conversation: '00000000-0000-4000-8000-000000000000',
                                 email: 'visitor@mail.test' }, 'ok');
  assert.equal(none.type, 'error', JSON.stringify(none));
  for (let i = 0; i < 2; i++)
    assert.equal((await v.request({ type: 'transcript', conversation: conv, email: 'visitor@mail.test' }, 'ok')).type, 'ok');
  const fourth = await v.request({ type: 'transcript', conversation: conv, email: 'visitor@mail.test' }, 'ok');
  assert.equal(fourth.code, 'rate_limited', JSON.stringify(fourth));
  await smtp.waitFor((ms) => sentTo('visitor@mail.test')(ms).length === 3, { what: 'three transcripts' });
  assert.equal(sentTo('spy@mail.test')(smtp.messages).length, 0);
  v.close(); op.close(); stranger.close();
});

test('a chat that becomes missed sends one notice to the site', async () => {
  const site = await c.createSite('Missed');
  mailSettings(site.id, { to: ['missed@shop.test'] });
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text: 'Алло, есть кто?' }, 'ack');
  const [[stage]] = c.sql(`SELECT route_stage FROM conversations WHERE id = '${conv}'`);
  const [[applied]] = c.sql(`SELECT applied FROM beseda_route_step('${site.id}', '${conv}', ${stage}, 'miss', '{}', 0,
                               NULL, 'Rule', 0)`);
  assert.equal(applied, 't');
  const [m] = await smtp.waitFor(sentTo('missed@shop.test'), { what: 'the missed notice' });
  assert.match(m.header('Subject'), /^Missed chat from a visitor \(Missed\)$/);
  assert.ok(m.body.includes('Алло, есть кто?') && m.body.includes(conv), m.body);
  // Already missed: nothing more is queued whatever else changes on the row.
  c.sql(`UPDATE conversations SET missed = true, updated_at = now() WHERE id = '${conv}'`);
  assert.equal(outbox(`conversation_id = '${conv}' AND kind = 'missed'`).length, 1);
  v.close();

  // A site that names no recipients asked for no notices.
  const quiet = await c.createSite('Quiet');
  const w = await visitor(c.wsUrl(0, 'visitor'), quiet.id);
  const qconv = w.welcome.conversation.id;
  await w.request({ type: 'send', conversation: qconv, client_id: clientId('v'), text: 'hi' }, 'ack');
  const [[qstage]] = c.sql(`SELECT route_stage FROM conversations WHERE id = '${qconv}'`);
  c.sql(`SELECT applied FROM beseda_route_step('${quiet.id}', '${qconv}', ${qstage}, 'miss', '{}', 0, NULL, 'Rule', 0)`);
  assert.deepEqual(c.sql(`SELECT missed FROM conversations WHERE id = '${qconv}'`), [['t']]);
  assert.equal(outbox(`site_id = '${quiet.id}'`).length, 0);
  w.close();
});

test('the survey frame reaches the store', async () => {
  const site = await c.createSite('Survey');
  c.sql(`INSERT INTO site_settings (site_id, survey) VALUES ('${site.id}',
         '{"enabled": true, "name": "required", "email": "optional", "phone": "off"}'::jsonb)`);
  const v = await visitor(c.wsUrl(0, 'visitor'), site.id);
  const missing = await v.request({ type: 'survey', email: 'a@b.test' }, 'ok');
  assert.equal(missing.code, 'missing_field', JSON.stringify(missing));
  const ok = await v.request({ type: 'survey', name: 'Ольга', email: 'olga@mail.test' }, 'ok');
  assert.deepEqual([ok.type, ok.ref], ['ok', 'survey'], JSON.stringify(ok));
  assert.deepEqual(c.sql(`SELECT name, email FROM visitors WHERE id = '${v.welcome.visitor_id}'`), [['Ольга', 'olga@mail.test']]);
  v.close();
});

test('a row leased by a store that died is sent once the lease ends', async () => {
  const site = await c.createSite('Lease');
  mailSettings(site.id, { to: ['lease@shop.test'] });
  const [[id]] = c.sql(`INSERT INTO mail_outbox (site_id, kind, subject, body, attempts, lease_until)
                        VALUES ('${site.id}', 'offline', 'Leased', 'body', 1, now() + interval '1 hour') RETURNING id`);
  // Another row queued after it goes out meanwhile: the mailers are polling.
  c.sql(`INSERT INTO mail_outbox (site_id, kind, recipients, subject, body)
         VALUES ('${site.id}', 'offline', '{lease-probe@shop.test}', 'Probe', 'body')`);
  await smtp.waitFor(sentTo('lease-probe@shop.test'), { what: 'the probe' });
  assert.equal(sentTo('lease@shop.test')(smtp.messages).length, 0, 'a live lease is left alone');
  c.sql(`UPDATE mail_outbox SET lease_until = now() - interval '1 second' WHERE id = '${id}'`);
  const [m] = await smtp.waitFor(sentTo('lease@shop.test'), { what: 'the mail after its lease' });
  assert.equal(m.header('Subject'), 'Leased');
  await waitFor(() => outbox(`id = '${id}'`)[0].state === 'sent', { what: 'marked sent' });
  assert.equal(outbox(`id = '${id}'`)[0].attempts, 2, 'the dead store\'s attempt counts');
});

test('an unreachable server and a password without TLS are retried with the reason in last_error', async () => {
  const site = await c.createSite('Unreachable');
  const closed = await freePort();
  mailSettings(site.id, { url: `smtp://127.0.0.1:${closed}` });
  c.sql(`INSERT INTO mail_outbox (site_id, kind, subject, body) VALUES ('${site.id}', 'offline', 'x', 'y')`);
  await waitFor(() => outbox(`site_id = '${site.id}'`)[0].error !== '', { what: 'an error recorded' });
  assert.match(outbox(`site_id = '${site.id}'`)[0].error, /connect/i);

  const tls = await c.createSite('Needs TLS');
  const doc = JSON.stringify({ smtp_url: smtp.url, smtp_user: 'u', smtp_password: 'secret', from: 'a@b.test', to: ['tls@shop.test'] });
  c.sql(`INSERT INTO site_settings (site_id, offline) VALUES ('${tls.id}', '${doc}'::jsonb)`);
  c.sql(`INSERT INTO mail_outbox (site_id, kind, subject, body) VALUES ('${tls.id}', 'offline', 'x', 'y')`);
  await waitFor(() => outbox(`site_id = '${tls.id}'`)[0].error !== '', { what: 'the TLS refusal' });
  assert.match(outbox(`site_id = '${tls.id}'`)[0].error, /SSL|TLS/i);
  assert.equal(sentTo('tls@shop.test')(smtp.messages).length, 0, 'nothing sent, so no password in clear');
});

test('with two mailers, no mail arrived twice; the stores count their sends', async () => {
  const ids = smtp.messages.map((m) => m.header('Message-ID'));
  assert.ok(ids.length >= 10, `mails were sent: ${ids.length}`);
  assert.equal(new Set(ids).size, ids.length, 'every Message-ID once');
  const count = async (result) => {
    let n = 0;
    for (const store of ['store-0', 'store-1']) {
      const text = await (await fetch(`${c.adminUrl(store)}/metrics`)).text();
      const m = text.match(new RegExp(`^beseda_store_mail_total\\{result="${result}"\\} (\\d+)$`, 'm'));
      n += m ? Number(m[1]) : 0;
    }
    return n;
  };
  assert.equal(await count('sent'), smtp.messages.length, 'sent = mails the server took');
  assert.ok(await count('retry') >= 2 + 4, 'two 451s and four attempts of the site without settings');
  assert.ok(await count('failed') >= 1, 'the site without settings gave up');
});
