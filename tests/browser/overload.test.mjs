// Browser test: a message the gateway refuses as `overloaded` (with
// retry_after_ms) stays pending in the widget, with no failure shown, and
// is re-sent with the same client_id after retry_after_ms, then acked and
// stored once. The gateway's refusal is injected here (the first `send` of
// the page is answered by the test), so no real overload is needed.
//
//   cd tests/browser && node --test --test-concurrency=1 overload.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rig, TIMEOUT, eventually, setStatus, visitorSays } from './lib.mjs';

const rig = new Rig();
before(async () => { await rig.start({ gateways: 1, routers: 1 }); });
after(async () => {
  if (rig.problems.length) console.error(rig.problems.join('\n'));
  await rig.stop();
});

test('the widget keeps a message refused as overloaded and re-sends it after retry_after_ms', async () => {
  const c = rig.cluster;
  const op = await rig.console(await c.createOperator(c.site.id, { name: 'Olga' }), 'olga');
  await setStatus(op, 'online');
  const context = await rig.context({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const sends = [];
  await context.routeWebSocket(/\/ws\/visitor/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      let f = null;
      try { f = JSON.parse(typeof m === 'string' ? m : m.toString()); } catch { /* not ours */ }
      if (f && f.type === 'send') {
        sends.push({ at: Date.now(), client_id: f.client_id });
        if (sends.length === 1) {
          ws.send(JSON.stringify({ type: 'error', code: 'overloaded', message: 'the server is busy; retry after retry_after_ms',
            ref: f.client_id, conversation: f.conversation, retry_after_ms: 700 }));
          return;
        }
      }
      server.send(m);
    });
  });
  const page = await context.newPage();
  rig.watch(page, 'visitor');
  await page.goto(`${rig.gw}/demo.html?site=${encodeURIComponent(c.site.id)}`);
  await page.locator('#beseda-launcher').click();
  const widget = page.frameLocator('#beseda-frame');
  await widget.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });

  await widget.locator('#input').fill('Busy, are you?');
  await widget.locator('#input').press('Enter');
  await eventually(() => sends.length >= 1, 'the first send');
  // Refused: still pending, and no failure shown.
  assert.deepEqual(await widget.locator('.msg-out.pending .msg-text').allTextContents(), ['Busy, are you?']);
  assert.ok(await widget.locator('#hint').isHidden(), 'no failure hint');

  await eventually(async () => assert.deepEqual(await widget.locator('.msg-out:not(.pending) .msg-text').allTextContents(), ['Busy, are you?']),
    'acked after the retry');
  assert.equal(sends.length, 2, 'sent twice');
  assert.equal(sends[1].client_id, sends[0].client_id, 'the retry has the same client_id');
  assert.ok(sends[1].at - sends[0].at >= 650, `re-sent after retry_after_ms (${sends[1].at - sends[0].at} ms)`);
  assert.deepEqual(c.sql(`SELECT count(*) FROM messages WHERE client_msg_id = '${sends[0].client_id}'`), [['1']], 'stored once');
  assert.deepEqual(rig.problems, []);
  // The next message goes straight through.
  await visitorSays(widget, 'And now?');
});
