// The delivery rules of docs/PROTOCOL.md section 2, shared by the widget and
// the console: send with client ids through the outbox, apply acks, dedupe by
// seq, repair gaps with sync, re-send after reconnect. The UI only renders
// what this keeps and reacts to onChange(conversationId, event).

import { Thread, validMessage } from './thread.js';

const RETRY_DELAY = { unavailable: 1500, internal: 3000, rate_limited: 2000, overloaded: 1000 };
const MAX_RETRY_AFTER = 60000;

// The wait before retrying a refused request: the server's retry_after_ms
// when it sent one (an `overloaded` refusal), else the code's default.
function retryDelay(frame) {
  const after = frame.retry_after_ms;
  if (Number.isFinite(after) && after > 0) return Math.min(after, MAX_RETRY_AFTER);
  return RETRY_DELAY[frame.code];
}
const DROP_CODES = new Set(['text_too_long', 'empty_text', 'field_too_long', 'missing_field']);
const SYNC_TIMEOUT = 10000;

export class ChatCore {
  constructor({ socket, outbox, selfKind, onChange }) {
    this.socket = socket;
    this.outbox = outbox;
    this.selfKind = selfKind;
    this.selfAuthor = { kind: selfKind };
    this.onChange = onChange || (() => {});
    this.threads = new Map();
    this.ready = false;
    this.syncing = new Map();      // conversation -> time the sync was sent
    this.retryTimers = new Map();  // client_id -> timer
  }

  thread(id) {
    let t = this.threads.get(id);
    if (!t) {
      t = new Thread(id);
      this.threads.set(id, t);
    }
    return t;
  }

  // Called with true after the welcome, false when the connection is gone:
  // outstanding syncs die with the connection and must be asked again.
  setReady(ready) {
    this.ready = ready;
    if (!ready) this.syncing.clear();
  }

  sync(id) {
    if (!this.ready || typeof id !== 'string') return false;
    const since = this.syncing.get(id);
    if (since && Date.now() - since < SYNC_TIMEOUT) return false; // one in flight is enough
    const after = this.thread(id).contiguous;
    if (!this.socket.send({ type: 'sync', conversation: id, after })) return false;
    this.syncing.set(id, Date.now());
    return true;
  }

  pending(conversation) {
    return this.outbox.forConversation(conversation);
  }

  send(conversation, text) {
    const entry = this.outbox.add(conversation, text);
    this.transmit(entry);
    this.onChange(conversation, { type: 'outbox' });
    return entry;
  }

  transmit(entry) {
    if (!this.ready) return false; // re-sent by resend() after the next welcome
    return this.socket.send({
      type: 'send', conversation: entry.conversation, client_id: entry.client_id, text: entry.text,
    });
  }

  // After a welcome: every unacknowledged message goes out again, same client_id.
  resend(filter = () => true) {
    for (const entry of this.outbox.all()) {
      if (filter(entry)) this.transmit(entry);
    }
  }

  retryLater(entry, delay, jitter = 500) {
    if (this.retryTimers.has(entry.client_id)) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(entry.client_id);
      const current = this.outbox.get(entry.client_id);
      if (current) this.transmit(current);
    }, delay + Math.random() * jitter);
    this.retryTimers.set(entry.client_id, timer);
  }

  // Handles ack / message / messages; returns false for other frame types.
  handle(frame) {
    switch (frame.type) {
      case 'ack': this.onAck(frame); return true;
      case 'message': this.onMessage(frame); return true;
      case 'messages': this.onMessages(frame); return true;
      default: return false;
    }
  }

  onAck(frame) {
    if (typeof frame.conversation !== 'string' || !Number.isSafeInteger(frame.seq)) return;
    const entry = typeof frame.client_id === 'string' ? this.outbox.remove(frame.client_id) : null;
    const thread = this.thread(frame.conversation);
    if (!thread.has(frame.seq)) {
      if (entry) {
        const ts = Number.isFinite(frame.ts) ? frame.ts : Date.now();
        const result = thread.add({
          seq: frame.seq, client_id: entry.client_id, text: entry.text, ts, author: this.selfAuthor,
        });
        if (result === 'gap') this.sync(frame.conversation);
      } else {
        this.sync(frame.conversation); // acked in another tab: fetch the stored copy
      }
    }
    this.onChange(frame.conversation, { type: 'ack', seq: frame.seq });
  }

  onMessage(frame) {
    if (typeof frame.conversation !== 'string' || !validMessage(frame)) return;
    const message = normalize(frame);
    if (message.client_id && message.author.kind === this.selfKind) {
      this.outbox.remove(message.client_id); // stored, so no longer pending
    }
    const result = this.thread(frame.conversation).add(message);
    if (result === 'gap') this.sync(frame.conversation);
    if (result === 'ok' || result === 'gap') {
      this.onChange(frame.conversation, { type: 'message', message });
    }
  }

  onMessages(frame) {
    const id = frame.conversation;
    if (typeof id !== 'string') return;
    this.syncing.delete(id);
    const thread = this.thread(id);
    const added = [];
    for (const raw of Array.isArray(frame.messages) ? frame.messages : []) {
      if (!validMessage(raw)) continue;
      const message = normalize(raw);
      if (message.client_id && message.author.kind === this.selfKind) this.outbox.remove(message.client_id);
      const result = thread.add(message);
      if (result === 'ok' || result === 'gap') added.push(message);
    }
    const serverLast = Number.isSafeInteger(frame.last_seq) ? frame.last_seq : 0;
    // Ask again while the server has more, or a gap remains and we progressed
    // (the progress condition stops a loop on a gap the server cannot fill).
    if (frame.more === true || (added.length > 0 && (thread.hasGap() || serverLast > thread.contiguous))) {
      this.sync(id);
    }
    this.onChange(id, { type: 'sync', added });
  }

  // An error frame; returns {entry, code} when it refers to one of our
  // pending messages and the app must decide (conversation closed etc.).
  handleError(frame) {
    const code = frame.code;
    if (frame.ref === 'sync') {
      // The error names its conversation: only that sync failed.
      const one = typeof frame.conversation === 'string' && this.syncing.has(frame.conversation);
      const wanted = one ? [frame.conversation] : Array.from(this.syncing.keys());
      wanted.forEach((id) => this.syncing.delete(id));
      if (RETRY_DELAY[code]) setTimeout(() => wanted.forEach((id) => this.sync(id)), retryDelay(frame));
      return null;
    }
    if (typeof frame.ref !== 'string') return null;
    const entry = this.outbox.get(frame.ref);
    if (!entry) return null;
    if (RETRY_DELAY[code]) {
      // `overloaded` already carries its jitter; the others get some here.
      this.retryLater(entry, retryDelay(frame), code === 'overloaded' ? 0 : 500);
      return { entry, code, retrying: true };
    }
    if (DROP_CODES.has(code)) {
      this.outbox.remove(entry.client_id);
      this.onChange(entry.conversation, { type: 'outbox' });
      return { entry, code, dropped: true };
    }
    return { entry, code };
  }
}

// Copies only the fields we use, with safe types, so nothing unexpected from
// the network reaches the renderer.
function normalize(m) {
  const a = m.author && typeof m.author === 'object' ? m.author : {};
  return {
    seq: m.seq,
    client_id: typeof m.client_id === 'string' ? m.client_id : null,
    text: m.text,
    ts: Number.isFinite(m.ts) ? m.ts : null,
    author: {
      kind: typeof a.kind === 'string' ? a.kind : 'system',
      id: typeof a.id === 'string' ? a.id : null,
      name: typeof a.name === 'string' ? a.name : '',
    },
  };
}
