// Browser test: what the console shows an operator of the site's routing
// (docs/ROUTING.md): a group an admin creates while the console is open is
// a transfer target at once; the response-limit warning on an accepted chat
// nobody answered, in English and Russian, and its going away once the
// operator answers; the inbox of missed chats and offline messages,
// answered by e-mail (to the SMTP sink) or marked done. Real cluster (tests/lib/cluster.mjs), Debian's
// Chromium through playwright-core; the visitor is a protocol client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startCluster } from '../lib/cluster.mjs';
import { eventually } from './lib.mjs';
import { visitor, operator, clientId } from '../lib/client.mjs';
import { startSmtp } from '../lib/smtp.mjs';

const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;
const SHOTS = process.env.BESEDA_SCREENSHOTS || '';

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

let cluster;
let browser;
let smtp;
const problems = [];

function watch(page, who) {
  page.on('pageerror', (err) => problems.push(`${who}: page error: ${err.message}`));
  page.on('dialog', async (dialog) => {
    problems.push(`${who}: unexpected dialog "${dialog.message()}"`);
    await dialog.dismiss().catch(() => {});
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) problems.push(`${who}: ${msg.text()}`);
  });
}

async function openConsole(op, { locale = 'en-US', viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  watch(page, `console ${locale}`);
  await page.goto(`${cluster.gatewayUrl(0)}/console/`);
  await page.locator('#login-email').fill(op.email);
  await page.locator('#login-password').fill(op.password);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  return page;
}

before(async () => {
  smtp = await startSmtp();
  cluster = await startCluster({ gateways: 1, routers: 1, env: { BESEDA_MAIL_POLL_MS: '100' } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (cluster) await cluster.stop();
  if (smtp) await smtp.stop();
});

test('a group created after the operator logged in is offered in the transfer dialog without a new login', async (t) => {
  t.after(() => { if (problems.length) console.error(problems.join('\n')); });
  const site = await cluster.createSite('Live settings shop');
  const op = await cluster.createOperator(site.id, { name: 'Olga' });
  const adminEmail = `admin-${Date.now()}@test.example`;
  cluster.storeAdmin('create-operator', '--site', site.id, '--email', adminEmail, '--password', 'correct horse battery',
    '--name', 'Alla Admin', '--role', 'admin');
  const page = await openConsole(op);
  await page.locator('#status-online').click();
  await eventually(async () => assert.equal(await page.locator('#status-online').getAttribute('aria-pressed'), 'true'), 'online');
  const v = await visitor(cluster.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'hello' }, 'ack')).type, 'ack');
  await page.locator(`#conversations .conv[data-id="${conv}"]`).click({ timeout: TIMEOUT });

  // The admin adds a group over the API while Olga's console is open.
  const admin = await operator(cluster.wsUrl(0, 'operator'), { email: adminEmail, password: 'correct horse battery' });
  const put = await fetch(`${cluster.gatewayUrl(0)}/api/v1/settings/routing`, {
    method: 'PUT', headers: { Authorization: `Bearer ${admin.welcome.session}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ timezone: 'UTC', groups: [{ id: 'vip', name: 'VIP desk', operators: [op.id] }], rules: [] }),
  });
  assert.equal(put.status, 200, await put.text());
  await eventually(async () => {
    await page.locator('#transfer-open').click();
    const groups = await page.locator('#transfer-target optgroup[label="Groups"] option').allTextContents();
    if (!groups.includes('VIP desk')) { await page.locator('#transfer-cancel').click(); return false; }
    return true;
  }, 'the new group in the transfer dialog');
  await page.locator('#transfer-cancel').click();
  admin.close();
  v.close();
  assert.deepEqual(problems, []);
});

test('an accepted chat left unanswered past the response limit stays open with a warning banner until the operator answers', async (t) => {
  t.after(() => { if (problems.length) console.error(problems.join('\n')); });
  const site = await cluster.createSite('Overdue shop');
  const op = await cluster.createOperator(site.id, { name: 'Olga' });
  cluster.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${site.id}', '${JSON.stringify({
    groups: [{ id: 'g', name: 'G', operators: [op.id] }],
    rules: [{ name: 'Ring, answer in 5 s', match: {}, groups: ['g'], mode: 'ring', notify: 1, response_limit_s: 5 }],
  })}')`);
  const page = await openConsole(op);
  const ru = await openConsole(op, { locale: 'ru-RU', viewport: { width: 390, height: 844 } });
  await page.locator('#status-online').click();
  await eventually(async () => assert.equal(await page.locator('#status-online').getAttribute('aria-pressed'), 'true'), 'online');

  const v = await visitor(cluster.wsUrl(0, 'visitor'), site.id);
  const conv = v.welcome.conversation.id;
  const ack = await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'Is anyone there?' }, 'ack');
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  await page.locator(`[data-accept="${conv}"]`).click({ timeout: TIMEOUT });
  await page.locator(`#conversations .conv[data-id="${conv}"]`).click({ timeout: TIMEOUT });
  await page.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await page.locator('#overdue-banner').isHidden(), true, 'no warning before the limit');

  // The limit passes: a warning, the chat still open and writable, the visitor not told it ended.
  const banner = page.locator(`#overdue-banner .overdue-line[data-conversation="${conv}"]`);
  await banner.waitFor({ state: 'visible', timeout: 20000 });
  assert.match(await banner.locator('.overdue-text').textContent(), /No reply to .* for 5 s\. Nobody else is free/);
  await eventually(async () => assert.match(await ru.locator('#overdue-banner .overdue-text').textContent(), /ждёт ответа больше 5 с/),
    'the Russian console warns too');
  await shot(page, 'overdue-banner');
  await shot(ru, 'overdue-banner-ru-phone');
  assert.equal(await page.locator('#chat-input').isDisabled(), false, 'the chat was closed under the operator');
  assert.ok(!v.frames.some((f) => f.type === 'conversation' && f.conversation.state === 'closed'), 'the visitor was told it ended');

  // "Open the chat" from anywhere, then the answer clears the warning in both consoles.
  await ru.locator(`#overdue-banner .overdue-line[data-conversation="${conv}"] .overdue-open`).click();
  await ru.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#chat-input').fill('Sorry for the wait! How can I help?');
  await page.locator('#chat-input').press('Enter');
  await v.next((f) => f.type === 'message' && f.text === 'Sorry for the wait! How can I help?', { what: 'the answer' });
  await eventually(async () => assert.equal(await page.locator('#overdue-banner').isHidden(), true), 'the warning goes');
  await eventually(async () => assert.equal(await ru.locator('#overdue-banner').isHidden(), true), 'the warning goes in the other console');
  v.close();
  assert.deepEqual(problems, []);
});

test('the inbox lists a missed chat and an offline message with the contact; the operator answers one by e-mail and marks the other done', async (t) => {
  t.after(() => { if (problems.length) console.error(problems.join('\n')); });
  const site = await cluster.createSite('Inbox shop');
  const op = await cluster.createOperator(site.id, { name: 'Olga' });
  cluster.sql(`INSERT INTO site_settings (site_id, routing, survey, offline) VALUES ('${site.id}', '${JSON.stringify({
    groups: [{ id: 'g', name: 'G', operators: [op.id] }],
    rules: [{ name: 'Answer in 5 s', match: {}, groups: ['g'], mode: 'auto', response_limit_s: 5 }],
  })}', '${JSON.stringify({ enabled: true, name: 'optional', email: 'optional', phone: 'optional' })}', '${JSON.stringify({
    smtp_url: smtp.url, smtp_user: '', smtp_password: '', from: 'chat@shop.test', to: ['support@shop.test'] })}')`);
  // The operator is away: nobody answers, the chat is missed.
  const page = await openConsole(op);
  await page.locator('#status-away').click();
  await eventually(async () => assert.equal(await page.locator('#status-away').getAttribute('aria-pressed'), 'true'), 'away');
  const v = await visitor(cluster.wsUrl(0, 'visitor'), site.id);
  assert.equal((await v.request({ type: 'survey', name: 'Maria', email: 'maria@example.test' }, 'ok')).type, 'ok');
  const conv = v.welcome.conversation.id;
  assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('m'), text: 'Where is my order #12?' }, 'ack')).type, 'ack');
  await v.next((f) => f.type === 'conversation' && f.conversation.missed, { what: 'missed', timeoutMs: 15000 });
  const w = await visitor(cluster.wsUrl(0, 'visitor'), site.id);
  const hostile = '<img src=x onerror=alert(1)> call me';
  assert.equal((await w.request({ type: 'offline', client_id: clientId('off'), name: 'Pavel', phone: '+7 900 000-00-00', text: hostile }, 'ok')).type, 'ok');

  // The missed frame refreshed the badge; opening the inbox reads it again.
  await eventually(async () => assert.ok(['1', '2'].includes(await page.locator('#inbox-unread').textContent())),
    'the badge counts the missed chat (and the offline message, if it came first)');
  await page.locator('#open-inbox').click();
  const missed = page.locator('.inbox-item[data-state="new"][data-kind="missed"]');
  const callback = page.locator('.inbox-item[data-state="new"][data-kind="offline"]');
  await missed.waitFor({ state: 'visible', timeout: TIMEOUT });
  await callback.waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await page.locator('#inbox-unread').textContent(), '2'), 'the badge counts both');
  assert.equal(await missed.locator('.inbox-name').textContent(), 'Maria');
  assert.equal(await missed.locator('.inbox-email').textContent(), 'maria@example.test');
  assert.equal(await missed.locator('.inbox-text').textContent(), 'Where is my order #12?');
  assert.equal(await callback.locator('.inbox-phone').textContent(), '+7 900 000-00-00');
  assert.equal(await callback.locator('.inbox-text').textContent(), hostile, 'the text is shown as text');
  assert.equal(await callback.locator('img').count(), 0);
  assert.equal(await callback.locator('.inbox-reply-text').count(), 0, 'no e-mail, no reply form');

  await shot(page, 'inbox-new');
  await missed.locator('.inbox-reply-text').fill('Maria, order #12 ships today.');
  await missed.locator('.inbox-send').click();
  const [mail] = await smtp.waitFor((ms) => ms.filter((m) => m.to.includes('maria@example.test')), { what: 'the reply mail' });
  assert.match(mail.body, /Maria, order #12 ships today\./);
  assert.equal(mail.header('Reply-To'), op.email);
  const answered = page.locator('.inbox-item[data-state="done"][data-kind="missed"]');
  await answered.waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await answered.locator('.inbox-done').textContent(), 'Answered by Olga');
  await callback.locator('.inbox-mark-done').click();
  await page.locator('.inbox-item[data-state="done"][data-kind="offline"]').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await page.locator('#inbox-unread').isHidden(), true), 'nothing new is left');

  // In Russian, at phone size.
  const ru = await openConsole(op, { locale: 'ru-RU', viewport: { width: 390, height: 844 } });
  await ru.locator('#open-inbox').click();
  await eventually(async () => assert.equal(await ru.locator('#inbox-view h2').textContent(), 'Входящие'), 'the Russian heading');
  await eventually(async () => assert.equal(await ru.locator('.inbox-item .inbox-state.done').count(), 2), 'both done');
  assert.match(await ru.locator('.inbox-item[data-kind="missed"]').locator('.inbox-done').textContent(), /Ответил\(а\) Olga/);
  assert.equal(await ru.locator('.inbox-item[data-kind="missed"] .inbox-kind').textContent(), 'Пропущенный чат');
  await shot(ru, 'inbox-done-ru-phone');
  const box = await ru.locator('#inbox-view').boundingBox();
  assert.ok(box && box.width <= 390, 'the inbox fits the phone width');
  v.close();
  w.close();
  assert.deepEqual(problems, []);
});
