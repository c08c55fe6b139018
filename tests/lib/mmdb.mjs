// A small MaxMind DB (.mmdb) writer for tests: Debian ships no GeoIP
// database (licences), so the GeoIP test makes its own. It follows the
// MaxMind DB File Format Specification 2.0: a binary search tree of 128-bit
// (ip_version 6) or 32-bit (ip_version 4) addresses, 16 zero bytes, the data
// section, then "\xAB\xCD\xEFMaxMind.com" and the metadata map. IPv4
// networks in an IPv6 tree sit under ::/96 (::a.b.c.d), where readers such as
// libmaxminddb look IPv4 addresses up. No pointers or deduplication in the
// data section: each network's record is written once, in full.
//
//   writeMmdb(file, [{ network: '77.88.0.0/16', data: { country: { iso_code: 'RU' } } }])
//
// Values: strings are UTF-8 strings, non-negative integers uint32, other
// numbers doubles, booleans, arrays, plain objects maps; u16/u32/u64 (a
// BigInt or number) force an unsigned type, as the metadata needs.
import fs from 'node:fs';
import net from 'node:net';

const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from('MaxMind.com')]);

class Uint { constructor(bits, value) { this.bits = bits; this.value = BigInt(value); } }
export const u16 = (v) => new Uint(16, v);
export const u32 = (v) => new Uint(32, v);
export const u64 = (v) => new Uint(64, v);

// Type numbers of the spec; 8 and above are "extended" (control type 0 and
// a second byte holding type - 7).
const T = { string: 2, double: 3, uint16: 5, uint32: 6, map: 7, uint64: 9, array: 11, boolean: 14 };

/** The control byte(s) of a field of `type` whose size (bytes, or entries) is `size`. */
function control(type, size) {
  let sizeBits, extra;
  if (size < 29) { sizeBits = size; extra = Buffer.alloc(0); }
  else if (size < 29 + 256) { sizeBits = 29; extra = Buffer.from([size - 29]); }
  else if (size < 285 + 65536) { sizeBits = 30; extra = Buffer.alloc(2); extra.writeUInt16BE(size - 285); }
  else if (size < 65821 + 16777216) {
    sizeBits = 31; const n = size - 65821; extra = Buffer.from([n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff]);
  } else throw new Error(`mmdb: field too large (${size})`);
  const head = type <= 7 ? Buffer.from([type << 5 | sizeBits]) : Buffer.from([sizeBits, type - 7]);
  return Buffer.concat([head, extra]);
}

function uintBytes(value, maxBytes) {
  if (value < 0n || value >= 1n << BigInt(maxBytes * 8)) throw new Error(`mmdb: ${value} does not fit ${maxBytes * 8} bits`);
  const bytes = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.from(bytes);      // big-endian, leading zeros left out (the spec allows it)
}

/** One value of the data section. */
export function encode(value) {
  if (value instanceof Uint) {
    const bytes = uintBytes(value.value, value.bits / 8);
    return Buffer.concat([control({ 16: T.uint16, 32: T.uint32, 64: T.uint64 }[value.bits], bytes.length), bytes]);
  }
  if (typeof value === 'string') {
    const s = Buffer.from(value, 'utf8');
    return Buffer.concat([control(T.string, s.length), s]);
  }
  if (typeof value === 'boolean') return control(T.boolean, value ? 1 : 0);
  if (typeof value === 'bigint') return encode(u64(value));
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) return encode(u32(value));
    const d = Buffer.alloc(8); d.writeDoubleBE(value);
    return Buffer.concat([control(T.double, 8), d]);
  }
  if (Array.isArray(value)) return Buffer.concat([control(T.array, value.length), ...value.map(encode)]);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    return Buffer.concat([control(T.map, keys.length), ...keys.flatMap((k) => [encode(k), encode(value[k])])]);
  }
  throw new Error(`mmdb: cannot encode ${typeof value}`);
}

/** '77.88.0.0/16' -> { bits: [0/1 ...] } in the tree's address width. */
function networkBits(network, ipVersion) {
  const [addr, lenText] = network.split('/');
  const family = net.isIP(addr);
  if (!family) throw new Error(`mmdb: not an address: ${network}`);
  let bytes;
  if (family === 4) bytes = addr.split('.').map(Number);
  else {
    const [head, tail = ''] = addr.includes('::') ? addr.split('::') : [addr, null];
    const groups = (s) => (s ? s.split(':') : []);
    const h = groups(head), t = tail === null ? [] : groups(tail);
    const all = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    if (all.length !== 8 || all.some((g) => g.includes('.'))) throw new Error(`mmdb: write ${network} without dotted IPv4`);
    bytes = all.flatMap((g) => { const v = parseInt(g, 16); return [v >> 8, v & 0xff]; });
  }
  let prefix = lenText === undefined ? bytes.length * 8 : Number(lenText);
  if (family === 4 && ipVersion === 6) { bytes = [...Array(12).fill(0), ...bytes]; prefix += 96; }
  if (family === 6 && ipVersion === 4) throw new Error(`mmdb: IPv6 network ${network} in an IPv4 tree`);
  if (!(prefix >= 0 && prefix <= bytes.length * 8)) throw new Error(`mmdb: bad prefix in ${network}`);
  const bits = [];
  for (let i = 0; i < prefix; i++) bits.push(bytes[i >> 3] >> (7 - (i & 7)) & 1);
  return bits;
}

/** The file's bytes. networks: [{ network, data }]; a more specific network wins inside a wider one. */
export function buildMmdb(networks, { ipVersion = 6, recordSize = 28, databaseType = 'beseda-test-City',
  languages = ['en'], description = { en: 'beseda test GeoIP database' }, buildEpoch = Math.floor(Date.now() / 1000) } = {}) {
  if (![24, 28, 32].includes(recordSize)) throw new Error('mmdb: record size is 24, 28 or 32');
  // The data section: one record per network, in order.
  const records = networks.map((n) => encode(n.data));
  const offsets = [];
  let at = 0;
  for (const r of records) { offsets.push(at); at += r.length; }
  const dataSection = Buffer.concat(records);
  // The tree: node = [left, right], each a node object, { data: i } or null (no data).
  const root = [null, null];
  const sorted = networks.map((n, i) => ({ bits: networkBits(n.network, ipVersion), i }))
    .sort((a, b) => a.bits.length - b.bits.length);      // wider first: narrower ones split them
  for (const { bits, i } of sorted) {
    if (bits.length === 0) throw new Error('mmdb: a /0 network cannot be written');
    let node = root;
    for (let d = 0; d < bits.length - 1; d++) {
      const b = bits[d];
      let next = node[b];
      if (!Array.isArray(next)) next = node[b] = [next, next];     // a wider network's data goes to both halves
      node = next;
    }
    node[bits[bits.length - 1]] = { data: i };
  }
  // Numbered breadth-first; root is node 0.
  const order = [root];
  const index = new Map([[root, 0]]);
  for (let k = 0; k < order.length; k++) {
    for (const child of order[k]) {
      if (Array.isArray(child) && !index.has(child)) { index.set(child, order.length); order.push(child); }
    }
  }
  const nodeCount = order.length;
  const maxRecord = 2 ** recordSize;
  const recordValue = (r) => {
    let v;
    if (r === null) v = nodeCount;                                  // no data here
    else if (Array.isArray(r)) v = index.get(r);
    else v = nodeCount + 16 + offsets[r.data];                       // data section offset, after 16 zero bytes
    if (v >= maxRecord) throw new Error('mmdb: record value overflows the record size');
    return v;
  };
  const nodeBytes = recordSize * 2 / 8;
  const tree = Buffer.alloc(nodeCount * nodeBytes);
  order.forEach((node, k) => {
    const [l, r] = node.map(recordValue);
    const o = k * nodeBytes;
    if (recordSize === 24) {
      tree.writeUIntBE(l, o, 3); tree.writeUIntBE(r, o + 3, 3);
    } else if (recordSize === 28) {
      // 3 bytes of left, a middle byte (left's high nibble, right's high nibble), 3 bytes of right.
      tree.writeUIntBE(l & 0xffffff, o, 3);
      tree[o + 3] = (l >>> 24 & 0x0f) << 4 | (r >>> 24 & 0x0f);
      tree.writeUIntBE(r & 0xffffff, o + 4, 3);
    } else {
      tree.writeUInt32BE(l, o); tree.writeUInt32BE(r, o + 4);
    }
  });
  const metadata = encode({
    node_count: u32(nodeCount),
    record_size: u16(recordSize),
    ip_version: u16(ipVersion),
    database_type: databaseType,
    languages,
    binary_format_major_version: u16(2),
    binary_format_minor_version: u16(0),
    build_epoch: u64(buildEpoch),
    description,
  });
  return Buffer.concat([tree, Buffer.alloc(16), dataSection, METADATA_MARKER, metadata]);
}

export function writeMmdb(file, networks, opts) {
  fs.writeFileSync(file, buildMmdb(networks, opts));
  return file;
}

/** A GeoLite2-City-shaped record: { country: { iso_code }, city: { names } }. */
export const place = (iso, cityNames) => ({
  country: { iso_code: iso, names: { en: iso } },
  ...(cityNames ? { city: { names: typeof cityNames === 'string' ? { en: cityNames } : cityNames } } : {}),
});
