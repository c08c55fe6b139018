// Browser test: what the console shows an operator about chats that need a
// follow-up (docs/ROUTING.md): the response-limit warning on an accepted
// chat nobody answered, in English and Russian, and its going away once
// the operator answers. Real cluster (tests/lib/cluster.mjs), Debian's
// Chromium through playwright-core; the visitor is a protocol client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startCluster } from '../lib/cluster.mjs';
import { visitor, clientId } from '../lib/client.mjs';

const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;

let cluster;
let browser;
const problems = [];

async function eventually(check, what, timeoutMs = TIMEOUT) {
  const end = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      lastError = new Error('condition is false');
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${lastError && lastError.message}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
  cluster = await startCluster({ gateways: 1, routers: 1 });
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
