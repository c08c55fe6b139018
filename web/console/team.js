// The team chat: one room per site, operators only (PROTOCOL.md: team_send,
// team_sync, team_message). Messages are kept by seq; a message is shown
// "sending…" until its team_ack, and re-sent with the same client id after a
// reconnect (the server answers a resend with the first seq, never twice).

import { el, appendText, utf8Length } from '../widget/lib/ui.js';
import { t, time } from './i18n.js';

const MAX_TEXT_BYTES = 8192;

export class TeamChat {
  constructor({ socket, root, list, form, input, onUnread, selfId }) {
    this.socket = socket;
    this.root = root;
    this.list = list;
    this.input = input;
    this.onUnread = onUnread;
    this.selfId = selfId;
    this.bySeq = new Map();
    this.maxSeq = 0;
    this.pending = new Map();   // client id -> {text, ts}
    this.unread = 0;
    this.seq = 0;
    form.addEventListener('submit', (event) => { event.preventDefault(); this.submit(); });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.submit(); }
    });
  }

  get visible() { return !this.root.hidden; }

  show(visible) {
    this.root.hidden = !visible;
    if (visible) {
      this.unread = 0;
      this.onUnread(0);
      this.render();
      this.input.focus({ preventScroll: true });
    }
  }

  // After every welcome: what we missed, then what is still unsent.
  ready() {
    this.socket.send({ type: 'team_sync', after: this.maxSeq });
    for (const [clientId, entry] of this.pending) this.socket.send({ type: 'team_send', client_id: clientId, text: entry.text });
  }

  submit() {
    const text = this.input.value;
    if (!text.trim() || utf8Length(text) > MAX_TEXT_BYTES) return;
    const clientId = `t-${Date.now().toString(36)}-${(++this.seq).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.pending.set(clientId, { text, ts: Date.now() });
    this.input.value = '';
    this.socket.send({ type: 'team_send', client_id: clientId, text });
    this.render();
  }

  add(raw) {
    if (!raw || !Number.isSafeInteger(raw.seq) || typeof raw.text !== 'string') return false;
    if (this.bySeq.has(raw.seq)) return false;
    const author = raw.author && typeof raw.author === 'object' ? raw.author : {};
    this.bySeq.set(raw.seq, {
      seq: raw.seq, text: raw.text, ts: Number.isFinite(raw.ts) ? raw.ts : null,
      author: { id: typeof author.id === 'string' ? author.id : '', name: typeof author.name === 'string' ? author.name : '' },
    });
    if (typeof raw.client_id === 'string') this.pending.delete(raw.client_id);
    if (raw.seq > this.maxSeq + 1) this.socket.send({ type: 'team_sync', after: this.maxSeq });  // a gap
    this.maxSeq = Math.max(this.maxSeq, raw.seq);
    return true;
  }

  // Returns true when the frame was the team chat's.
  handle(frame) {
    switch (frame.type) {
      case 'team_ack':
        this.pending.delete(frame.client_id);
        this.render();
        return true;
      case 'team_messages':
        for (const m of Array.isArray(frame.messages) ? frame.messages : []) this.add(m);
        if (frame.more) this.socket.send({ type: 'team_sync', after: this.maxSeq });
        this.render();
        return true;
      case 'team_message': {
        const m = frame.message;
        if (this.add(m) && !this.visible && m.author && m.author.id !== this.selfId()) {
          this.unread += 1;
          this.onUnread(this.unread);
        }
        this.render();
        return true;
      }
      case 'error':
        if (typeof frame.ref === 'string' && this.pending.has(frame.ref)
            && !['unavailable', 'rate_limited', 'internal'].includes(frame.code)) {
          this.pending.delete(frame.ref);   // refused for good (too long, empty): not re-sent
          this.render();
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  render() {
    if (!this.visible) return;
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const fragment = document.createDocumentFragment();
    const node = (author, text, meta, own, pending) => el('div', { class: `msg ${own ? 'msg-out' : 'msg-in'} first${pending ? ' pending' : ''}` }, [
      el('div', { class: 'msg-author', text: author }),
      el('div', { class: 'bubble' }, [appendText(el('div', { class: 'msg-text' }), text), el('div', { class: 'msg-meta', text: meta })]),
    ]);
    const ordered = Array.from(this.bySeq.values()).sort((a, b) => a.seq - b.seq);
    if (!ordered.length && !this.pending.size) fragment.append(el('div', { class: 'notice', text: t('teamEmpty') }));
    for (const m of ordered) {
      const own = m.author.id === this.selfId();
      fragment.append(node(own ? t('you') : (m.author.name || t('operator')), m.text, time(m.ts), own, false));
    }
    for (const entry of this.pending.values()) fragment.append(node(t('you'), entry.text, t('sending'), true, true));
    this.list.replaceChildren(fragment);
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }
}
