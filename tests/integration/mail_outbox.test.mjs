// Undelivered mail is visible to the site's admins: GET /api/v1/mail/outbox
// (docs/PROTOCOL.md §3) lists the site's mail that is not sent — waiting for
// its next attempt or given up — with its recipients, attempts and the last
// error (the SMTP server's refusal, a missing mail server). Only the site's
// own mail, only to its admins.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';
import { startSmtp } from '../lib/smtp.mjs';

let c, smtp, admin, adminWs, plainWs;
before(async () => {
  smtp = await startSmtp();
  // This server refuses every mail for refused.test at the end of DATA.
  smtp.dataReply = (m) => (m.to.some((a) => a.endsWith('@refused.test')) ? '554 5.7.1 mailbox unavailable' : null);
  c = await startCluster({
    gateways: 1, routers: 1, stores: 1,
    env: { BESEDA_MAIL_POLL_MS: '100', BESEDA_MAIL_BACKOFF: '1', BESEDA_MAIL_ATTEMPTS: '2' },
  });
  const email = `admin-${Date.now()}@test.example`;
  const id = c.storeAdmin('create-operator', '--site', c.site.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Alla Admin', '--role', 'admin');
  admin = { id, email, password: 'correct horse battery' };
  adminWs = await operator(c.wsUrl(0, 'operator'), admin);
  plainWs = await operator(c.wsUrl(0, 'operator'), c.operator);
});
after(async () => {
  for (const cl of [adminWs, plainWs]) if (cl) cl.close();
  if (c) await c.stop();
  if (smtp) await smtp.stop();
});

async function outbox(token) {
  const res = await fetch(`${c.gatewayUrl(0)}/api/v1/mail/outbox`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* shown by the assertion */ }
  return { status: res.status, json, text };
}

function mailSettings(site, to) {
  const doc = JSON.stringify({ smtp_url: smtp.url, smtp_user: '', smtp_password: '', from: 'chat@shop.test', to });
  c.sql(`INSERT INTO site_settings (site_id, offline) VALUES ('${site}', '${doc}'::jsonb)
         ON CONFLICT (site_id) DO UPDATE SET offline = EXCLUDED.offline`);
}

test('a mail the SMTP server refuses shows in the admin\'s outbox with its attempts and the server\'s error', async () => {
  mailSettings(c.site.id, ['support@refused.test']);
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id);
  const ok = await v.request({ type: 'offline', client_id: clientId('off'), name: 'Иван', email: 'ivan@example.ru', text: 'Перезвоните' }, 'ok');
  assert.equal(ok.type, 'ok', JSON.stringify(ok));
  const token = adminWs.welcome.session;
  // First attempt refused: pending with attempts 1 and the error; then given up.
  const doc = await waitFor(async () => {
    const r = await outbox(token);
    assert.equal(r.status, 200, r.text);
    return r.json.messages.find((m) => m.state === 'failed') ? r.json : null;
  }, { what: 'the mail given up', timeoutMs: 30000 });
  assert.equal(doc.failed, 1);
  assert.equal(doc.pending, 0);
  const [m] = doc.messages;
  assert.equal(m.kind, 'offline');
  assert.deepEqual(m.to, ['support@refused.test'], 'the site\'s offline.to');
  assert.match(m.subject, /Offline message from Иван/);
  assert.equal(m.attempts, 2);
  assert.match(m.last_error, /554/, `the server's refusal: ${m.last_error}`);
  assert.ok(m.created_ms > Date.now() - 120000 && m.created_ms <= Date.now() + 5000, String(m.created_ms));
  assert.equal(m.next_attempt_ms, null, 'failed: no next attempt');
  assert.match(m.id, /^[0-9a-f-]{36}$/);
  v.close();
});

test('a site without a mail server: the outbox says so; each admin sees only their own site\'s mail', async () => {
  const other = await c.createSite('No mail shop');
  const email = `other-admin-${Date.now()}@test.example`;
  c.storeAdmin('create-operator', '--site', other.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Oleg', '--role', 'admin');
  const otherWs = await operator(c.wsUrl(0, 'operator'), { email, password: 'correct horse battery' });
  const v = await visitor(c.wsUrl(0, 'visitor'), other.id);
  await v.request({ type: 'offline', client_id: clientId('off'), phone: '+7 900 000-00-00', text: 'Hello?' }, 'ok');
  const doc = await waitFor(async () => {
    const r = await outbox(otherWs.welcome.session);
    // An attempt counts when it is leased; its error is written when it ends.
    return r.status === 200 && r.json.messages.some((m) => m.attempts >= 1 && m.last_error) ? r.json : null;
  }, { what: 'an attempt on the site without mail settings', timeoutMs: 30000 });
  assert.equal(doc.messages.length, 1, JSON.stringify(doc));
  assert.match(doc.messages[0].last_error, /smtp_url is not set/);
  assert.deepEqual(doc.messages[0].to, []);
  const mine = await outbox(adminWs.welcome.session);
  assert.ok(mine.json.messages.every((m) => !/No mail shop/.test(m.subject) && m.last_error !== doc.messages[0].last_error),
    `another site's mail is not listed: ${mine.text}`);
  otherWs.close(); v.close();
});

test('the outbox is for site admins: a plain operator gets 403, no token 401, PUT 405', async () => {
  const plain = await outbox(plainWs.welcome.session);
  assert.equal(plain.status, 403, plain.text);
  assert.equal(plain.json.error, 'forbidden');
  const none = await outbox();
  assert.equal(none.status, 401, none.text);
  const put = await fetch(`${c.gatewayUrl(0)}/api/v1/mail/outbox`, {
    method: 'PUT', headers: { Authorization: `Bearer ${adminWs.welcome.session}`, 'Content-Length': '2' }, body: '{}',
  });
  assert.equal(put.status, 405);
});
