// The inbox (docs/ROUTING.md "Inbox"): the site's missed chats and offline
// messages, each with the visitor's contact and what they wrote, new until
// an operator answers it by e-mail (POST /api/v1/inbox/<id>/reply) or marks
// it done after calling back (…/done). It refreshes when opened, on login,
// when a chat is missed (`missed`), when an offline message comes or a
// colleague answers an item (`inbox_changed`), and every minute in case a
// frame was lost. Every visitor string is set as text.

import { el } from '../widget/lib/ui.js';
import { api } from './api.js';
import { t, date } from './i18n.js';

const POLL_MS = 60000;
const MAX_REPLY_BYTES = 8192;

function str(v) { return typeof v === 'string' ? v : ''; }

export class Inbox {
  /**
   * @param {object} o
   * @param {HTMLElement} o.view  the inbox section (hidden while closed)
   * @param {HTMLElement} o.button  the top bar's toggle
   * @param {HTMLElement} o.badge  the count of new items on the button
   * @param {() => string|null} o.session  the console's session token
   */
  constructor({ view, button, badge, session }) {
    this.view = view;
    this.button = button;
    this.badge = badge;
    this.session = session;
    this.items = [];
    this.loaded = false;
    this.timer = null;
    this.drafts = new Map(); // item id -> reply text being written
    this.errors = new Map(); // item id -> error text
    this.busy = new Set();   // item ids with a request out
    this.closeButton = el('button', { type: 'button', class: 'icon-btn inbox-close', text: '×', onclick: () => this.show(false) });
    this.list = el('ul', { class: 'inbox-list' });
    this.heading = el('h2');
    this.intro = el('p', { class: 'muted' });
    this.view.replaceChildren(el('div', { class: 'inbox-head' }, [this.heading, this.closeButton]), this.intro, this.list);
    this.button.addEventListener('click', () => this.show(this.view.hidden));
    this.relabel();
  }

  /** Sets the fixed text in the current language and draws the items again. */
  relabel() {
    this.closeButton.setAttribute('aria-label', t('inboxClose'));
    this.list.setAttribute('aria-label', t('inboxTitle'));
    this.heading.textContent = t('inboxTitle');
    this.intro.textContent = t('inboxIntro');
    this.render();
  }

  get visible() { return !this.view.hidden; }

  show(visible) {
    this.view.hidden = !visible;
    this.button.setAttribute('aria-pressed', visible ? 'true' : 'false');
    if (visible) this.refresh();
  }

  /** Logged in: load now and every minute. */
  start() {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.refresh(), POLL_MS);
    this.refresh();
  }

  /** Logged out: forget everything. */
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.items = [];
    this.loaded = false;
    this.drafts.clear();
    this.errors.clear();
    this.show(false);
    this.render();
  }

  async refresh() {
    const token = this.session();
    if (!token) return;
    const res = await api(token, 'GET', '/inbox');
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.items)) return;
    this.items = res.json.items.filter((i) => i && typeof i.id === 'string');
    this.loaded = true;
    this.render();
  }

  async act(item, action, body) {
    const token = this.session();
    if (!token || this.busy.has(item.id)) return;
    this.busy.add(item.id);
    this.errors.delete(item.id);
    this.render();
    const res = await api(token, 'POST', `/inbox/${encodeURIComponent(item.id)}/${action}`, body);
    this.busy.delete(item.id);
    if (res.status === 200 && res.json && res.json.item) {
      const i = this.items.findIndex((x) => x.id === item.id);
      if (i >= 0) this.items[i] = res.json.item;
      this.drafts.delete(item.id);
    } else {
      const message = res.status === 0 ? t('unreachable') : str(res.json && res.json.message) || `HTTP ${res.status}`;
      this.errors.set(item.id, t('inboxFailed', { message }));
    }
    this.render();
  }

  reply(item) {
    const text = (this.drafts.get(item.id) || '').trim();
    if (!text) return;
    if (new TextEncoder().encode(text).length > MAX_REPLY_BYTES) {
      this.errors.set(item.id, t('inboxTooLong'));
      this.render();
      return;
    }
    this.act(item, 'reply', { text });
  }

  render() {
    const fresh = this.items.filter((i) => i.state === 'new').length;
    this.badge.textContent = String(fresh);
    this.badge.hidden = fresh === 0;
    if (!this.loaded) {
      this.list.replaceChildren(el('li', { class: 'inbox-empty muted', text: t('loading') }));
      return;
    }
    if (!this.items.length) {
      this.list.replaceChildren(el('li', { class: 'inbox-empty muted', text: t('inboxEmpty') }));
      return;
    }
    // Keep the focus (and the caret) of a reply being typed across renders.
    const active = document.activeElement;
    const focusId = active && active.classList && active.classList.contains('inbox-reply-text') ? active.dataset.id : null;
    this.list.replaceChildren(...this.items.map((item) => this.itemNode(item)));
    if (focusId) {
      const again = this.list.querySelector(`.inbox-reply-text[data-id="${CSS.escape(focusId)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  itemNode(item) {
    const done = item.state === 'done';
    const when = Number.isSafeInteger(item.created) ? date(item.created) : '';
    const contact = [];
    if (str(item.email)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${t('inboxEmail')}: ` }), el('a', { href: `mailto:${item.email}`, class: 'inbox-email', text: item.email })]));
    if (str(item.phone)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${t('inboxPhone')}: ` }), el('a', { href: `tel:${item.phone.replace(/[^0-9+]/g, '')}`, class: 'inbox-phone', text: item.phone })]));
    if (str(item.page)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${t('inboxPage')}: ` }), el('span', { class: 'inbox-page', text: item.page })]));
    const children = [
      el('div', { class: 'inbox-top' }, [
        el('span', { class: `inbox-kind ${item.kind === 'missed' ? 'missed' : 'offline'}`, text: item.kind === 'missed' ? t('inboxMissed') : t('inboxOffline') }),
        el('span', { class: `inbox-state ${done ? 'done' : 'new'}`, text: done ? t('inboxDone') : t('inboxNew') }),
        el('span', { class: 'inbox-when muted', text: when }),
      ]),
      el('div', { class: 'inbox-name', text: str(item.name) || t('visitor') }),
      el('div', { class: 'inbox-contact' }, contact),
      el('p', { class: 'inbox-text', text: str(item.text) }),
    ];
    if (done) {
      const by = item.done_by && typeof item.done_by === 'object' ? str(item.done_by.name) : '';
      children.push(el('p', { class: 'inbox-done muted', text: t(str(item.reply) ? 'inboxAnsweredBy' : 'inboxDoneBy', { name: by || '—' }) }));
      if (str(item.reply)) children.push(el('p', { class: 'inbox-reply-sent', text: item.reply }));
    } else {
      children.push(this.actions(item));
    }
    const error = this.errors.get(item.id);
    if (error) children.push(el('p', { class: 'form-error inbox-error', role: 'alert', text: error }));
    return el('li', { class: `inbox-item${done ? ' done' : ''}`, dataset: { id: item.id, state: done ? 'done' : 'new', kind: item.kind === 'missed' ? 'missed' : 'offline' } }, children);
  }

  actions(item) {
    const busy = this.busy.has(item.id);
    const nodes = [];
    if (str(item.email)) {
      const text = el('textarea', {
        class: 'inbox-reply-text', rows: '3', maxlength: String(MAX_REPLY_BYTES), dataset: { id: item.id },
        'aria-label': t('inboxReplyLabel'), placeholder: t('inboxReplyPlaceholder', { email: item.email }),
      });
      text.value = this.drafts.get(item.id) || '';
      text.addEventListener('input', () => this.drafts.set(item.id, text.value));
      const send = el('button', { type: 'submit', class: 'primary small inbox-send', text: t('inboxSend'), disabled: busy });
      nodes.push(el('form', { class: 'inbox-reply', onsubmit: (event) => { event.preventDefault(); this.reply(item); } }, [text, send]));
    } else {
      nodes.push(el('p', { class: 'muted inbox-no-email', text: t('inboxNoEmail') }));
    }
    nodes.push(el('button', { type: 'button', class: 'ghost inbox-mark-done', text: t('inboxMarkDone'), disabled: busy, onclick: () => this.act(item, 'done', {}) }));
    return el('div', { class: 'inbox-actions' }, nodes);
  }
}
