// Browser tests of the operator console's paths, each at a desktop size (in
// English) and at a phone's 390×844 (in Russian): Accept in ring mode opens
// the accepted chat at once, also with another chat open; the colleague whose
// console rang is told who took it wherever they are looking; the visitor's
// earlier conversations are up to date; on a phone the console fits the
// screen (list and chat as screens, back to the list with the arrow or the
// phone's Back) and a chat is received, answered and closed there.
//
//   cd tests/browser && node --test --test-concurrency=1 console_flow.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, SIZES, TIMEOUT, eventually, shot, setStatus, visitorSays } from './lib.mjs';

const rig = new Rig();
before(async () => { await rig.start(); });
after(async () => {
  if (rig.problems.length) console.error(rig.problems.join('\n'));
  await rig.stop();
});

const TOOK = { desktop: /^Anna took that chat\.$/, phone: /^Anna принял\(а\) этот чат\.$/ };
// The earlier conversation's count, in the size's language (plural rules: 4 messages, 4 сообщения).
const FOUR_MESSAGES = { desktop: '4 messages', phone: '4 сообщения' };


const texts = (locator) => locator.allTextContents();

/** Notices floating over the workspace that the operator can see now. */
async function visibleToasts(page) {
  return page.locator('.toast').evaluateAll((nodes) => nodes.filter((n) => {
    const r = n.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    if (r.left < 0 || r.top < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight) return false;
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return hit && n.contains(hit);
  }).map((n) => n.querySelector('.toast-text').textContent));
}

/** What is wrong with the layout now: overflow, controls outside the screen, covered or overlapping. */
// The screen's size comes from the test: a phone browser widens its layout
// viewport (innerWidth) to fit content that overflows.
async function layoutProblems(page) {
  return page.evaluate(({ width: W, height: H }) => {
    const problems = [];
    if (document.documentElement.scrollWidth > W) problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${W}px window`);
    const shown = (n) => { const r = n.getBoundingClientRect(); return r.width > 0 && r.height > 0 && getComputedStyle(n).visibility !== 'hidden'; };
    const name = (n) => n.id ? `#${n.id}` : `.${[...n.classList].join('.')}`;
    const groups = [
      [...document.querySelectorAll('.topbar > *')],
      [...document.querySelectorAll('#chat:not([hidden]) .chat-head > *')],
      [...document.querySelectorAll('#chat:not([hidden]) .composer > *')],
    ];
    for (const group of groups) {
      const items = group.filter(shown);
      for (const n of items) {
        const r = n.getBoundingClientRect();
        if (r.left < -0.5 || r.top < -0.5 || r.right > W + 0.5 || r.bottom > H + 0.5) {
          problems.push(`${name(n)} is outside the screen (${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)})`);
          continue;
        }
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        if (!hit || !(n.contains(hit) || hit.contains(n))) problems.push(`${name(n)} is covered by ${hit ? name(hit) : 'nothing'}`);
      }
      for (let i = 0; i < items.length; i++) {
        for (let j = i + 1; j < items.length; j++) {
          const a = items[i].getBoundingClientRect();
          const b = items[j].getBoundingClientRect();
          const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
          const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (x > 1 && y > 1) problems.push(`${name(items[i])} overlaps ${name(items[j])}`);
        }
      }
    }
    return problems;
  }, page.viewportSize());
}

async function assertLayout(page, what) {
  assert.deepEqual(await layoutProblems(page), [], `layout: ${what}`);
}

/** A new site whose chats ring for the named operators (notify: all), each logged in at size and online. */
async function ringingTeam(size, names) {
  const c = rig.cluster;
  const site = await c.createSite(`Ring shop ${size.name} ${names.join(' ')}`);
  const ops = [];
  for (const name of names) ops.push(await c.createOperator(site.id, { name }));
  rig.setRouting(site.id, {
    groups: [{ id: 'team', name: 'Team', operators: ops.map((o) => o.id) }],
    rules: [{ name: 'Ring everyone', match: {}, groups: ['team'], mode: 'ring', notify: names.length }],
  });
  const pages = [];
  for (const op of ops) {
    const page = await rig.console(op, `${op.name}-${size.name}`, size);
    await setStatus(page, 'online');
    pages.push(page);
  }
  return { site, pages };
}

const ringItems = (page) => page.locator('#ringing .ring-item');

/** A new visitor of site writes text; it rings in every page of pages. */
async function ringingChat(site, text, pages, who) {
  const visitor = await rig.shop(site.id, who);
  await visitorSays(visitor.widget, text);
  for (const page of pages) {
    await eventually(async () => assert.deepEqual(await texts(ringItems(page).locator('.conv-name')), [await ringItems(page).first().locator('.conv-name').textContent()]),
      `the chat of ${who} rings`);
  }
  return visitor;
}

async function accept(page) {
  await ringItems(page).first().locator('[data-accept]').click();
}

async function seesNotice(page, re, what) {
  await eventually(async () => {
    const shown = await visibleToasts(page);
    assert.ok(shown.some((s) => re.test(s)), `visible notices: ${JSON.stringify(shown)}`);
  }, what);
}

for (const size of SIZES) {
  test(`${size.name}: Accept opens the accepted chat at once, also over another open chat`, async () => {
    const { site, pages: [a] } = await ringingTeam(size, ['Anna']);

    // ---- the first chat rings; Anna accepts it
    await ringingChat(site, 'First visitor: is the sofa in stock?', [a], `accept-visitor-1-${size.name}`);
    await accept(a);
    await eventually(async () => {
      assert.ok(await a.locator('#chat').isVisible(), 'the chat pane is shown');
      assert.deepEqual(await texts(a.locator('#chat-messages .msg-in .msg-text')), ['First visitor: is the sofa in stock?']);
    }, 'the first accepted chat open');

    // ---- a second chat rings while Anna has the first one open; on a
    // phone it is in reach above the open chat, without going back.
    const second = await ringingChat(site, 'Second visitor: do you deliver on Sundays?', [a], `accept-visitor-2-${size.name}`);
    assert.deepEqual(await texts(a.locator('#chat-messages .msg-in .msg-text')), ['First visitor: is the sofa in stock?'],
      'the first chat is still the open one');
    await shot(a, `console-${size.name}-ringing-over-chat`);
    await assertLayout(a, 'a chat ringing over an open chat');
    await accept(a);
    await eventually(async () => {
      assert.ok(await a.locator('#chat').isVisible(), 'the chat pane is shown');
      assert.deepEqual(await texts(a.locator('#chat-messages .msg-in .msg-text')), ['Second visitor: do you deliver on Sundays?']);
      assert.equal(await a.locator('#conversations .conv.selected .conv-preview').textContent(), 'Second visitor: do you deliver on Sundays?');
    }, 'the second accepted chat open at once');
    assert.equal(await a.locator('#conversations .conv .unread-badge').count(), 0, 'no chat waits as unread');
    // Anna answers in the chat that opened.
    await a.locator('#chat-input').fill('Yes, on Sundays too.');
    await a.locator('#chat-input').press('Enter');
    await eventually(async () => assert.ok((await texts(second.widget.locator('.msg-in .msg-text'))).includes('Yes, on Sundays too.')),
      'the answer reaches the second visitor');
    await shot(a, `console-${size.name}-accepted-second`);
    await assertLayout(a, 'in the second chat');
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });

  test(`${size.name}: the colleague whose console rang sees who took the chat, in the list and in an open chat`, async () => {
    const { site, pages: [a, b] } = await ringingTeam(size, ['Anna', 'Boris']);

    // ---- Boris looks at his list (no chat open) when Anna takes the chat
    await ringingChat(site, 'First visitor: a question about chairs', [a, b], `took-visitor-1-${size.name}`);
    await accept(a);
    await eventually(async () => assert.equal(await ringItems(b).count(), 0), 'the ring gone for Boris');
    await seesNotice(b, TOOK[size.name], 'Boris, in his list, sees that Anna took the chat');
    await shot(b, `console-${size.name}-colleague-took`);
    await assertLayout(b, 'the notice over the list');

    // ---- Boris has a chat of his own open when Anna takes the next one
    await ringingChat(site, 'Second visitor: for Boris', [a, b], `took-visitor-2-${size.name}`);
    await accept(b);
    await eventually(async () => assert.deepEqual(await texts(b.locator('#chat-messages .msg-in .msg-text')), ['Second visitor: for Boris']),
      'Boris in his chat');
    await b.locator('.toast-close').first().click().catch(() => {});   // the earlier notice may still be up
    await ringingChat(site, 'Third visitor: for Anna', [a, b], `took-visitor-3-${size.name}`);
    await accept(a);
    await seesNotice(b, TOOK[size.name], 'Boris, in his chat, sees that Anna took the chat');
    await assertLayout(b, 'the notice over a chat');
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });

  test(`${size.name}: earlier conversations show what they hold now, not what they held when first shown`, async () => {
    const c = rig.cluster;
    const site = await c.createSite(`History shop ${size.name}`);
    const vera = await c.createOperator(site.id, { name: 'Vera' });
    const op = await rig.console(vera, `vera-${size.name}`, size);
    await setStatus(op, 'online');
    const { widget } = await rig.shop(site.id, `history-visitor-${size.name}`);

    // The first chat opens by itself with one message (its history is fetched then)...
    await visitorSays(widget, 'One');
    await eventually(async () => assert.deepEqual(await texts(op.locator('#chat-messages .msg-in .msg-text')), ['One']), 'the first chat open');
    // ...and grows to four before it is closed.
    for (const text of ['Two', 'Three']) await visitorSays(widget, text);
    await op.locator('#chat-input').fill('Four, from the operator');
    await op.locator('#chat-input').press('Enter');
    await eventually(async () => assert.equal(await op.locator('#chat-messages .msg[data-seq]').count(), 4), 'four messages in the first chat');
    await op.locator('#close-conversation').click();
    await eventually(async () => assert.equal(await op.locator('#close-conversation').isDisabled(), true), 'the first chat closed');
    await eventually(async () => assert.ok((await texts(widget.locator('#messages .notice'))).some((s) => /ended/.test(s))),
      'the visitor told the chat ended');

    // The visitor writes again: a new chat, for the same operator.
    await widget.locator('#input').fill('Hello again');
    await widget.locator('#input').press('Enter');
    await eventually(async () => assert.equal(await op.locator('#conversations .conv').count(), 2), 'the second chat in the list');
    if (size.mobile) {
      await op.locator('#back').click();
      await op.locator('#conversations').waitFor({ state: 'visible', timeout: TIMEOUT });
    }
    await op.locator('#conversations .conv:not(.closed)').first().click();
    await eventually(async () => assert.deepEqual(await texts(op.locator('#chat-messages .msg-in .msg-text')), ['Hello again']), 'the second chat open');
    if (size.mobile) await op.locator('#info').click();
    await eventually(async () => {
      assert.ok(await op.locator('#history').isVisible(), 'the earlier conversations are on screen');
      const counts = await texts(op.locator('#history .history-item .history-count'));
      assert.equal(counts.length, 1, JSON.stringify(counts));
      assert.equal(counts[0], FOUR_MESSAGES[size.name]);
    }, 'the earlier conversation with its four messages');
    await op.locator('#history .history-item summary').first().click();
    await eventually(async () => assert.deepEqual(await texts(op.locator('#history .history-item .history-text')),
      ['One', 'Two', 'Three', 'Four, from the operator']), 'the earlier conversation\'s messages');
    await shot(op, `console-${size.name}-earlier-conversations`);
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });

  test(`${size.name}: the console fits the screen; a chat is received, answered and closed there, and Back returns to the list`, async () => {
    const c = rig.cluster;
    const site = await c.createSite(`Layout shop ${size.name}`);
    const lena = await c.createOperator(site.id, { name: 'Lena' });
    const op = await rig.console(lena, `lena-${size.name}`, size);
    await assertLayout(op, 'the empty console');
    await setStatus(op, 'online');
    await shot(op, `console-${size.name}-empty`);
    const { widget } = await rig.shop(site.id, `layout-visitor-${size.name}`);

    // ---- receive: the chat opens by itself (nothing else was open)
    await visitorSays(widget, 'Can I pay by card on delivery?');
    await eventually(async () => assert.deepEqual(await texts(op.locator('#chat-messages .msg-in .msg-text')), ['Can I pay by card on delivery?']),
      'the chat open');
    await assertLayout(op, 'an open chat');
    if (size.mobile) assert.equal(await op.locator('#conversations').isVisible(), false, 'on a phone the chat is a screen of its own');

    // ---- answer
    await op.locator('#chat-input').fill('Yes, the courier has a terminal.');
    await op.locator('#chat-send').click();
    await eventually(async () => assert.ok((await texts(widget.locator('.msg-in .msg-text'))).includes('Yes, the courier has a terminal.')),
      'the answer in the widget');
    await shot(op, `console-${size.name}-answered`);

    // ---- the visitor's details and back
    if (size.mobile) {
      await op.locator('#info').click();
      await eventually(async () => {
        const box = await op.locator('#visitor-panel').boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= size.viewport.width + 0.5, JSON.stringify(box));
        const top = await op.locator('.topbar').boundingBox();
        assert.ok(box.y >= top.y + top.height - 0.5, `the details cover the topbar: ${JSON.stringify({ box, top })}`);
        assert.ok(await op.locator('#info-close').isVisible());
      }, 'the visitor details on screen, under the topbar');
      await op.locator('#info-close').click();
    }

    // ---- close
    await op.locator('#close-conversation').click();
    await eventually(async () => assert.equal(await op.locator('#close-conversation').isDisabled(), true), 'closed');
    await eventually(async () => assert.ok((await texts(widget.locator('#messages .notice'))).some((s) => /ended/.test(s))),
      'the visitor told the chat ended');
    await assertLayout(op, 'a closed chat');

    if (size.mobile) {
      // The phone's Back (the browser's history) returns to the list, not out of the console.
      await op.goBack();
      await eventually(async () => {
        assert.ok(await op.locator('#conversations').isVisible(), 'the list is shown');
        assert.equal(await op.locator('#chat').isVisible(), false, 'the chat is not');
      }, 'back to the list with the phone\'s Back');
      assert.match(op.url(), /\/console\/$/);
      await assertLayout(op, 'the list after Back');
      // And the arrow in the chat head does the same.
      await op.locator('#conversations .conv').first().click();
      await op.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });
      await op.locator('#back').click();
      await eventually(async () => assert.ok(await op.locator('#conversations').isVisible()), 'back to the list with the arrow');
      // The team chat is a screen too, closed with its own button.
      await op.locator('#open-team').click();
      await op.locator('#team').waitFor({ state: 'visible', timeout: TIMEOUT });
      assert.equal(await op.locator('#conversations').isVisible(), false, 'the team chat covers the list');
      await op.locator('#team-close').click();
      await eventually(async () => assert.ok(await op.locator('#conversations').isVisible()), 'back to the list from the team chat');
      await assertLayout(op, 'the list after the team chat');
    }
    await shot(op, `console-${size.name}-closed`);
    assert.deepEqual(rig.problems, [], 'no page errors, CSP violations or dialogs');
  });
}
