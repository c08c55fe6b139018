// Browser test: the real widget and operator console in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core), against a real
// throwaway cluster from tests/lib/cluster.mjs.
//
//   cd tests/browser && npm ci && node --test
//
// BESEDA_CHROMIUM overrides the browser binary; BESEDA_SCREENSHOTS=<dir>
// saves screenshots of the widget and the console along the way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startCluster } from '../lib/cluster.mjs';
import { eventually } from './lib.mjs';
import { startSmtp } from '../lib/smtp.mjs';

const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.BESEDA_SCREENSHOTS || '';
const TIMEOUT = 15000;

let cluster;
let browser;
const problems = []; // page errors and dialogs: any of them fails the test

async function texts(locator) {
  return locator.allTextContents();
}

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

function watch(page, who) {
  page.on('pageerror', (err) => problems.push(`${who}: page error: ${err.message}`));
  page.on('dialog', async (dialog) => {
    problems.push(`${who}: unexpected dialog "${dialog.message()}" (script injection?)`);
    await dialog.dismiss().catch(() => {});
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) {
      problems.push(`${who}: ${msg.text()}`);
    }
  });
}

before(async () => {
  cluster = await startCluster({ gateways: 1, routers: 2, env: { BESEDA_MAIL_POLL_MS: '100' } });
  // launch() gives every run a fresh temporary user-data dir of its own.
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

test('visitor and operator chat through the widget and the console', async (t) => {
  const gw = cluster.gatewayUrl(0);
  const op = cluster.operator;
  t.after(() => {
    if (problems.length) console.error(problems.join('\n'));
  });

  // ---- operator: log in, go online
  const opContext = await browser.newContext({ viewport: { width: 1360, height: 820 } });
  const consolePage = await opContext.newPage();
  watch(consolePage, 'console');
  await consolePage.goto(`${gw}/console/`);
  await consolePage.locator('#login-email').fill(op.email);
  await consolePage.locator('#login-password').fill(op.password);
  await shot(consolePage, '01-console-login');
  await consolePage.locator('#login-submit').click();
  await consolePage.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await consolePage.locator('#me-name').textContent(), op.name), 'operator name');
  await consolePage.locator('#status-online').click();
  await eventually(async () => assert.equal(await consolePage.locator('#status-online').getAttribute('aria-pressed'), 'true'),
    'status online confirmed');

  // ---- visitor: the demo shop with the widget
  const visitorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const shop = await visitorContext.newPage();
  watch(shop, 'demo');
  await shop.goto(`${gw}/demo.html?site=${encodeURIComponent(cluster.site.id)}`);
  await shop.locator('#beseda-launcher').click();
  const widget = shop.frameLocator('#beseda-frame');
  await widget.locator('#input').waitFor({ state: 'visible', timeout: TIMEOUT });
  // Connected, and knows an operator is online.
  await eventually(async () => assert.ok(await widget.locator('#status-dot.on').count() === 1), 'widget online state');

  const first = 'Hello! Do you have the oak table in stock?';
  await widget.locator('#input').fill(first);
  await widget.locator('#input').press('Enter');
  await eventually(async () => assert.deepEqual(await texts(widget.locator('.msg-out[data-seq="1"] .msg-text')), [first]),
    'the first message acked in the widget');

  // ---- console: the chat is assigned and shows the message
  await eventually(async () => assert.equal(await consolePage.locator('#conversations .conv').count(), 1), 'assigned chat in the list');
  await consolePage.locator('#conversations .conv').first().click();
  await eventually(async () => assert.deepEqual(await texts(consolePage.locator('#chat-messages .msg-in .msg-text')), [first]),
    'the visitor message in the console');

  // ---- sneak peek: the console sees the draft before it is sent
  const draft = 'And could you deliver it to Berlin';
  await widget.locator('#input').fill(draft);
  await eventually(async () => {
    assert.ok(await consolePage.locator('#draft').isVisible());
    assert.equal(await consolePage.locator('#draft-text').textContent(), draft);
  }, 'the visitor draft in the console');
  await shot(consolePage, '02-console-sneak-peek');
  await widget.locator('#input').press('Enter');
  await eventually(async () => assert.deepEqual(await texts(consolePage.locator('#chat-messages .msg-in .msg-text')), [first, draft]),
    'the second visitor message in the console');

  // ---- operator replies; the widget shows it
  const reply = 'Hi! Yes, it is in stock, and we deliver to Berlin in 5 days.';
  await consolePage.locator('#chat-input').fill(reply);
  await consolePage.locator('#chat-input').press('Enter');
  await eventually(async () => assert.deepEqual(await texts(consolePage.locator('#chat-messages .msg-out:not(.pending) .msg-text')), [reply]),
    'the reply acked in the console');
  await eventually(async () => assert.deepEqual(await texts(widget.locator('.msg-in:not(.greeting) .msg-text')), [reply]),
    'the reply in the widget');

  // ---- markup in messages is text on both sides
  const evilVisitor = '<img src=x onerror=alert(1)>';
  const evilOperator = '<img src=x onerror=alert(2)><script>alert(3)</script>';
  await widget.locator('#input').fill(evilVisitor);
  await widget.locator('#input').press('Enter');
  await eventually(async () => assert.equal(await consolePage.locator('#chat-messages .msg-in .msg-text').last().textContent(), evilVisitor),
    'the markup message shown as text in the console');
  await consolePage.locator('#chat-input').fill(evilOperator);
  await consolePage.locator('#chat-input').press('Enter');
  await eventually(async () => assert.equal(await widget.locator('.msg-in .msg-text').last().textContent(), evilOperator),
    'the markup message shown as text in the widget');
  assert.equal(await consolePage.locator('#chat-messages img').count(), 0, 'no <img> created in the console');
  assert.equal(await consolePage.locator('#chat-messages script').count(), 0, 'no <script> created in the console');
  assert.equal(await widget.locator('#messages img').count(), 0, 'no <img> created in the widget');
  assert.equal(await widget.locator('#messages script').count(), 0, 'no <script> created in the widget');
  await shot(shop, '03-widget-open');
  await shot(consolePage, '04-console-chat');

  // ---- reload: the conversation is still there, in order
  const expected = [first, draft, reply, evilVisitor, evilOperator];
  await shop.reload();
  const reloaded = shop.frameLocator('#beseda-frame');
  await eventually(async () => {
    assert.deepEqual(await texts(reloaded.locator('#messages .msg[data-seq] .msg-text')), expected);
    const seqs = (await reloaded.locator('#messages .msg[data-seq]').evaluateAll(
      (nodes) => nodes.map((n) => Number(n.dataset.seq)))).filter((s) => s > 0);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  }, 'the history after a reload');
  // The widget was open before the reload and opens itself again.
  await reloaded.locator('#input').waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await reloaded.locator('#messages img').count(), 0, 'no <img> after the reload');

  // ---- a phone: the open chat takes the whole screen
  const phone = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
  const phoneShop = await phone.newPage();
  watch(phoneShop, 'phone');
  await phoneShop.goto(`${gw}/demo.html?site=${encodeURIComponent(cluster.site.id)}`);
  await phoneShop.locator('#beseda-launcher').click();
  await phoneShop.frameLocator('#beseda-frame').locator('#input').waitFor({ state: 'visible', timeout: TIMEOUT });
  const box = await phoneShop.locator('#beseda-frame').boundingBox();
  assert.ok(box && box.width >= 389 && box.height >= 779, `full-screen frame on a phone, got ${JSON.stringify(box)}`);
  assert.equal(await phoneShop.locator('#beseda-launcher').isVisible(), false, 'launcher hidden under the open chat');
  await shot(phoneShop, '05-widget-phone');

  assert.deepEqual(problems, [], 'no page errors, CSP violations or dialogs');
});

/** A console page logged in as op and online. */
async function consoleFor(op, who) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 820 } });
  const page = await context.newPage();
  watch(page, who);
  await page.goto(`${cluster.gatewayUrl(0)}/console/`);
  await page.locator('#login-email').fill(op.email);
  await page.locator('#login-password').fill(op.password);
  await page.locator('#login-submit').click();
  await page.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.equal(await page.locator('#me-name').textContent(), op.name), `${who} logged in`);
  return { page, context };
}

async function setStatusIn(page, status) {
  await page.locator(`#status-${status}`).click();
  await eventually(async () => assert.equal(await page.locator(`#status-${status}`).getAttribute('aria-pressed'), 'true'), `status ${status}`);
}

test('an operator transfers a chat with a note in the real console; the team chat between two consoles', async () => {
  const site = await cluster.createSite('Transfer shop');
  const anna = await cluster.createOperator(site.id, { name: 'Anna' });
  const boris = await cluster.createOperator(site.id, { name: 'Boris' });
  const { page: a } = await consoleFor(anna, 'anna');
  const { page: b } = await consoleFor(boris, 'boris');
  await setStatusIn(b, 'away');          // so the chat goes to Anna
  await setStatusIn(a, 'online');

  const visitorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const shop = await visitorContext.newPage();
  watch(shop, 'transfer-shop');
  await shop.goto(`${cluster.gatewayUrl(0)}/demo.html?site=${encodeURIComponent(site.id)}`);
  await shop.locator('#beseda-launcher').click();
  const widget = shop.frameLocator('#beseda-frame');
  await widget.locator('#input').waitFor({ state: 'visible', timeout: TIMEOUT });
  await widget.locator('#input').fill('I want a discount on the sofa');
  await widget.locator('#input').press('Enter');
  await eventually(async () => assert.equal(await a.locator('#conversations .conv').count(), 1), "the chat in Anna's list");
  await a.locator('#conversations .conv').first().click();
  await setStatusIn(b, 'online');

  const note = 'Regular customer, offer 10%';
  await a.locator('#transfer-open').click();
  await eventually(async () => assert.equal(await a.locator(`#transfer-target option[value="op:${boris.id}"]:not([disabled])`).count(), 1),
    'Boris offered as online');
  await a.locator('#transfer-target').selectOption(`op:${boris.id}`);
  await a.locator('#transfer-note').fill(note);
  await shot(a, '06-console-transfer');
  await a.locator('#transfer-submit').click();

  await eventually(async () => assert.equal(await b.locator('#conversations .conv').count(), 1), "the chat in Boris's list");
  await eventually(async () => assert.equal(await a.locator('#conversations .conv').count(), 0), "the chat gone from Anna's list");
  await b.locator('#conversations .conv').first().click();
  await eventually(async () => assert.match(await b.locator('#chat-messages .notice.internal').textContent(), /Anna.*Regular customer, offer 10%/),
    'the note and who transferred, for Boris');
  await eventually(async () => assert.deepEqual(await texts(b.locator('#chat-messages .msg-in .msg-text')), ['I want a discount on the sofa']),
    'the earlier message for Boris');
  await eventually(async () => assert.ok((await texts(widget.locator('#messages .notice'))).includes('Boris joined the chat')),
    'the visitor sees Boris join');
  assert.ok(!(await widget.locator('#messages').textContent()).includes('Regular customer'), 'the note reached the visitor');
  await b.locator('#chat-input').fill('Boris here: 10% off for you.');
  await b.locator('#chat-input').press('Enter');
  await eventually(async () => assert.ok((await texts(widget.locator('.msg-in .msg-text'))).includes('Boris here: 10% off for you.')),
    "Boris's reply in the widget");
  await shot(b, '07-console-after-transfer');

  // ---- the team chat: Anna writes, Boris sees the badge and the message
  await a.locator('#open-team').click();
  await a.locator('#team-input').fill('Thanks Boris!');
  await a.locator('#team-input').press('Enter');
  await eventually(async () => assert.deepEqual(await texts(a.locator('#team-messages .msg-out:not(.pending) .msg-text')), ['Thanks Boris!']),
    'the team message acked for Anna');
  await eventually(async () => assert.equal(await b.locator('#team-unread').textContent(), '1'), "Boris's team badge");
  await b.locator('#open-team').click();
  await eventually(async () => assert.deepEqual(await texts(b.locator('#team-messages .msg-in .msg-text')), ['Thanks Boris!']),
    'the team message for Boris');
  assert.equal(await widget.locator('#messages').textContent().then((x) => x.includes('Thanks Boris')), false, 'the team chat reached the visitor');
  assert.deepEqual(problems, [], 'no page errors, CSP violations or dialogs');
});

test('the widget: the offline form when nobody can answer (its mail arrives); the pre-chat survey before the chat, seen in the console', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.stop());
  const gw = cluster.gatewayUrl(0);
  const closed = await cluster.createSite('Closed shop');
  cluster.sql(`INSERT INTO site_settings (site_id, offline) VALUES ('${closed.id}',
    '${JSON.stringify({ smtp_url: smtp.url, smtp_user: '', smtp_password: '', from: 'chat@closed.test', to: ['support@closed.test'] })}'::jsonb)`);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const shop = await context.newPage();
  watch(shop, 'closed-shop');
  await shop.goto(`${gw}/demo.html?site=${encodeURIComponent(closed.id)}`);
  await shop.locator('#beseda-launcher').click();
  const widget = shop.frameLocator('#beseda-frame');
  await widget.locator('#offline-text').waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await widget.locator('#composer').isVisible(), false, 'no chat input while nobody can answer');
  await widget.locator('#offline-name').fill('Ivan <b>Petrov</b>');
  await widget.locator('#offline-text').fill('Please call me after 6 pm');
  await widget.locator('.form-submit').click();
  await eventually(async () => assert.match(await widget.locator('.form-panel .form-error').textContent(), /e-mail or a phone/),
    'asked for a way back');
  await widget.locator('#offline-email').fill('ivan@example.test');
  await widget.locator('.form-submit').click();
  await eventually(async () => assert.match(await widget.locator('.form-panel').textContent(), /Thank you/), 'thanked');
  await shot(shop, '08-widget-offline-thanks');
  const [mail] = await smtp.waitFor((ms) => ms.filter((m) => m.to.includes('support@closed.test')), { what: 'the offline mail' });
  assert.match(mail.body, /Please call me after 6 pm/);
  assert.match(mail.body, /ivan@example\.test/);
  assert.equal(mail.header('Reply-To'), 'ivan@example.test');

  // ---- the survey: required name, a question; its answers reach the console
  const surveyed = await cluster.createSite('Survey shop');
  cluster.sql(`INSERT INTO site_settings (site_id, survey) VALUES ('${surveyed.id}',
    '${JSON.stringify({ enabled: true, name: 'required', email: 'optional', phone: 'off', question: 'What do you need?', choices: ['Buy', 'Help with an order'], question_required: true })}'::jsonb)`);
  const vera = await cluster.createOperator(surveyed.id, { name: 'Vera' });
  const { page: op } = await consoleFor(vera, 'vera');
  await setStatusIn(op, 'online');
  const shop2 = await context.newPage();
  watch(shop2, 'survey-shop');
  await shop2.goto(`${gw}/demo.html?site=${encodeURIComponent(surveyed.id)}`);
  await shop2.locator('#beseda-launcher').click();
  const w2 = shop2.frameLocator('#beseda-frame');
  await w2.locator('#survey-name').waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await w2.locator('#composer').isVisible(), false, 'the survey comes first');
  await w2.locator('.form-submit').click();
  await eventually(async () => assert.match(await w2.locator('.form-panel .form-error').textContent(), /required/), 'required fields');
  await w2.locator('#survey-name').fill('Ivan');
  await w2.locator('#survey-answer').selectOption('Help with an order');
  await w2.locator('.form-submit').click();
  await w2.locator('#input').waitFor({ state: 'visible', timeout: TIMEOUT });
  await w2.locator('#input').fill('Where is my order 1234?');
  await w2.locator('#input').press('Enter');
  await eventually(async () => assert.equal(await op.locator('#conversations .conv').count(), 1), "the chat in Vera's list");
  await eventually(async () => assert.equal(await op.locator('#conversations .conv .conv-name').first().textContent(), 'Ivan'),
    'the visitor named by the survey');
  await op.locator('#conversations .conv').first().click();
  await eventually(async () => assert.match(await op.locator('#visitor-info').textContent(), /Help with an order/), 'the survey answer in the panel');
  await shot(shop2, '09-widget-after-survey');
  assert.deepEqual(problems, [], 'no page errors, CSP violations or dialogs');
});

test("the admin's settings page: a bad routing document is refused naming the path, a good one is saved and applies", async () => {
  const site = await cluster.createSite('Settings shop');
  const email = `admin-${Date.now()}@settings.test`;
  const id = cluster.storeAdmin('create-operator', '--site', site.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Alla Admin', '--role', 'admin');
  const admin = { id, email, password: 'correct horse battery', name: 'Alla Admin' };
  const { page } = await consoleFor(admin, 'admin');
  await page.locator('#open-settings').waitFor({ state: 'visible', timeout: TIMEOUT });
  await page.locator('#open-settings').click();
  const routing = page.locator('#settings-routing');
  await routing.waitFor({ state: 'visible', timeout: TIMEOUT });
  const bad = { timezone: 'UTC', groups: [{ id: 'sales', name: 'Sales', operators: [id] }],
    rules: [{ name: 'Weekdays', match: {}, groups: ['sales'], hours: { mon: [['25:00', '18:00']] } }] };
  await routing.fill(JSON.stringify(bad));
  await page.locator('#settings-save-routing').click();
  await eventually(async () => assert.match(await page.locator('.settings-section').first().locator('.settings-status').textContent(),
    /rules\[0\]\.hours\.mon\[0\]/), 'the error names the path');
  const good = { ...bad, rules: [{ ...bad.rules[0], hours: { mon: [['09:00', '18:00']] } }] };
  await routing.fill(JSON.stringify(good, null, 2));
  await page.locator('#settings-save-routing').click();
  await eventually(async () => assert.match(await page.locator('.settings-section').first().locator('.settings-status').textContent(), /Saved/),
    'saved');
  const stored = cluster.sql(`SELECT routing->'rules'->0->'hours'->'mon'->0->>0 FROM site_settings WHERE site_id = '${site.id}'`)[0][0];
  assert.equal(stored, '09:00');
  await shot(page, '10-console-settings');
  // A plain operator has no settings button.
  const plain = await cluster.createOperator(site.id, { name: 'Plain' });
  const { page: p2 } = await consoleFor(plain, 'plain');
  assert.equal(await p2.locator('#open-settings').isVisible(), false);
  assert.deepEqual(problems, [], 'no page errors, CSP violations or dialogs');
});
