// A running chat load for drain and scaling tests: visitors that send
// continuously and behave as docs/PROTOCOL.md tells a client to. A visitor
// retries `unavailable` with the same client_id; on `reconnect` or a lost
// connection it connects to another gateway, says hello with its token,
// `sync`s from the last seq it has and re-sends its unacked messages with
// the same client ids. Every outcome is counted so a test can assert on it
// and report it; `verifyChats` then checks every acked message in PostgreSQL.
import assert from 'node:assert/strict';
import { Client, clientId } from './client.mjs';
import { sleep, waitFor } from './cluster.mjs';

const PAGE = { url: 'http://shop.test/', title: 'Shop' };
const RETRY_MS = 200;          // backoff after `unavailable` or a failed connect
const NOISE = new Set(['message', 'typing', 'conversation', 'operators', 'pong']);

export class LoadVisitor {
  /** @param gateways () => gateway indexes a client may connect to now */
  constructor(c, site, gateways, name) {
    Object.assign(this, { c, site, gateways, name });
    this.gw = null; this.client = null; this.token = null; this.conv = null;
    this.acked = [];           // { cid, seq, ms }: ms = send-to-ack latency
    this.unacked = new Map();  // cid -> text, in send order
    this.stats = { unavailable: 0, reconnectFrames: 0, reconnects: 0, duplicateAcks: 0, syncedOwn: 0 };
    this.errors = [];
    this.closeCodes = {};      // close code -> count, for connections lost
  }

  get lastSeq() { return this.acked.reduce((m, a) => Math.max(m, a.seq), 0); }

  /** Connects (to `prefer` if given, else to a gateway other than the last one) and says hello. */
  async connect(deadline, prefer) {
    for (let attempt = 0; ; attempt++) {
      const live = this.gateways();
      const others = live.filter((g) => g !== this.gw);
      const gw = prefer ?? (others.length ? others[attempt % others.length] : live[attempt % live.length]);
      prefer = undefined;
      try {
        const client = await Client.connect(this.c.wsUrl(gw, 'visitor'));
        const w = await client.request({ type: 'hello', site: this.site, ...(this.token ? { token: this.token } : {}), page: PAGE },
          'welcome', { timeoutMs: Math.max(deadline - Date.now(), 1) });
        if (w.type === 'welcome') {
          if (this.conv && this.acked.length) assert.equal(w.conversation.id, this.conv, `${this.name}: same conversation after reconnect`);
          this.conv = this.conv && this.acked.length ? this.conv : w.conversation.id;
          this.token = w.token; this.client = client; this.gw = gw;
          return;
        }
        client.close();
        if (w.code === 'unavailable') this.stats.unavailable++;
        else throw new Error(`${this.name}: hello refused: ${JSON.stringify(w)}`);
      } catch (e) {
        if (e.message.includes('hello refused')) throw e;
        /* gateway going away (503), refused, or closed mid-hello: try another */
      }
      if (Date.now() > deadline) throw new Error(`${this.name}: could not reconnect`);
      await sleep(RETRY_MS);
    }
  }

  /** After a reconnect: sync from the last acked seq, then re-send what is unacked. */
  async resume(deadline) {
    this.stats.reconnects++;
    const after = this.lastSeq;
    const m = await this.client.request({ type: 'sync', conversation: this.conv, after }, 'messages',
      { timeoutMs: Math.max(deadline - Date.now(), 1) });
    if (m.type === 'error') { if (m.code === 'unavailable') this.stats.unavailable++; return; }
    m.messages.forEach((msg, i) => assert.equal(msg.seq, after + 1 + i, `${this.name}: sync after ${after} is gap-free`));
    // A message whose ack was lost with the connection is here already: its re-send gets a duplicate ack.
    this.stats.syncedOwn += m.messages.filter((msg) => this.unacked.has(msg.client_id)).length;
  }

  /** Records how the connection ended (a `reconnect` frame? which close code?) and drops it. */
  noteLost() {
    if (!this.client) return;
    if (this.client.frames.some((x) => x.type === 'reconnect')) this.stats.reconnectFrames++;
    const code = this.client.closed?.code ?? 'open';
    this.closeCodes[code] = (this.closeCodes[code] || 0) + 1;
    this.client.close(); this.client = null;
  }

  async reconnect(deadline) {
    this.client?.close();
    this.client = null;
    await this.connect(deadline);
    await this.resume(deadline);
    for (const [cid, text] of this.unacked) this.client.send({ type: 'send', conversation: this.conv, client_id: cid, text });
  }

  /** Sends one message until it is acked (or timeoutMs passes): resolves with the ack or the final error. */
  async send(text, timeoutMs = 20000) {
    const cid = clientId(this.name);
    const started = Date.now();
    const end = started + timeoutMs;
    this.unacked.set(cid, text);
    let needSend = true;
    for (;;) {
      try {
        if (!this.client || this.client.closed) { this.noteLost(); await this.reconnect(end); needSend = false; }
        if (needSend) this.client.send({ type: 'send', conversation: this.conv, client_id: cid, text });
        needSend = true;
        const f = await this.client.next((x) => x.type === 'reconnect' || (x.type === 'ack' && x.client_id === cid)
          || (x.type === 'error' && x.ref === cid), { timeoutMs: Math.max(end - Date.now(), 1), what: `ack of ${cid}` });
        if (f.type === 'reconnect') {
          // The gateway closes with 1001 right after: wait for it, then go elsewhere.
          this.client.frames.unshift(f);
          await this.client.waitClosed(5000).catch(() => {});
          this.noteLost();
          continue;
        }
        if (f.type === 'ack') {
          this.unacked.delete(cid);
          if (f.duplicate) this.stats.duplicateAcks++;
          this.acked.push({ cid, seq: f.seq, ms: Date.now() - started });
          this.client.frames = this.client.frames.filter((x) => !NOISE.has(x.type));
          return f;
        }
        if (f.code !== 'unavailable') { this.unacked.delete(cid); return f; }
        this.stats.unavailable++;
        await sleep(RETRY_MS);
      } catch (e) {
        if (Date.now() > end) { this.unacked.delete(cid); return { type: 'error', code: 'timeout', message: e.message }; }
        if (this.client && !this.client.closed) throw e;   // not a lost connection: a test bug
        await sleep(50);                                   // lost: reconnect on the next turn
      }
    }
  }

  close() { this.client?.close(); this.client = null; }
}

/** Starts `chats` visitors, each sending continuously (pauseMs between
 * messages). `gateways()` says where they may connect; `placement(i)` the
 * first gateway of visitor i. Returns a handle: chats, progress waits, stop. */
export async function startLoad(c, { chats = 12, gateways = () => [0], placement = () => undefined, pauseMs = 10, prefix = 'v' } = {}) {
  const list = [];
  for (let i = 0; i < chats; i++) {
    const v = new LoadVisitor(c, c.site.id, gateways, `${prefix}${i}`);
    await v.connect(Date.now() + 15000, placement(i));
    list.push(v);
  }
  let stopping = false;
  const loops = list.map(async (v) => {
    for (let n = 0; !stopping && n < 100000; n++) {
      const f = await v.send(`${v.name}-${n}`);
      if (f.type !== 'ack') v.errors.push(f);
      if (pauseMs) await sleep(pauseMs);
    }
  });
  const load = {
    chats: list,
    /** Waits until every chat has at least `n` more acks than in `from` (an array of counts). */
    counts: () => list.map((v) => v.acked.length),
    async progressed(n, from = list.map(() => 0), timeoutMs = 15000, what = 'every chat goes on') {
      await waitFor(() => list.every((v, i) => v.acked.length >= from[i] + n), { what, timeoutMs });
    },
    async stop() { stopping = true; await Promise.all(loops); },
    totals() {
      // slowAcks: sends acked only after >= 900 ms, i.e. after a bus resend (BUS_ATTEMPT_MS):
      // what a request lost in a drain costs when nothing answers `unavailable`.
      const t = { acked: 0, unavailable: 0, reconnectFrames: 0, reconnects: 0, duplicateAcks: 0, syncedOwn: 0, errors: 0, maxAckMs: 0, slowAcks: 0 };
      for (const v of list) {
        t.acked += v.acked.length; t.errors += v.errors.length;
        for (const k of Object.keys(v.stats)) t[k] += v.stats[k];
        for (const a of v.acked) { t.maxAckMs = Math.max(t.maxAckMs, a.ms); if (a.ms >= 900) t.slowAcks++; }
        for (const [code, n] of Object.entries(v.closeCodes)) t.closeCodes = { ...t.closeCodes, [code]: (t.closeCodes?.[code] || 0) + n };
      }
      return t;
    },
    close() { list.forEach((v) => v.close()); },
  };
  return load;
}

/** Every acked message is in PostgreSQL at its acked seq; seqs are 1..n
 * without gaps; no client id is stored twice in a conversation. */
export function verifyChats(c, chats) {
  for (const v of chats) {
    assert.deepEqual(v.errors, [], `${v.name}: every message was eventually acknowledged`);
    const rows = c.sql(`SELECT seq, client_msg_id FROM messages WHERE conversation_id='${v.conv}' ORDER BY seq`);
    const bySeq = new Map(rows.map(([s, cid]) => [Number(s), cid]));
    for (const a of v.acked) assert.equal(bySeq.get(a.seq), a.cid, `${v.name}: acked ${a.cid} stored at seq ${a.seq}`);
    assert.deepEqual(rows.map((r) => Number(r[0])), rows.map((_, i) => i + 1), `${v.name}: sequence has no gaps`);
    assert.equal(new Set(rows.map((r) => r[1])).size, rows.length, `${v.name}: no message stored twice`);
    assert.equal(new Set(v.acked.map((a) => a.cid)).size, v.acked.length, `${v.name}: each message acked once`);
    assert.equal(rows.length, v.acked.length, `${v.name}: stored exactly what was acked`);
  }
}
