// The widget's and console's files as a browser gets them from the gateway
// (the built tree, scripts/build-web.mjs): precompressed (br, gzip) by
// Accept-Encoding, hashed names cached for a year, the loader and the pages
// revalidated with an ETag. A page view is replayed the way a browser with a
// cache does it: every script, style sheet and frame the page references is
// fetched; on the returning view only what is not fresh in the cache is
// asked for again, with If-None-Match. The numbers printed are the ones in
// docs/PERFORMANCE.md ("Bytes per page view").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { startCluster, ROOT } from '../lib/cluster.mjs';

let c;
before(async () => { c = await startCluster({ gateways: 1, routers: 1 }); });
after(async () => { if (c) await c.stop(); });

/** One GET with the raw path as given (no normalisation of ".."): the
 * status, headers, the bytes on the wire and the decoded body. */
function get(pathname, headers = {}) {
  const url = new URL(c.gatewayUrl(0));
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathname, method: 'GET', headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const wire = Buffer.concat(chunks);
        const enc = res.headers['content-encoding'];
        const body = enc === 'br' ? zlib.brotliDecompressSync(wire) : enc === 'gzip' ? zlib.gunzipSync(wire) : wire;
        // The response head as sent: status line, headers, blank line.
        let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + 2;
        for (let i = 0; i < res.rawHeaders.length; i += 2) head += res.rawHeaders[i].length + res.rawHeaders[i + 1].length + 4;
        resolve({ status: res.statusCode, headers: res.headers, wire, body, head });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// The references a page or module makes to the gateway's files (the same
// shapes scripts/build-web.mjs rewrites).
const REF = /(['"])((?:\.{1,2}\/|\/)[A-Za-z0-9_\-./]+\.(?:js|css|html))(?=[?#'"])/g;
function references(from, text) {
  return [...text.matchAll(REF)].map((m) => (m[2].startsWith('/') ? m[2] : path.posix.join(path.posix.dirname(from), m[2])));
}

/** A browser's HTTP cache, enough for this: fresh (max-age) entries are
 * used without asking, the others revalidated with their ETag. */
class Browser {
  constructor(acceptEncoding) { this.accept = acceptEncoding; this.cache = new Map(); }
  fresh(entry) { return /max-age=(\d+)/.test(entry.cacheControl) && !/no-cache/.test(entry.cacheControl); }
  /** Loads the page at start and everything it references; returns the requests made. */
  async view(start) {
    const requests = [];
    const seen = new Set();
    const queue = [start];
    while (queue.length) {
      const u = queue.shift();
      if (seen.has(u)) continue;
      seen.add(u);
      let entry = this.cache.get(u);
      if (!entry || !this.fresh(entry)) {
        const headers = { 'accept-encoding': this.accept };
        if (entry?.etag) headers['if-none-match'] = entry.etag;
        const r = await get(u, headers);
        requests.push({ url: u, status: r.status, bytes: r.wire.length, head: r.head, encoding: r.headers['content-encoding'] || 'identity',
          conditional: !!entry });
        if (r.status === 200) {
          entry = { body: r.body, etag: r.headers.etag, cacheControl: r.headers['cache-control'] || '' };
          this.cache.set(u, entry);
        } else {
          assert.equal(r.status, 304, `${u}: ${r.status}`);
          assert.ok(entry, `${u}: 304 without a cached copy`);
        }
      }
      if (/(\.(js|css|html)|\/)$/.test(u)) queue.push(...references(u, entry.body.toString('utf8')).filter((x) => !seen.has(x)));
    }
    return requests;
  }
}
const total = (rs) => rs.reduce((n, r) => n + r.bytes, 0);
const report = [];

test('a first page view of the demo page with the widget gets every file compressed, a returning view asks only for the loader and the page', async () => {
  const b = new Browser('gzip, deflate, br');
  const first = await b.view('/demo.html');
  const urls = first.map((r) => r.url);
  for (const want of ['/demo.html', '/widget.js']) assert.ok(urls.includes(want), `${want} loaded`);
  const frame = urls.find((u) => /^\/widget\/frame\.[0-9a-f]{8}\.html$/.test(u));
  assert.ok(frame, `the loader points at a hashed frame page: ${urls.join(' ')}`);
  for (const re of [/^\/widget\/frame\.[0-9a-f]{8}\.js$/, /^\/widget\/frame\.[0-9a-f]{8}\.css$/, /^\/widget\/lib\/chat\.[0-9a-f]{8}\.js$/,
    /^\/widget\/demo\/demo\.[0-9a-f]{8}\.js$/]) assert.ok(urls.some((u) => re.test(u)), `${re} loaded`);
  for (const r of first) {
    assert.equal(r.status, 200, r.url);
    assert.equal(r.encoding, 'br', `${r.url} sent as brotli`);
  }
  const identity = first.reduce((n, r) => n + b.cache.get(r.url).body.length, 0);
  assert.ok(total(first) < identity / 2.5, `compressed ${total(first)} B vs ${identity} B uncompressed`);

  const again = await b.view('/demo.html');
  const widget = again.filter((r) => r.url !== '/demo.html');
  assert.deepEqual(widget.map((r) => [r.url, r.status, r.conditional]), [['/widget.js', 304, true]],
    'the widget costs one conditional request for the loader');
  assert.deepEqual(again.map((r) => r.url).sort(), ['/demo.html', '/widget.js']);
  assert.ok(again.every((r) => r.status === 304 && r.bytes === 0));

  const gz = new Browser('gzip');
  const firstGz = await gz.view('/demo.html');
  assert.ok(firstGz.every((r) => r.encoding === 'gzip'), 'gzip when brotli is not accepted');
  const plain = new Browser('identity');
  const firstPlain = await plain.view('/demo.html');
  assert.ok(firstPlain.every((r) => r.encoding === 'identity'));
  report.push(['demo page + widget', first, again, firstGz, firstPlain]);
  const widgetOnly = (rs) => rs.filter((r) => r.url !== '/demo.html' && !r.url.startsWith('/widget/demo/'));
  report.push(['widget alone', widgetOnly(first), widgetOnly(again), widgetOnly(firstGz), widgetOnly(firstPlain)]);
});

test('the console page: hashed modules and styles cached, the page revalidated', async () => {
  const b = new Browser('gzip, deflate, br');
  const first = await b.view('/console/');
  assert.ok(first.length >= 10, `the console's modules: ${first.map((r) => r.url).join(' ')}`);
  assert.ok(first.every((r) => r.status === 200 && r.encoding === 'br'));
  const again = await b.view('/console/');
  assert.deepEqual(again.map((r) => [r.url, r.status]), [['/console/', 304]]);
  const gz = new Browser('gzip');
  const firstGz = await gz.view('/console/');
  const plain = new Browser('identity');
  const firstPlain = await plain.view('/console/');
  report.push(['console', first, again, firstGz, firstPlain]);
});

test('cache headers: hashed files immutable for a year, the loader and pages no-cache with a strong ETag', async () => {
  const loader = await get('/widget.js', { 'accept-encoding': 'br' });
  assert.equal(loader.status, 200);
  assert.equal(loader.headers['cache-control'], 'no-cache');
  assert.match(loader.headers.etag, /^"[0-9a-f]{32}-br"$/, 'a strong ETag per encoding');
  assert.equal(loader.headers.vary, 'Accept-Encoding');
  assert.equal(loader.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(loader.headers['x-content-type-options'], 'nosniff');
  assert.ok(loader.headers['content-security-policy']);
  // Revalidating with the tag of another encoding still matches: same bytes.
  const gzipTag = loader.headers.etag.replace('-br"', '-gz"');
  assert.equal((await get('/widget.js', { 'accept-encoding': 'br', 'if-none-match': gzipTag })).status, 304);
  assert.equal((await get('/widget.js', { 'if-none-match': `W/${loader.headers.etag}, "other"` })).status, 304);
  const stale = await get('/widget.js', { 'if-none-match': '"0123456789abcdef0123456789abcdef"' });
  assert.equal(stale.status, 200, 'another tag gets the file');
  const notModified = await get('/widget.js', { 'if-none-match': loader.headers.etag });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.wire.length, 0);
  assert.equal(notModified.headers['cache-control'], 'no-cache');

  const frameUrl = loader.body.toString('utf8').match(/'(\/widget\/frame\.[0-9a-f]{8}\.html)\?site='/)[1];
  const frame = await get(frameUrl);
  assert.equal(frame.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(frame.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(frame.headers['content-security-policy'], /frame-ancestors \*/, 'the widget frame may be framed anywhere');
  const css = frame.body.toString('utf8').match(/href="(\/widget\/frame\.[0-9a-f]{8}\.css)"/)[1];
  const cssRes = await get(css, { 'accept-encoding': 'br' });
  assert.equal(cssRes.headers['content-type'], 'text/css; charset=utf-8');
  assert.equal(cssRes.headers['cache-control'], 'public, max-age=31536000, immutable');
  const page = await get('/console/', { 'accept-encoding': 'gzip' });
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.match(page.headers['content-security-policy'], /frame-ancestors 'self'/);
  // Old embeds that point at the unhashed frame page still work.
  assert.equal((await get('/widget/frame.html')).status, 200);
});

test('the encoding follows Accept-Encoding and its q-values', async () => {
  const cases = [
    ['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['gzip;q=1, br;q=0', 'gzip'], ['br;q=0, gzip;q=0', 'identity'], ['identity', 'identity'], ['', 'identity'],
    ['*', 'br'], ['*, br;q=0', 'gzip'], ['GZIP', 'gzip'], ['x-gzip', 'gzip'], ['deflate', 'identity'],
  ];
  for (const [accept, want] of cases) {
    const r = await get('/widget.js', accept ? { 'accept-encoding': accept } : {});
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'] || 'identity', want, `Accept-Encoding: ${accept}`);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(Number(r.headers['content-length']), r.wire.length);
  }
});

test("a hashed file's bytes, decompressed, are its source with the hashed names of what it imports", async () => {
  const b = new Browser('br');
  const requests = await b.view('/console/');
  const hashed = requests.map((r) => r.url).filter((u) => /\.[0-9a-f]{8}\.(js|css)$/.test(u));
  assert.ok(hashed.length >= 10);
  for (const u of hashed) {
    const source = u.replace(/\.[0-9a-f]{8}\.(js|css)$/, '.$1');
    const want = fs.readFileSync(path.join(ROOT, 'web', source), 'utf8');
    for (const accept of ['br', 'gzip']) {
      const r = await get(u, { 'accept-encoding': accept });
      assert.equal(r.headers['content-encoding'], accept, u);
      assert.equal(r.body.toString('utf8').replace(/\.[0-9a-f]{8}\.(js|css|html)(?=['"?#])/g, '.$1'), want, `${u} (${accept})`);
    }
  }
});

test('unknown paths, old names and .. are 404', async () => {
  for (const p of ['/no/such/thing', '/widget/nope.js', '/widget/../../etc/passwd', '/widget/..%2f..%2fetc/passwd',
    '/console/../Makefile', '/widget/.stamp', '/widget/frame.js.br', '/Makefile', '/.stamp']) {
    const r = await get(p, { 'accept-encoding': 'br, gzip' });
    assert.equal(r.status, 404, p);
  }
});

after(() => {
  if (!report.length) return;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const heads = (rs) => rs.reduce((n, r) => n + r.head, 0);
  const lines = ['page view | first: requests, body br / gzip / none, response heads | returning: requests, body, response heads'];
  for (const [name, first, again, gz, plain] of report)
    lines.push(`${name} | ${first.length}, ${kb(total(first))} / ${kb(total(gz))} / ${kb(total(plain))}, ${kb(heads(first))} | `
      + `${again.length} (${again.map((r) => `${r.url} ${r.status}`).join(', ')}), ${total(again)} B, ${heads(again)} B`);
  console.log(lines.join('\n'));
});
