// A site's back end mints a visitor token by the recipe of docs/PROTOCOL.md
// section 4 alone (node crypto, plus BLAKE2b written out here since node
// has no keyed BLAKE2b with a 32-byte output), and the routers take it: the
// welcome names the minted visitor, and the chat works. A token MAC'd with
// the secret itself (not the derived key) is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startCluster } from '../lib/cluster.mjs';
import { visitor, Client, clientId } from '../lib/client.mjs';

let c;

before(async () => { c = await startCluster({ gateways: 1, routers: 2 }); });
after(async () => { if (c) await c.stop(); });

/* ---------------------------------------------- BLAKE2b (RFC 7693), keyed */

const M64 = (1n << 64n) - 1n;
const IV = [0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n];
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4], [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13], [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11], [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5], [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0]];
const rotr = (x, n) => ((x >> n) | (x << (64n - n))) & M64;

function mix(v, a, b, cc, d, x, y) {
  v[a] = (v[a] + v[b] + x) & M64; v[d] = rotr(v[d] ^ v[a], 32n);
  v[cc] = (v[cc] + v[d]) & M64; v[b] = rotr(v[b] ^ v[cc], 24n);
  v[a] = (v[a] + v[b] + y) & M64; v[d] = rotr(v[d] ^ v[a], 16n);
  v[cc] = (v[cc] + v[d]) & M64; v[b] = rotr(v[b] ^ v[cc], 63n);
}

function compress(h, block, t, last) {
  const m = Array.from({ length: 16 }, (_, i) => block.readBigUInt64LE(i * 8));
  const v = [...h, ...IV];
  v[12] ^= t & M64;
  v[13] ^= t >> 64n;
  if (last) v[14] ^= M64;
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10];
    mix(v, 0, 4, 8, 12, m[s[0]], m[s[1]]); mix(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    mix(v, 2, 6, 10, 14, m[s[4]], m[s[5]]); mix(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    mix(v, 0, 5, 10, 15, m[s[8]], m[s[9]]); mix(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    mix(v, 2, 7, 8, 13, m[s[12]], m[s[13]]); mix(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (let i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

function blake2b(data, outLen, key = Buffer.alloc(0)) {
  const h = IV.slice();
  h[0] ^= 0x01010000n ^ (BigInt(key.length) << 8n) ^ BigInt(outLen);
  const input = key.length ? Buffer.concat([Buffer.concat([key], 128), data]) : data;
  const blocks = Math.max(1, Math.ceil(input.length / 128));
  let t = 0n;
  for (let i = 0; i < blocks; i++) {
    const block = Buffer.alloc(128);
    input.copy(block, 0, i * 128, Math.min(input.length, (i + 1) * 128));
    const last = i === blocks - 1;
    t += BigInt(last ? input.length - i * 128 : 128);
    compress(h, block, t, last);
  }
  const out = Buffer.alloc(64);
  h.forEach((x, i) => out.writeBigUInt64LE(x, i * 8));
  return out.subarray(0, outLen);
}

/* ------------------------------------------------------ the doc's recipe */

const b64url = (buf) => Buffer.from(buf).toString('base64url');   // no '=' padding

/** docs/PROTOCOL.md section 4, step by step. */
function mintToken(secret, siteId, visitorId, issued = Math.floor(Date.now() / 1000)) {
  const key = blake2b(Buffer.from(secret, 'utf8'), 32, Buffer.from('beseda visitor token key v1', 'ascii'));
  const payload = Buffer.from(`v1|${siteId}|${visitorId}|${issued}`, 'ascii');
  const mac = crypto.createHmac('sha256', key).update(payload).digest();
  return `${b64url(payload)}.${b64url(mac)}`;
}

test('the BLAKE2b written out here is BLAKE2b (against node\'s blake2b512)', () => {
  for (const text of ['', 'abc', 'x'.repeat(128), 'y'.repeat(129), 'z'.repeat(300)]) {
    const want = crypto.createHash('blake2b512').update(text).digest('hex');
    assert.equal(blake2b(Buffer.from(text), 64).toString('hex'), want, `BLAKE2b-512 of ${text.length} bytes`);
  }
  // RFC 7693 appendix A: BLAKE2b-512("abc")
  assert.match(blake2b(Buffer.from('abc'), 64).toString('hex'), /^ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1/);
});

test('a token minted by the documented recipe is accepted: the welcome names the minted visitor', async () => {
  const customer = crypto.randomUUID();        // e.g. the shop's logged-in customer, as a visitor id
  const token = mintToken(c.secret, c.site.id, customer);
  const v = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { token });
  assert.equal(v.welcome.visitor_id, customer, 'the visitor is the one the token names');
  const conv = v.welcome.conversation.id;
  const a = await v.request({ type: 'send', conversation: conv, client_id: clientId('t'), text: 'hello from a minted token' }, 'ack');
  assert.equal(a.type, 'ack', JSON.stringify(a));
  v.close();
  // The same customer on another device (another minted token, another router maybe): the same chat.
  const again = await visitor(c.wsUrl(0, 'visitor'), c.site.id, { token: mintToken(c.secret, c.site.id, customer) });
  assert.equal(again.welcome.visitor_id, customer);
  assert.equal(again.welcome.conversation.id, conv, 'the open conversation is found again');
  again.close();
  // The routers' own tokens follow the same recipe: one from a welcome verifies with the derived key.
  const [p64, m64] = v.welcome.token.split('.');
  const key = blake2b(Buffer.from(c.secret, 'utf8'), 32, Buffer.from('beseda visitor token key v1', 'ascii'));
  assert.equal(crypto.createHmac('sha256', key).update(Buffer.from(p64, 'base64url')).digest('base64url'), m64);
  assert.match(Buffer.from(p64, 'base64url').toString(), new RegExp(`^v1\\|${c.site.id}\\|${customer}\\|\\d+$`));
});

test('tokens made otherwise are refused: MAC keyed with the raw secret, another site, the future, expired', async () => {
  const customer = crypto.randomUUID();
  const payload = Buffer.from(`v1|${c.site.id}|${customer}|${Math.floor(Date.now() / 1000)}`);
  const rawKeyed = `${b64url(payload)}.${b64url(crypto.createHmac('sha256', c.secret).update(payload).digest())}`;
  const other = await c.createSite('Other shop');
  const cases = [
    [rawKeyed, 'bad_token', 'HMAC keyed with BESEDA_SECRET itself'],
    [mintToken(c.secret, other.id, customer), 'bad_token', 'a token for another site'],
    [mintToken(c.secret, c.site.id, customer, Math.floor(Date.now() / 1000) + 3600), 'bad_token', 'issued an hour in the future'],
    [mintToken(c.secret, c.site.id, customer, Math.floor(Date.now() / 1000) - 15552000 - 10), 'token_expired', 'older than the TTL'],
    [mintToken('another secret of enough length', c.site.id, customer), 'bad_token', 'another deployment\'s secret'],
  ];
  for (const [token, code, what] of cases) {
    const cl = await Client.connect(c.wsUrl(0, 'visitor'));
    const r = await cl.request({ type: 'hello', site: c.site.id, token }, 'welcome');
    assert.equal(r.type, 'error', `${what}: ${JSON.stringify(r)}`);
    assert.equal(r.code, code, `${what}: ${JSON.stringify(r)}`);
    cl.close();
  }
});
