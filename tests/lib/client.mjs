// A protocol client for tests, written from docs/PROTOCOL.md: one WebSocket,
// a queue of received frames, and waits on conditions (never fixed sleeps).
import WebSocket from 'ws';

export class Client {
  /** @param {string} url ws://host:port/ws/visitor or /ws/operator */
  static async connect(url, { origin, headers = {} } = {}) {
    const c = new Client();
    c.frames = []; c.waiters = []; c.closed = null;
    c.ws = new WebSocket(url, 'beseda.v1', { headers: origin ? { Origin: origin, ...headers } : headers });
    c.ws.on('message', (data, isBinary) => c.onFrame(data, isBinary));
    c.closedPromise = new Promise((resolve) => c.ws.on('close', (code, reason) => {
      c.closed = { code, reason: reason.toString() }; c.wake(); resolve(c.closed);
    }));
    await new Promise((resolve, reject) => {
      c.ws.once('open', resolve);
      c.ws.once('error', reject);
      c.ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    });
    c.ws.on('error', () => { /* surfaced through close */ });
    return c;
  }

  onFrame(data, isBinary) {
    let frame;
    try { frame = JSON.parse(data.toString()); } catch { frame = { type: '__unparsable__', raw: data.toString(), isBinary }; }
    this.frames.push(frame);
    this.wake();
  }

  wake() { const w = this.waiters; this.waiters = []; w.forEach((fn) => fn()); }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendRaw(data, opts) { this.ws.send(data, opts); }

  /** Waits for (and removes from the queue) the first frame matching pred. */
  async next(pred, { timeoutMs = 10000, what } = {}) {
    if (typeof pred === 'string') { const t = pred; pred = (f) => f.type === t; what = what || t; }
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) throw new Error(`connection closed (${this.closed.code}) while waiting for ${what || 'frame'}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what || 'frame'}; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      await new Promise((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  /** Sends a frame and waits for the reply of the given type, or an error frame. */
  async request(obj, replyType, opts) {
    this.send(obj);
    const f = await this.next((x) => x.type === replyType || x.type === 'error', { what: replyType, ...opts });
    return f;
  }

  async waitClosed(timeoutMs = 10000) {
    let t;
    const timeout = new Promise((_, reject) => { t = setTimeout(() => reject(new Error('not closed')), timeoutMs); });
    try { return await Promise.race([this.closedPromise, timeout]); } finally { clearTimeout(t); }
  }

  close() { try { this.ws.terminate(); } catch { /* closed */ } }
}

let seq = 0;
export const clientId = (prefix = 'c') => `${prefix}-${process.pid}-${Date.now()}-${++seq}`;

/** Visitor hello → welcome. */
export async function visitor(url, site, { token, page } = {}) {
  const c = await Client.connect(url);
  const w = await c.request({ type: 'hello', site, ...(token ? { token } : {}), page: page || { url: 'http://shop.test/', title: 'Shop' } }, 'welcome');
  if (w.type !== 'welcome') throw new Error(`visitor hello failed: ${JSON.stringify(w)}`);
  c.welcome = w;
  return c;
}

/** Operator login → welcome. */
export async function operator(url, op) {
  const c = await Client.connect(url);
  const w = await c.request({ type: 'login', email: op.email, password: op.password }, 'welcome');
  if (w.type !== 'welcome') throw new Error(`operator login failed: ${JSON.stringify(w)}`);
  c.welcome = w;
  return c;
}
