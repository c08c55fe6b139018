// Browser test: the console tells apart the answers of requests it has in
// flight at once. Two chats are closed one after the other while the
// gateway's answers are held back (Playwright routes the console's
// WebSocket), then the answers arrive in the other order, before the chats'
// `conversation` deliveries: each chat must end up closed by its own answer,
// matched by the request id (`req`) it echoes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startCluster } from '../lib/cluster.mjs';
import { eventually } from './lib.mjs';
import { visitor, clientId } from '../lib/client.mjs';
import en from '../../web/console/i18n/en.js';

const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 15000;

let cluster;
let browser;

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

test('two chats closed while both answers are in flight: each answer closes its own chat', async () => {
  const gw = cluster.gatewayUrl(0);
  const op = await cluster.createOperator(cluster.site.id, { name: 'Closer' });
  const context = await browser.newContext({ viewport: { width: 1360, height: 820 }, locale: 'en-US' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));

  // The console's socket, through a relay that holds back the `ok`s of `close`.
  const held = [];
  const later = [];
  let hold = true;
  let toPage = null;
  await page.routeWebSocket(/\/ws\/operator/, (ws) => {
    toPage = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => server.send(m));
    server.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(typeof m === 'string' ? m : m.toString()); } catch { /* not ours */ }
      if (hold && f && f.type === 'ok' && f.ref === 'close') held.push(m);
      // The chats' `conversation` deliveries (closed) travel apart from the
      // answers (published, not replied): here they come after them.
      else if (hold && f && f.type === 'conversation') later.push(m);
      else ws.send(m);
    });
  });

  await page.goto(`${gw}/console/`);
  await page.locator('#login-email').fill(op.email);
  await page.locator('#login-password').fill(op.password);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#status-online').click();
  await eventually(async () => assert.equal(await page.locator('#status-online').getAttribute('aria-pressed'), 'true'),
    'online');

  const chats = [];
  for (const text of ['First chat', 'Second chat']) {
    const v = await visitor(cluster.wsUrl(0, 'visitor'), cluster.site.id);
    const conv = v.welcome.conversation.id;
    assert.equal((await v.request({ type: 'send', conversation: conv, client_id: clientId('v'), text }, 'ack')).type, 'ack');
    chats.push({ v, conv });
  }
  const row = (conv) => page.locator(`#conversations .conv[data-id="${conv}"]`);
  await eventually(async () => assert.equal(await page.locator('#conversations .conv').count(), 2), 'both chats listed');

  for (let i = 0; i < 2; i++) {
    await row(chats[i].conv).click();
    await eventually(async () => assert.equal(await page.locator('#close-conversation').textContent(), en.closeChat),
      `chat ${i + 1} open`);
    await page.locator('#close-conversation').click();
    await eventually(() => held.length === i + 1, `the answer to close ${i + 1} held back`);
  }
  // Both are closed on the server; the console has not been told yet. Its
  // answers now arrive, the second one first.
  hold = false;
  for (const m of held.splice(0).reverse()) toPage.send(m);
  for (const { conv } of chats)
    await eventually(async () => assert.match(await row(conv).getAttribute('class'), /\bclosed\b/), `chat ${conv} closed in the list`);
  for (const { conv } of chats) {
    await row(conv).click();
    await eventually(async () => assert.equal(await page.locator('#close-conversation').textContent(), en.chatClosed),
      `chat ${conv} shown closed`);
  }
  for (const m of later.splice(0)) toPage.send(m);
  assert.deepEqual(errors, []);
  for (const { v } of chats) v.close();
  await context.close();
});

// 50 operators logging in at once keep a small store busy for seconds: the
// logins it could not check in time are answered `unavailable`
// (tests/integration/login_throttle.test.mjs raises the timeouts; with the
// defaults on a 2-core machine about two thirds of 50 were). The console
// asks again instead of waiting forever. Here the gateway's answer to the
// first login is replaced by that error.
test('a login the server was too busy to check is tried again by the console', async () => {
  const gw = cluster.gatewayUrl(0);
  const op = await cluster.createOperator(cluster.site.id, { name: 'Patient' });
  const context = await browser.newContext({ viewport: { width: 1360, height: 820 }, locale: 'en-US' });
  const page = await context.newPage();
  let logins = 0;
  await page.routeWebSocket(/\/ws\/operator/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(typeof m === 'string' ? m : m.toString()); } catch { /* not ours */ }
      if (f && f.type === 'login' && ++logins === 1)
        ws.send(JSON.stringify({ type: 'error', code: 'unavailable', message: 'the backend did not answer in time; retry', ref: 'login' }));
      else server.send(m);
    });
  });
  await page.goto(`${gw}/console/`);
  await page.locator('#login-email').fill(op.email);
  await page.locator('#login-password').fill(op.password);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(logins, 2, 'logged in on the second try');
  await context.close();
});
