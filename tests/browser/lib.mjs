// Helpers shared by the browser tests: a cluster and one headless Chromium per
// test file, polling waits (never fixed sleeps), a console logged in as an
// operator, the demo page with the widget, and a check that a page raised no
// errors, CSP violations or dialogs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startCluster } from '../lib/cluster.mjs';

export const CHROMIUM = process.env.BESEDA_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = process.env.BESEDA_SCREENSHOTS || '';
export const TIMEOUT = 15000;
export const DESKTOP = { width: 1360, height: 820 };
export const PHONE = { width: 390, height: 844 };

/** The two sizes every console check runs at; the phone one in Russian. */
export const SIZES = [
  { name: 'desktop', viewport: DESKTOP, locale: 'en-US', mobile: false },
  { name: 'phone', viewport: PHONE, locale: 'ru-RU', mobile: true },
];

/** Polls check until it stops throwing (or returns something other than false). */
export async function eventually(check, what, timeoutMs = TIMEOUT) {
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

export async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** One cluster and one browser for a test file; problems collects page errors. */
export class Rig {
  constructor() {
    this.problems = [];
    this.contexts = [];
  }

  async start(clusterOpts = { gateways: 1, routers: 2 }) {
    this.cluster = await startCluster(clusterOpts);
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return this;
  }

  async stop() {
    if (this.browser) await this.browser.close().catch(() => {});
    if (this.cluster) await this.cluster.stop();
  }

  get gw() { return this.cluster.gatewayUrl(0); }

  watch(page, who) {
    page.on('pageerror', (err) => this.problems.push(`${who}: page error: ${err.message}`));
    page.on('dialog', async (dialog) => {
      this.problems.push(`${who}: unexpected dialog "${dialog.message()}"`);
      await dialog.dismiss().catch(() => {});
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text())) this.problems.push(`${who}: ${msg.text()}`);
    });
  }

  async context(size = SIZES[0]) {
    const opts = { viewport: size.viewport, locale: size.locale || 'en-US' };
    if (size.mobile) Object.assign(opts, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const context = await this.browser.newContext(opts);
    this.contexts.push(context);
    return context;
  }

  /** A console page logged in as op (status left as the server has it). */
  async console(op, who, size = SIZES[0]) {
    const context = await this.context(size);
    const page = await context.newPage();
    this.watch(page, who);
    await page.goto(`${this.gw}/console/`);
    await page.locator('#login-email').fill(op.email);
    await page.locator('#login-password').fill(op.password);
    await page.locator('#login-submit').click();
    await page.locator('#app-view').waitFor({ state: 'visible', timeout: TIMEOUT });
    await eventually(async () => assert.equal(await page.locator('#me-name').textContent(), op.name), `${who} logged in`);
    return page;
  }

  /** The demo shop with the widget opened; returns {page, widget}. */
  async shop(siteId, who, size = { viewport: { width: 1280, height: 800 }, locale: 'en-US' }) {
    const context = await this.context(size);
    const page = await context.newPage();
    this.watch(page, who);
    await page.goto(`${this.gw}/demo.html?site=${encodeURIComponent(siteId)}`);
    await page.locator('#beseda-launcher').click();
    const widget = page.frameLocator('#beseda-frame');
    await widget.locator('#chat').waitFor({ state: 'visible', timeout: TIMEOUT });
    return { page, widget };
  }

  /** Writes a site's routing section straight into site_settings. */
  setRouting(siteId, routing) {
    this.cluster.sql(`INSERT INTO site_settings (site_id, routing) VALUES ('${siteId}',
      '${JSON.stringify(routing)}') ON CONFLICT (site_id) DO UPDATE SET routing = EXCLUDED.routing`);
  }
}

export async function setStatus(page, status) {
  await page.locator(`#status-${status}`).click();
  await eventually(async () => assert.equal(await page.locator(`#status-${status}`).getAttribute('aria-pressed'), 'true'), `status ${status}`);
}

/** The visitor types text in the widget and waits for its ack. */
export async function visitorSays(widget, text) {
  await widget.locator('#input').fill(text);
  await widget.locator('#input').press('Enter');
  await eventually(async () => assert.ok((await widget.locator('.msg-out:not(.pending) .msg-text').allTextContents()).includes(text)),
    `"${text}" acked in the widget`);
}
