// Browser tests of the widget's paths: after mailing the transcript the
// visitor can write again (a new chat); after a missed chat the header says
// that nobody is free, not "We are online"; the site's colour (data-color on
// the loader) reaches the chat window: header, the visitor's bubbles, the
// send button. The widget is embedded in a host page of its own (another
// origin: a small HTTP server of the test), in English and in Russian.
//
//   cd tests/browser && node --test --test-concurrency=1 widget_flow.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Rig, TIMEOUT, eventually, shot, setStatus, visitorSays } from './lib.mjs';
import { operator } from '../lib/client.mjs';

const rig = new Rig();
// The host pages: /<n> serves the page registered as n.
const hostPages = new Map();
let host;
before(async () => {
  await rig.start();
  host = http.createServer((req, res) => {
    const html = hostPages.get(req.url.slice(1));
    res.writeHead(html ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html || 'not found');
  });
  await new Promise((resolve) => host.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  if (rig.problems.length) console.error(rig.problems.join('\n'));
  if (host) await new Promise((resolve) => host.close(resolve));
  await rig.stop();
});

const texts = (locator) => locator.allTextContents();

const STRINGS = {
  en: { ended: /The chat has ended/, sent: /will send this conversation/, newChat: 'Start a new chat', online: /^We are online/, missed: /^Nobody is free right now · Leave a message/ },
  ru: { ended: /Диалог завершён/, sent: /отправим переписку/, newChat: 'Начать новый чат', online: /^Мы в сети/, missed: /^Сейчас все заняты · Оставьте сообщение/ },
};

/** A host page (the test's server: another origin than the gateway's) that embeds the widget with the given loader attributes; returns {page, widget}. */
async function hostPage(siteId, who, attrs = {}) {
  const context = await rig.context({ viewport: { width: 1280, height: 800 }, locale: attrs['data-lang'] === 'ru' ? 'ru-RU' : 'en-US' });
  const tag = Object.entries({ src: `${rig.gw}/widget.js`, 'data-site': siteId, ...attrs })
    .map(([k, v]) => `${k}="${String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`).join(' ');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
    <body><h1>A shop</h1><script ${tag} async></script></body></html>`;
  hostPages.set(who, html);
  const page = await context.newPage();
  rig.watch(page, who);
  await page.goto(`http://localhost:${host.address().port}/${who}`);
  await page.locator('#beseda-launcher').click();
  const widget = page.frameLocator('#beseda-frame');
  await widget.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });
  return { page, widget };
}

for (const lang of ['en', 'ru']) {
  const s = STRINGS[lang];

  test(`${lang}: after mailing the transcript the visitor can write again, and it is a new chat`, async () => {
    const c = rig.cluster;
    const site = await c.createSite(`Transcript shop ${lang}`);
    const olga = await c.createOperator(site.id, { name: 'Olga' });
    const op = await rig.console(olga, `olga-${lang}`);
    await setStatus(op, 'online');
    const { page, widget } = await hostPage(site.id, `transcript-visitor-${lang}`, { 'data-lang': lang });

    await visitorSays(widget, 'Do you ship to Kazan?');
    await eventually(async () => assert.deepEqual(await texts(op.locator('#chat-messages .msg-in .msg-text')), ['Do you ship to Kazan?']),
      'the chat open in the console');
    await op.locator('#chat-input').fill('Yes, in three days.');
    await op.locator('#chat-input').press('Enter');
    await eventually(async () => assert.ok((await texts(widget.locator('.msg-in .msg-text'))).includes('Yes, in three days.')), 'the answer');
    await op.locator('#close-conversation').click();
    await eventually(async () => assert.ok((await texts(widget.locator('#messages .notice'))).some((x) => s.ended.test(x))), 'the chat ended');

    // ---- the transcript: offered, asked for, thanked
    await widget.locator('#transcript-email').waitFor({ state: 'visible', timeout: TIMEOUT });
    await widget.locator('#transcript-email').fill('visitor@example.test');
    await widget.locator('.form-panel .form-submit').click();
    await eventually(async () => assert.match(await widget.locator('.form-panel').textContent(), s.sent), 'thanked for the transcript');
    await shot(page, `widget-${lang}-transcript-sent`);

    // ---- the visitor goes on: the composer is there, and a button says so
    assert.ok(await widget.locator('#input').isVisible(), 'the composer is shown after the transcript was sent');
    assert.equal(await widget.locator('.form-new-chat').textContent(), s.newChat);
    await widget.locator('.form-new-chat').click();
    await eventually(async () => assert.equal(await widget.locator('#forms').isVisible(), false), 'the thank-you gone');
    assert.ok(await widget.locator('#input').isVisible(), 'the composer still shown');
    assert.ok(await widget.locator('#input').evaluate((n) => n === document.activeElement), 'the composer has the focus');
    await visitorSays(widget, 'One more thing: can you assemble it?');
    await eventually(async () => assert.equal(await op.locator('#conversations .conv:not(.closed)').count(), 1), 'a new chat in the console');
    await op.locator('#conversations .conv:not(.closed)').first().click();
    await eventually(async () => assert.deepEqual(await texts(op.locator('#chat-messages .msg-in .msg-text')),
      ['One more thing: can you assemble it?']), 'the new chat holds only the new message');
    // The old chat's offer does not come back in the new one.
    assert.equal(await widget.locator('#transcript-email').count(), 0, 'no transcript offer in the new chat');
    await shot(page, `widget-${lang}-new-chat`);
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });

  test(`${lang}: after a missed chat the header says nobody is free, not that we are online`, async () => {
    const c = rig.cluster;
    const site = await c.createSite(`Missed shop ${lang}`);
    const pavel = await c.createOperator(site.id, { name: 'Pavel' });
    rig.setRouting(site.id, {
      groups: [{ id: 'team', name: 'Team', operators: [pavel.id] }],
      rules: [{ name: 'Ring', match: {}, groups: ['team'], mode: 'ring', notify: 1, response_limit_s: 5 }],
    });
    const op = await rig.console(pavel, `pavel-${lang}`);
    await setStatus(op, 'online');
    const { page, widget } = await hostPage(site.id, `missed-visitor-${lang}`, { 'data-lang': lang });
    await eventually(async () => assert.match(await widget.locator('#status-text').textContent(), s.online), 'online at first');

    // The chat rings for Pavel, who does not accept it: missed after 5 s.
    await visitorSays(widget, 'Hello, anybody there?');
    await eventually(async () => assert.equal(await op.locator('#ringing .ring-item').count(), 1), 'the chat rings');
    await widget.locator('#offline-text').waitFor({ state: 'visible', timeout: 30000 });
    await eventually(async () => {
      assert.match(await widget.locator('#status-text').textContent(), s.missed);
      assert.equal(await widget.locator('#status-dot.on').count(), 0, 'the dot is not green');
    }, 'the header after the missed chat');
    await shot(page, `widget-${lang}-missed`);
    assert.equal(await op.locator('#status-online').getAttribute('aria-pressed'), 'true', 'the operator is still online');
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });
}

/** The computed colours of the chat window's parts. */
async function colours(widget) {
  return widget.locator('#chat').evaluate(() => {
    const cs = (sel) => getComputedStyle(document.querySelector(sel));
    const bubble = document.querySelector('.msg-out .bubble');
    return {
      head: cs('.head').backgroundImage, headText: cs('.head').color,
      send: cs('#send').backgroundColor, sendIcon: cs('#send').color,
      bubble: bubble ? getComputedStyle(bubble).backgroundColor : null,
      bubbleText: bubble ? getComputedStyle(bubble).color : null,
    };
  });
}

test('the site colour (data-color) reaches the chat window: header, the visitor\'s bubbles, the send button', async () => {
  const site = await rig.cluster.createSite('Colour shop');
  // An operator online (over the protocol), so that the widget offers a chat.
  const ws = await operator(rig.cluster.wsUrl(0, 'operator'), await rig.cluster.createOperator(site.id, { name: 'Rita', maxChats: 10 }));
  assert.equal((await ws.request({ type: 'status', status: 'online' }, 'ok')).type, 'ok');
  const PINK = 'rgb(194, 24, 91)';
  const { page, widget } = await hostPage(site.id, 'colour-visitor', { 'data-color': '#c2185b' });
  assert.equal(await page.locator('#beseda-launcher').evaluate((n) => getComputedStyle(n).backgroundColor), PINK, 'the launcher');
  await visitorSays(widget, 'Pink, please');
  const dark = await colours(widget);
  assert.ok(dark.head.includes(PINK), `header: ${dark.head}`);
  assert.equal(dark.send, PINK, 'send button');
  assert.equal(dark.bubble, PINK, 'the visitor\'s bubble');
  assert.equal(dark.headText, 'rgb(255, 255, 255)', 'white text on a dark colour');
  assert.equal(dark.bubbleText, 'rgb(255, 255, 255)');
  await shot(page, 'widget-colour-dark');

  // A light colour gets dark text; a value that is no colour is ignored.
  const light = await hostPage(site.id, 'colour-visitor-light', { 'data-color': '#ffd54f' });
  await visitorSays(light.widget, 'Yellow, please');
  const yellow = await colours(light.widget);
  assert.ok(yellow.head.includes('rgb(255, 213, 79)'), `header: ${yellow.head}`);
  assert.equal(yellow.bubble, 'rgb(255, 213, 79)');
  assert.equal(yellow.headText, 'rgb(27, 35, 48)', 'dark text on a light colour');
  assert.equal(yellow.bubbleText, 'rgb(27, 35, 48)');
  assert.equal(yellow.sendIcon, 'rgb(27, 35, 48)');
  assert.equal(await light.page.locator('#beseda-launcher').evaluate((n) => getComputedStyle(n).color), 'rgb(27, 35, 48)', 'the launcher\'s icon');
  await shot(light.page, 'widget-colour-light');

  const bad = await hostPage(site.id, 'colour-visitor-bad', { 'data-color': 'red;background:url(https://evil.test/x)' });
  const plain = await colours(bad.widget);
  assert.equal(plain.send, 'rgb(47, 111, 237)', 'the default colour');
  ws.close();
  assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
});
