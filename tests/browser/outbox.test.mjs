// Browser test: the admin's settings page shows the site's undelivered mail
// ("Outgoing mail", web/console/outbox.js) with why it did not go out, in
// English and in Russian, against a real cluster whose site has no mail server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startCluster, waitFor } from '../lib/cluster.mjs';
import { visitor, clientId } from '../lib/client.mjs';

const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;
let cluster, browser;
const problems = [];

before(async () => {
  cluster = await startCluster({ gateways: 1, routers: 1, env: { BESEDA_MAIL_POLL_MS: '100' } });
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (cluster) await cluster.stop();
});

async function settingsPage(op, locale) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 820 }, locale });
  const page = await context.newPage();
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss().catch(() => {}); });
  page.on('console', (msg) => { if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) problems.push(msg.text()); });
  await page.goto(`${cluster.gatewayUrl(0)}/console/`);
  await page.locator('#login-email').fill(op.email);
  await page.locator('#login-password').fill(op.password);
  await page.locator('#login-submit').click();
  await page.locator('#open-settings').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#open-settings').click();
  await page.locator('#settings-outbox').waitFor({ state: 'visible', timeout: TIMEOUT });
  return { page, context };
}

test('the settings page lists undelivered mail with the reason, in English and Russian; Refresh shows new mail', async () => {
  const site = await cluster.createSite('Mailless <b>shop</b>');
  const email = `admin-${Date.now()}@outbox.test`;
  cluster.storeAdmin('create-operator', '--site', site.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Alla Admin', '--role', 'admin');
  const admin = { email, password: 'correct horse battery' };

  const { page, context } = await settingsPage(admin, 'en-US');
  await waitFor(async () => /Nothing is waiting/.test(await page.locator('#outbox-summary').textContent()), { what: 'an empty outbox' });

  const v = await visitor(cluster.wsUrl(0, 'visitor'), site.id);
  await v.request({ type: 'offline', client_id: clientId('off'), name: '<img src=x onerror=alert(1)>', email: 'ivan@example.ru', text: 'Call me' }, 'ok');
  v.close();
  await waitFor(() => cluster.sql(`SELECT attempts FROM mail_outbox WHERE site_id = '${site.id}'`)[0]?.[0] >= '1',
    { what: 'the first attempt', timeoutMs: 20000 });

  await page.locator('#outbox-refresh').click();
  await waitFor(async () => /1 waiting for the next attempt, 0 not delivered/.test(await page.locator('#outbox-summary').textContent()),
    { what: 'the summary after Refresh' });
  assert.ok(await page.locator('#outbox-no-server').isVisible(), 'the no-mail-server hint');
  const item = page.locator('#outbox-list .outbox-item');
  assert.equal(await item.count(), 1);
  const text = await item.textContent();
  assert.match(text, /Waiting/);
  assert.match(text, /Offline message/);
  assert.match(text, /Offline message from <img src=x onerror=alert\(1\)> \(Mailless <b>shop<\/b>\)/, 'the subject as text');
  assert.match(text, /To: \(no recipients\)/);
  assert.match(text, /Attempts: 1/);
  assert.match(text, /Last error: the site has no mail server: offline\.smtp_url is not set/);
  assert.equal(await page.locator('#outbox-list img, #outbox-list b').count(), 0, 'nothing rendered as HTML');
  await context.close();

  const ru = await settingsPage(admin, 'ru-RU');
  await waitFor(async () => /Ждут следующей попытки: 1/.test(await ru.page.locator('#outbox-summary').textContent()), { what: 'the Russian summary' });
  assert.match(await ru.page.locator('#settings-outbox h3').textContent(), /Исходящая почта/);
  assert.match(await ru.page.locator('#outbox-list').textContent(), /Ждёт.*Офлайн-сообщение.*Последняя ошибка: the site has no mail server/s);
  assert.match(await ru.page.locator('#outbox-no-server').textContent(), /Почтовый сервер не задан/);
  await ru.context.close();
  assert.deepEqual(problems, [], 'no page errors, CSP violations or dialogs');
});
