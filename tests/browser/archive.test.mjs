// Browser test: the console's Archive (web/console/archive.js) searches the
// site's conversations by text, shows the match highlighted (built as text:
// a visitor's markup stays text), opens one read-only with its transcript
// and notes; on a desktop in English and on a phone (390×844) in Russian.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, SIZES, TIMEOUT, eventually, shot } from './lib.mjs';

const rig = new Rig();
before(async () => { await rig.start({ gateways: 1, routers: 1 }); });
after(async () => { await rig.stop(); });

function storedChat(c, site, opId, { name, at, texts }) {
  const v = crypto.randomUUID(), id = crypto.randomUUID();
  const q = (s) => `'${s.replace(/'/g, "''")}'`;
  c.sql(`INSERT INTO visitors (id, site_id, name) VALUES ('${v}', '${site}', ${q(name)})`);
  c.sql(`INSERT INTO conversations (id, site_id, visitor_id, operator_id, state, created_at, closed_at, last_seq, visitor_name)
         VALUES ('${id}', '${site}', '${v}', '${opId}', 'closed', '${at}', '${at}'::timestamptz + interval '5 minutes', ${texts.length}, ${q(name)})`);
  texts.forEach((t, i) => c.sql(`INSERT INTO messages (site_id, conversation_id, seq, client_msg_id, author_kind, author_id, author_name, body, created_at)
    VALUES ('${site}', '${id}', ${i + 1}, 'm${i}', '${i % 2 ? 'operator' : 'visitor'}', ${i % 2 ? `'${opId}'` : `'${v}'`}, ${q(i % 2 ? 'Anna' : name)}, ${q(t)},
            '${at}'::timestamptz + ${i} * interval '1 minute')`));
  return id;
}

for (const size of SIZES) {
  test(`the archive finds a chat by a word in another form, highlights it and opens it read-only (${size.name})`, async () => {
    const c = rig.cluster;
    const site = await c.createSite(`Archive ${size.name}`);
    const op = await c.createOperator(site.id, { name: 'Anna' });
    const wanted = storedChat(c, site.id, op.id, { name: '<b>Мария</b>', at: '2026-03-01T10:00:00Z',
      texts: ['Когда будут доставки в Казань? <img src=x onerror=alert(1)>', 'Завтра, после обеда.'] });
    storedChat(c, site.id, op.id, { name: 'John', at: '2026-03-02T10:00:00Z', texts: ['I need a refund', 'Sure'] });
    c.sql(`INSERT INTO conversation_notes (site_id, conversation_id, author_id, to_operator_id, kind, body)
           VALUES ('${site.id}', '${wanted}', '${op.id}', '${op.id}', 'transfer', 'Постоянный клиент')`);

    const context = await rig.browser.newContext({ viewport: size.viewport, locale: size.locale, isMobile: size.mobile, hasTouch: size.mobile });
    const page = await context.newPage();
    rig.watch(page, size.name);
    await page.goto(`${rig.gw}/console/`);
    await page.locator('#login-email').fill(op.email);
    await page.locator('#login-password').fill(op.password);
    await page.locator('#login-submit').click();
    await page.locator('#open-archive').waitFor({ state: 'visible', timeout: TIMEOUT });
    assert.equal((await page.locator('#open-archive').textContent()).trim(), size.locale.startsWith('ru') ? 'Архив' : 'Archive');
    await page.locator('#open-archive').click();
    await page.locator('#archive-q').waitFor({ state: 'visible', timeout: TIMEOUT });
    // Opened: the newest first, both chats.
    await eventually(async () => (await page.locator('#archive-results li').count()) === 2, 'both chats listed');

    await page.locator('#archive-q').fill('доставка');
    await page.locator('#archive-search').click();
    await eventually(async () => {
      const items = page.locator('#archive-results li');
      return (await items.count()) === 1 && (await items.first().getAttribute('data-id')) === wanted;
    }, 'only the chat with «доставки»');
    const item = page.locator('#archive-results li').first();
    assert.equal(await item.locator('mark').first().textContent(), 'доставки');
    assert.match(await item.locator('.archive-snippet').textContent(), /<img src=x onerror=alert/, 'markup shown as text');
    assert.equal(await item.locator('.archive-snippet img').count(), 0);
    assert.equal(await item.locator('.archive-name').textContent(), '<b>Мария</b>');
    await shot(page, `archive-results-${size.name}`);

    await item.locator('.archive-open').click();
    await page.locator('#archive-transcript').waitFor({ state: 'visible', timeout: TIMEOUT });
    const texts = await page.locator('#archive-transcript .archive-msg-text').allTextContents();
    assert.deepEqual(texts, ['Когда будут доставки в Казань? <img src=x onerror=alert(1)>', 'Завтра, после обеда.']);
    assert.match(await page.locator('.archive-notes').textContent(), /Постоянный клиент/);
    // Read-only: nothing to type into, nothing to send.
    assert.equal(await page.locator('#archive-detail textarea, #archive-detail input').count(), 0);
    assert.equal(await page.locator('#archive-detail button').count(), 1, 'only the way back');
    if (size.mobile) {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `no sideways scrolling on a phone (${width})`);
    }
    await shot(page, `archive-detail-${size.name}`);
    await page.locator('.archive-back').click();
    await page.locator('#archive-results').waitFor({ state: 'visible', timeout: TIMEOUT });
    await context.close();
    assert.deepEqual(rig.problems, []);
  });
}
