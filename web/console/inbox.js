// The inbox (docs/ROUTING.md "Inbox"): the site's missed chats and offline
// messages, each with the visitor's contact and what they wrote, new until
// an operator answers it by e-mail (POST /api/v1/inbox/<id>/reply) or marks
// it done after calling back (…/done). It refreshes when opened, on login,
// when a chat is missed (`missed`), when an offline message comes or a
// colleague answers an item (`inbox_changed`), and every minute in case a
// frame was lost. Every visitor string is set as text.

import { el, formatDate } from '../widget/lib/ui.js';
import { api } from './api.js';
import { language, fill } from './locale.js';

const POLL_MS = 60000;
const MAX_REPLY_BYTES = 8192;

const STRINGS = {
  en: {
    title: 'Inbox', intro: 'Missed chats and offline messages. Answer by e-mail, or call back and mark it done.',
    empty: 'Nothing here: no missed chats or offline messages.', loading: 'Loading…',
    missed: 'Missed chat', offline: 'Offline message', new: 'New', done: 'Done',
    noName: 'Visitor', page: 'Page', email: 'E-mail', phone: 'Phone',
    replyLabel: 'Answer by e-mail', replyPlaceholder: 'Your answer; it goes to {email}', send: 'Send e-mail',
    markDone: 'Mark done (called back)', answeredBy: 'Answered by {name}', doneBy: 'Done by {name}',
    noEmail: 'No e-mail address: call the visitor back, then mark it done.',
    failed: 'It could not be done: {message}', unreachable: 'The server cannot be reached.', close: 'Close the inbox',
    tooLong: 'The answer is too long (at most 8 KB).',
  },
  ru: {
    title: 'Входящие', intro: 'Пропущенные чаты и офлайн-сообщения. Ответьте по почте или перезвоните и отметьте как выполненное.',
    empty: 'Здесь пусто: пропущенных чатов и офлайн-сообщений нет.', loading: 'Загрузка…',
    missed: 'Пропущенный чат', offline: 'Офлайн-сообщение', new: 'Новое', done: 'Выполнено',
    noName: 'Посетитель', page: 'Страница', email: 'Почта', phone: 'Телефон',
    replyLabel: 'Ответить по почте', replyPlaceholder: 'Ваш ответ; он уйдёт на {email}', send: 'Отправить письмо',
    markDone: 'Отметить выполненным (перезвонили)', answeredBy: 'Ответил(а) {name}', doneBy: 'Выполнено: {name}',
    noEmail: 'Почты нет: перезвоните посетителю и отметьте как выполненное.',
    failed: 'Не получилось: {message}', unreachable: 'Сервер недоступен.', close: 'Закрыть входящие',
    tooLong: 'Ответ слишком длинный (не более 8 КБ).',
  },
};

const T = STRINGS[language()];

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
    this.closeButton = el('button', { type: 'button', class: 'icon-btn inbox-close', 'aria-label': T.close, text: '×', onclick: () => this.show(false) });
    this.list = el('ul', { class: 'inbox-list', 'aria-label': T.title });
    this.view.replaceChildren(
      el('div', { class: 'inbox-head' }, [el('h2', { text: T.title }), this.closeButton]),
      el('p', { class: 'muted', text: T.intro }),
      this.list);
    this.button.prepend(document.createTextNode(T.title + ' '));
    this.button.addEventListener('click', () => this.show(this.view.hidden));
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
      const message = res.status === 0 ? T.unreachable : str(res.json && res.json.message) || `HTTP ${res.status}`;
      this.errors.set(item.id, fill(T.failed, { message }));
    }
    this.render();
  }

  reply(item) {
    const text = (this.drafts.get(item.id) || '').trim();
    if (!text) return;
    if (new TextEncoder().encode(text).length > MAX_REPLY_BYTES) {
      this.errors.set(item.id, T.tooLong);
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
      this.list.replaceChildren(el('li', { class: 'inbox-empty muted', text: T.loading }));
      return;
    }
    if (!this.items.length) {
      this.list.replaceChildren(el('li', { class: 'inbox-empty muted', text: T.empty }));
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
    const when = Number.isSafeInteger(item.created) ? formatDate(item.created) : '';
    const contact = [];
    if (str(item.email)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${T.email}: ` }), el('a', { href: `mailto:${item.email}`, class: 'inbox-email', text: item.email })]));
    if (str(item.phone)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${T.phone}: ` }), el('a', { href: `tel:${item.phone.replace(/[^0-9+]/g, '')}`, class: 'inbox-phone', text: item.phone })]));
    if (str(item.page)) contact.push(el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${T.page}: ` }), el('span', { class: 'inbox-page', text: item.page })]));
    const children = [
      el('div', { class: 'inbox-top' }, [
        el('span', { class: `inbox-kind ${item.kind === 'missed' ? 'missed' : 'offline'}`, text: item.kind === 'missed' ? T.missed : T.offline }),
        el('span', { class: `inbox-state ${done ? 'done' : 'new'}`, text: done ? T.done : T.new }),
        el('span', { class: 'inbox-when muted', text: when }),
      ]),
      el('div', { class: 'inbox-name', text: str(item.name) || T.noName }),
      el('div', { class: 'inbox-contact' }, contact),
      el('p', { class: 'inbox-text', text: str(item.text) }),
    ];
    if (done) {
      const by = item.done_by && typeof item.done_by === 'object' ? str(item.done_by.name) : '';
      children.push(el('p', { class: 'inbox-done muted', text: fill(str(item.reply) ? T.answeredBy : T.doneBy, { name: by || '—' }) }));
      if (str(item.reply)) children.push(el('p', { class: 'inbox-reply-sent', text: item.reply }));
    } else {
      children.push(this.actions(item));
    }
    const error = this.errors.get(item.id);
    if (error) children.push(el('p', { class: 'form-error inbox-error', role: 'alert', text: error }));
    return el('li', { class: `inbox-item${done ? ' done' : ''}`, dataset: { id: item.id, state: done ? 'done' : 'new' } }, children);
  }

  actions(item) {
    const busy = this.busy.has(item.id);
    const nodes = [];
    if (str(item.email)) {
      const text = el('textarea', {
        class: 'inbox-reply-text', rows: '3', maxlength: String(MAX_REPLY_BYTES), dataset: { id: item.id },
        'aria-label': T.replyLabel, placeholder: fill(T.replyPlaceholder, { email: item.email }),
      });
      text.value = this.drafts.get(item.id) || '';
      text.addEventListener('input', () => this.drafts.set(item.id, text.value));
      const send = el('button', { type: 'submit', class: 'primary small inbox-send', text: T.send, disabled: busy });
      nodes.push(el('form', { class: 'inbox-reply', onsubmit: (event) => { event.preventDefault(); this.reply(item); } }, [text, send]));
    } else {
      nodes.push(el('p', { class: 'muted inbox-no-email', text: T.noEmail }));
    }
    nodes.push(el('button', { type: 'button', class: 'ghost inbox-mark-done', text: T.markDone, disabled: busy, onclick: () => this.act(item, 'done', {}) }));
    return el('div', { class: 'inbox-actions' }, nodes);
  }
}
