// A WebSocket that reconnects by itself.
//
// Backoff: 1 s, 2 s, 4 s ... capped at 10 s, each with jitter (50-100 % of the
// step) so that thousands of clients dropped by one dying gateway do not all
// come back in the same millisecond. The attempt counter resets only when the
// server has sent a frame, not on TCP/upgrade success: a gateway that accepts
// and immediately closes must still be backed off from.
//
// Keepalive: a ping every 25 s; if nothing at all arrives within 10 s after
// it, the connection is considered dead (half-open TCP, sleeping laptop) and
// is replaced.

export function endpointUrl(path) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

export class ReconnectingSocket {
  constructor(url, options = {}) {
    this.url = url;
    this.protocol = options.protocol || 'beseda.v1';
    this.minDelay = options.minDelay || 1000;
    this.maxDelay = options.maxDelay || 10000;
    this.pingEvery = options.pingEvery || 25000;
    this.pongTimeout = options.pongTimeout || 10000;
    this.ws = null;
    this.attempts = 0;
    this.running = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.deadTimer = null;
    this.handlers = { open: [], frame: [], close: [], schedule: [] };
    this.onOnline = () => { if (this.running && !this.ws) this.connectNow(); };
  }

  on(event, fn) {
    if (this.handlers[event]) this.handlers[event].push(fn);
    return this;
  }

  emit(event, arg) {
    for (const fn of this.handlers[event]) {
      try { fn(arg); } catch (err) { console.error('beseda: handler failed', err); }
    }
  }

  get connected() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener('online', this.onOnline);
    this.connectNow();
  }

  stop() {
    this.running = false;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.dropSocket(1000);
  }

  // Drop the current connection and connect again at once (used after a
  // "reconnect" frame or when the session must be restarted).
  restart(delay = 0) {
    if (!this.running) return;
    this.dropSocket(1000);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  send(obj) {
    if (!this.connected) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch (_) {
      return false;
    }
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.running || this.ws) return;
    let ws;
    try {
      ws = new WebSocket(this.url, this.protocol ? [this.protocol] : undefined);
    } catch (err) {
      console.error('beseda: cannot open WebSocket', err);
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.armPing();
      this.emit('open');
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      this.attempts = 0;
      this.armPing();
      if (typeof event.data !== 'string') return; // the protocol is text-only
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return; // a broken frame from the server is ignored, not fatal
      }
      if (frame && typeof frame === 'object' && typeof frame.type === 'string') {
        this.emit('frame', frame);
      }
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearPing();
      this.emit('close', { code: event.code, reason: event.reason });
      this.scheduleRetry();
    };
    ws.onerror = () => { /* onclose follows and does the work */ };
  }

  dropSocket(code) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.clearPing();
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(code); } catch (_) { /* already closing */ }
    this.emit('close', { code, reason: 'client' });
  }

  scheduleRetry() {
    if (!this.running) return;
    const step = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
    const delay = Math.max(this.minDelay, Math.round(step * (0.5 + Math.random() * 0.5)));
    this.attempts = Math.min(this.attempts + 1, 10);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
    this.emit('schedule', delay);
  }

  armPing() {
    this.clearPing();
    this.pingTimer = setTimeout(() => {
      if (!this.send({ type: 'ping' })) return;
      this.deadTimer = setTimeout(() => {
        // No answer at all: treat as dead and replace the connection.
        const ws = this.ws;
        if (!ws) return;
        this.ws = null;
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try { ws.close(4000); } catch (_) { /* ignore */ }
        this.clearPing();
        this.emit('close', { code: 4000, reason: 'timeout' });
        this.scheduleRetry();
      }, this.pongTimeout);
    }, this.pingEvery);
  }

  clearPing() {
    clearTimeout(this.pingTimer);
    clearTimeout(this.deadTimer);
    this.pingTimer = null;
    this.deadTimer = null;
  }
}
