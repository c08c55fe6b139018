// The operator console in Russian and English: the language follows the
// browser until the operator picks one with the switch (remembered across
// reloads); switched to Russian, no English UI text is left on the main
// screens (list and chat, visitor panel, transfer dialog, settings, inbox,
// team chat, a closed chat), dates and plurals follow the language; and
// switched back, no Russian is left.
//
//   cd tests/browser && node --test --test-concurrency=1 console_i18n.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, SIZES, TIMEOUT, eventually, shot, setStatus, visitorSays } from './lib.mjs';
import { visitor, clientId } from '../lib/client.mjs';
import en from '../../web/console/i18n/en.js';
import ru from '../../web/console/i18n/ru.js';

const rig = new Rig();
before(async () => { await rig.start(); });
after(async () => {
  if (rig.problems.length) console.error(rig.problems.join('\n'));
  await rig.stop();
});

/**
 * The UI strings of one language that the other says differently: whole
 * strings, and the fixed parts (8+ characters) of those with placeholders.
 */
function phrases(mine, theirs) {
  const whole = new Set();
  const parts = new Set();
  const add = (value, other) => {
    if (typeof value !== 'string' || value === other) return;
    if (!/\{\w+\}/.test(value)) { whole.add(value.trim()); return; }
    for (const piece of value.split(/\{\w+\}/)) if (piece.trim().length >= 8 && /\p{L}/u.test(piece)) parts.add(piece.trim());
  };
  for (const [key, value] of Object.entries(mine)) {
    if (key.startsWith('$')) continue;
    if (typeof value === 'object') for (const [c, form] of Object.entries(value)) add(form, theirs[key] && theirs[key][c]);
    else add(value, theirs[key]);
  }
  return { whole: [...whole].filter((s) => s.length >= 2), parts: [...parts] };
}

/** Every piece of text the operator can see or hear from a screen reader now. */
async function visibleTexts(page) {
  return page.evaluate(() => {
    const seen = (node) => node && node.checkVisibility && node.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })
      && node.getClientRects().length > 0;
    const out = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent.trim();
      if (text && seen(n.parentElement)) out.push(text);
    }
    for (const node of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
      if (!seen(node)) continue;
      for (const attr of ['aria-label', 'title', 'placeholder']) if (node.getAttribute(attr)) out.push(node.getAttribute(attr).trim());
    }
    // The choices of a visible drop-down (options are not laid out themselves).
    for (const select of document.querySelectorAll('select')) {
      if (!seen(select)) continue;
      for (const o of select.querySelectorAll('option, optgroup')) out.push((o.label || o.textContent).trim());
    }
    return out;
  });
}

/** Fails naming every string of `foreign` found on the page's screen `what`. */
async function noForeignText(page, foreign, what, allowed = []) {
  const texts = await visibleTexts(page);
  const found = [];
  for (const text of texts) {
    if (allowed.includes(text)) continue;
    for (const s of foreign.whole) if (text === s || (s.length >= 12 && text.includes(s))) found.push(`"${s}" in "${text}"`);
    for (const s of foreign.parts) if (text.includes(s)) found.push(`"${s}" in "${text}"`);
  }
  assert.deepEqual(found, [], `${what}: text of the other language is on screen`);
  assert.ok(texts.length > 5, `${what}: something is on screen`);
}

const ENGLISH = phrases(en, ru);
const RUSSIAN = phrases(ru, en);

async function chooseLanguage(page, code) {
  await page.locator('#lang-select').selectOption(code);
  await eventually(async () => assert.equal(await page.evaluate(() => document.documentElement.lang), code), `the page in ${code}`);
}

test('the console follows the browser language until the operator chooses one, and remembers the choice', async () => {
  const c = rig.cluster;
  const site = await c.createSite('Language shop');
  const op = await c.createOperator(site.id, { name: 'Nina' });
  // Not logged in: the form speaks the browser's language.
  const ruContext = await rig.context({ viewport: SIZES[0].viewport, locale: 'ru-RU' });
  const ruPage = await ruContext.newPage();
  rig.watch(ruPage, 'login ru');
  await ruPage.goto(`${rig.gw}/console/`);
  await eventually(async () => assert.equal(await ruPage.locator('#login-submit').textContent(), 'Войти'), 'the Russian login form');
  assert.equal(await ruPage.locator('#login-lang').inputValue(), 'ru');
  await noForeignText(ruPage, ENGLISH, 'the login form in Russian');
  // Wrong password: the error is Russian too.
  await ruPage.locator('#login-email').fill(op.email);
  await ruPage.locator('#login-password').fill('wrong password');
  await ruPage.locator('#login-submit').click();
  await eventually(async () => assert.equal(await ruPage.locator('#login-error').textContent(), ru.loginWrong), 'the Russian login error');
  // Chosen on the login form: English, kept after a reload.
  await ruPage.locator('#login-lang').selectOption('en');
  await eventually(async () => assert.equal(await ruPage.locator('#login-submit').textContent(), 'Sign in'), 'switched to English');
  await ruPage.reload();
  await eventually(async () => assert.equal(await ruPage.locator('#login-submit').textContent(), 'Sign in'), 'English after a reload');
  await noForeignText(ruPage, RUSSIAN, 'the login form in English');

  const enPage = await rig.console(op, 'nina-en');
  assert.equal(await enPage.locator('#status-away').textContent(), 'Away');
  await chooseLanguage(enPage, 'ru');
  assert.equal(await enPage.locator('#status-away').textContent(), 'Нет на месте');
  await enPage.reload();
  await eventually(async () => assert.equal(await enPage.locator('#status-away').textContent(), 'Нет на месте'), 'Russian after a reload');
  assert.equal(await enPage.locator('#lang-select').inputValue(), 'ru');
  assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
});

test('switched to Russian, no English is left on the main screens; switched back, no Russian', async () => {
  const c = rig.cluster;
  const site = await c.createSite('Магазин');
  const email = `admin-${Date.now()}@i18n.test`;
  const id = c.storeAdmin('create-operator', '--site', site.id, '--email', email, '--password', 'correct horse battery',
    '--name', 'Анна', '--role', 'admin');
  const anna = { id, email, password: 'correct horse battery', name: 'Анна' };
  const boris = await c.createOperator(site.id, { name: 'Борис' });
  const page = await rig.console(anna, 'anna');
  await chooseLanguage(page, 'ru');
  await setStatus(page, 'online');

  // An offline message for the inbox (the visitor's words are Russian: only UI text is checked).
  const off = await visitor(c.wsUrl(0, 'visitor'), site.id);
  assert.equal((await off.request({ type: 'offline', client_id: clientId('off'), name: 'Павел', phone: '+7 900 000-00-00',
    email: 'pavel@example.test', text: 'Перезвоните мне, пожалуйста' }, 'ok')).type, 'ok');
  off.close();

  // ---- the list and the chat, with the visitor panel
  const { widget } = await rig.shop(site.id, 'visitor');
  await visitorSays(widget, 'Здравствуйте! Есть доставка?');
  await eventually(async () => assert.equal(await page.locator('#chat-messages .msg-in .msg-text').count(), 1), 'the chat opens');
  await page.locator('#chat-input').fill('Да, по всей России.');
  await page.locator('#chat-input').press('Enter');
  await eventually(async () => assert.equal(await page.locator('#chat-messages .msg-out:not(.pending)').count(), 1), 'the answer acked');
  await eventually(async () => assert.equal(await page.locator('#history').textContent(), ru.firstConversation), 'the visitor panel');
  assert.equal(await page.locator('#close-conversation').textContent(), 'Закрыть чат');
  assert.equal(await page.locator('#transfer-open').textContent(), 'Передать');
  // Times with the Russian locale (24-hour, no AM/PM).
  assert.match(await page.locator('#chat-messages .msg-meta').first().textContent(), /^\d{2}:\d{2}$/);
  await noForeignText(page, ENGLISH, 'the list and the chat');
  await shot(page, 'console-ru-chat');
  // Plurals by Intl.PluralRules.
  assert.deepEqual(await page.evaluate(async () => {
    // The console's own module, under its content-hashed name (docs/WEB.md "Built tree").
    const url = performance.getEntriesByType('resource').map((e) => e.name)
      .find((n) => /\/console\/i18n\.[0-9a-f]{8}\.js$/.test(n));
    const i18n = await import(url);
    return [1, 2, 5, 21, 112].map((n) => i18n.plural('messageCount', n));
  }), ['1 сообщение', '2 сообщения', '5 сообщений', '21 сообщение', '112 сообщений']);

  // ---- the transfer dialog, with a colleague and their status
  await page.locator('#transfer-open').click();
  const statuses = [ru.statusOnline, ru.statusAway, ru.statusBusy, ru.statusOffline].map((s) => `Борис — ${s}`);
  await eventually(async () => assert.ok((await page.locator('#transfer-target option').allTextContents()).some((o) => statuses.includes(o))),
    'the colleague in the list, with a Russian status');
  await noForeignText(page, ENGLISH, 'the transfer dialog');
  await shot(page, 'console-ru-transfer');
  await page.locator('#transfer-cancel').click();

  // ---- the settings page, with the outgoing mail
  await page.locator('#open-settings').click();
  await page.locator('#settings-save-routing').waitFor({ state: 'visible', timeout: TIMEOUT });
  await eventually(async () => assert.match(await page.locator('#outbox-summary').textContent(), /\S/), 'the outgoing mail loaded');
  // A mail's subject is the mail's (written by the server), not the console's.
  const subjects = (await page.locator('.outbox-subject').allTextContents()).map((s) => s.trim());
  await noForeignText(page, ENGLISH, 'the settings page', subjects);
  await shot(page, 'console-ru-settings');
  await page.locator('#settings-close').click();

  // ---- the inbox
  await page.locator('#open-inbox').click();
  const item = page.locator('.inbox-item[data-kind="offline"][data-state="new"]');
  await item.waitFor({ state: 'visible', timeout: TIMEOUT });
  assert.equal(await item.locator('.inbox-kind').textContent(), 'Офлайн-сообщение');
  await noForeignText(page, ENGLISH, 'the inbox');
  await shot(page, 'console-ru-inbox');
  await page.locator('#inbox-view .inbox-close').click();

  // ---- the team chat
  await page.locator('#open-team').click();
  await page.locator('#team-input').fill('Коллеги, кто свободен?');
  await page.locator('#team-input').press('Enter');
  await eventually(async () => assert.equal(await page.locator('#team-messages .msg-out:not(.pending)').count(), 1), 'the team message acked');
  await noForeignText(page, ENGLISH, 'the team chat');
  await page.locator('#team-close').click();

  // ---- a closed chat
  await page.locator('#close-conversation').click();
  await eventually(async () => assert.equal(await page.locator('#close-conversation').textContent(), 'Закрыт'), 'closed');
  await eventually(async () => assert.equal(await page.locator('#conversations .conv.closed .tag').textContent(), 'Закрыт'), 'closed in the list');
  await noForeignText(page, ENGLISH, 'a closed chat');

  // ---- back to English: no Russian left (user data aside)
  await chooseLanguage(page, 'en');
  assert.equal(await page.locator('#close-conversation').textContent(), 'Closed');
  const names = ['Анна', 'Магазин'];
  await noForeignText(page, RUSSIAN, 'the chat in English again', names);
  await page.locator('#open-inbox').click();
  await eventually(async () => assert.equal(await item.locator('.inbox-kind').textContent(), 'Offline message'), 'the inbox in English');
  await noForeignText(page, RUSSIAN, 'the inbox in English again', names);
  assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
});
