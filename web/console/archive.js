// The archive (docs/PROTOCOL.md "Archive"): every conversation and offline
// message of the site, searched by text (Russian and English, with
// stemming) and filtered by dates, operator and state, newest first, a page
// at a time (GET /api/v1/conversations); one opens read-only with its whole
// transcript, notes and visitor data (GET /api/v1/conversations/<id>).
// Everything from the server is set as text: the snippet's matches come
// marked by U+0002 … U+0003 and become <mark> elements built here.

import { el, formatDate } from '../widget/lib/ui.js';
import { api } from './api.js';
import { LANGUAGES, language } from './i18n.js';

const PAGE = 20;


// Strings: the console's tables (i18n/<code>.js, keys archive*), read raw
// so that "{name}" placeholders are filled here, in the language chosen.
const T = new Proxy({}, {
  get: (_, name) => {
    const k = `archive${String(name)[0].toUpperCase()}${String(name).slice(1)}`;
    const v = LANGUAGES[language()][k];
    return typeof v === 'string' ? v : LANGUAGES.en[k];
  },
});
const fill = (template, vars) => template.replace(/\{(\w+)\}/g, (_, k) => (vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : ''));
const str = (v) => (typeof v === 'string' ? v : '');

/** A snippet with U+0002 … U+0003 around each match, as text and <mark> nodes. */
export function highlighted(snippet) {
  const nodes = [];
  const parts = str(snippet).split('\u0002');
  parts.forEach((part, i) => {
    if (i === 0) { if (part) nodes.push(document.createTextNode(part.replace(/\u0003/g, ''))); return; }
    const end = part.indexOf('\u0003');
    const hit = end < 0 ? part : part.slice(0, end);
    const rest = end < 0 ? '' : part.slice(end + 1).replace(/\u0003/g, '');
    if (hit) nodes.push(el('mark', { text: hit }));
    if (rest) nodes.push(document.createTextNode(rest));
  });
  return nodes;
}

/** A local date (yyyy-mm-dd from <input type=date>) as the UTC instant of its midnight here. */
function localMidnight(date, plusDays = 0) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export class Archive {
  /**
   * @param {object} o
   * @param {HTMLElement} o.view  the archive section (hidden while closed)
   * @param {HTMLElement} o.button  the top bar's toggle
   * @param {() => string|null} o.session  the console's session token
   */
  constructor({ view, button, session }) {
    this.view = view;
    this.button = button;
    this.session = session;
    this.results = [];
    this.next = null;
    this.seq = 0;
    this.q = el('input', { type: 'search', id: 'archive-q', maxlength: '200', placeholder: T.searchPlaceholder, 'aria-label': T.searchLabel });
    this.from = el('input', { type: 'date', id: 'archive-from', 'aria-label': T.from });
    this.to = el('input', { type: 'date', id: 'archive-to', 'aria-label': T.to });
    this.operator = el('select', { id: 'archive-operator', 'aria-label': T.operator }, [el('option', { value: '', text: T.anyOperator })]);
    this.state = el('select', { id: 'archive-state', 'aria-label': T.state }, [['', T.anyState], ['open', T.open], ['closed', T.closed],
      ['missed', T.missed], ['offline', T.offline]].map(([value, text]) => el('option', { value, text })));
    this.visitor = el('input', { type: 'search', id: 'archive-visitor', maxlength: '200', placeholder: T.visitorPlaceholder, 'aria-label': T.visitor });
    const label = (text, input) => el('label', { class: 'archive-field' }, [el('span', { class: 'muted', text }), input]);
    this.form = el('form', { class: 'archive-form', role: 'search', onsubmit: (e) => { e.preventDefault(); this.search(); } }, [
      el('div', { class: 'archive-q-row' }, [this.q, el('button', { type: 'submit', class: 'primary', id: 'archive-search', text: T.search })]),
      el('div', { class: 'archive-filters' }, [label(T.from, this.from), label(T.to, this.to), label(T.operator, this.operator),
        label(T.state, this.state), label(T.visitor, this.visitor)]),
    ]);
    this.status = el('p', { class: 'muted archive-status', role: 'status' });
    this.list = el('ul', { class: 'archive-list', id: 'archive-results', 'aria-label': T.title });
    this.moreButton = el('button', { type: 'button', class: 'ghost archive-more', text: T.more, hidden: true, onclick: () => this.search(true) });
    this.resultsBox = el('div', { class: 'archive-results' }, [this.form, this.status, this.list, this.moreButton]);
    this.detail = el('div', { class: 'archive-detail', id: 'archive-detail', hidden: true });
    this.view.replaceChildren(
      el('div', { class: 'inbox-head' }, [el('h2', { text: T.title }),
        el('button', { type: 'button', class: 'icon-btn inbox-close', 'aria-label': T.close, text: '×', onclick: () => this.show(false) })]),
      this.resultsBox, this.detail);
    this.button.textContent = T.title;
    this.button.addEventListener('click', () => this.show(this.view.hidden));
  }

  show(visible) {
    this.view.hidden = !visible;
    this.button.setAttribute('aria-pressed', visible ? 'true' : 'false');
    if (visible) {
      this.loadOperators();
      if (!this.results.length) this.search();
    }
  }

  /** Logged out: forget everything. */
  stop() {
    this.results = [];
    this.next = null;
    this.list.replaceChildren();
    this.closeDetail();
    this.show(false);
  }

  async loadOperators() {
    const token = this.session();
    if (!token) return;
    const res = await api(token, 'GET', '/operators');
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.operators)) return;
    const chosen = this.operator.value;
    this.operator.replaceChildren(el('option', { value: '', text: T.anyOperator }),
      ...res.json.operators.filter((o) => o && typeof o.id === 'string').map((o) => el('option', { value: o.id, text: str(o.name) || str(o.email) })));
    this.operator.value = chosen;
  }

  params(more) {
    const p = new URLSearchParams();
    const q = this.q.value.trim();
    if (q) p.set('q', q);
    if (this.from.value) p.set('from', localMidnight(this.from.value));
    if (this.to.value) p.set('to', localMidnight(this.to.value, 1));
    if (this.operator.value) p.set('operator', this.operator.value);
    if (this.state.value) p.set('state', this.state.value);
    const v = this.visitor.value.trim();
    if (v) p.set('visitor', v);
    p.set('limit', String(PAGE));
    if (more && this.next) p.set('before', this.next);
    return p;
  }

  async search(more = false) {
    const token = this.session();
    if (!token) return;
    const seq = ++this.seq;
    this.closeDetail();
    this.status.textContent = T.loading;
    if (!more) { this.results = []; this.list.replaceChildren(); }
    this.moreButton.hidden = true;
    const res = await api(token, 'GET', `/conversations?${this.params(more)}`);
    if (seq !== this.seq) return;            // a newer search is on its way
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.conversations)) {
      this.status.textContent = fill(T.failed, { message: res.status === 0 ? T.unreachable : str(res.json && res.json.message) || `HTTP ${res.status}` });
      return;
    }
    const found = res.json.conversations.filter((c) => c && typeof c.id === 'string');
    this.results.push(...found);
    this.next = typeof res.json.next === 'string' ? res.json.next : null;
    this.list.append(...found.map((c) => this.resultNode(c)));
    this.status.textContent = this.results.length ? '' : T.empty;
    this.moreButton.hidden = !this.next;
  }

  stateText(c) {
    if (c.kind === 'offline') return T.offline;
    if (c.missed) return T.missedOne;
    return c.state === 'closed' ? T.closedOne : T[c.state] || T.open;
  }

  resultNode(c) {
    const v = c.visitor && typeof c.visitor === 'object' ? c.visitor : {};
    const op = c.operator && typeof c.operator === 'object' ? str(c.operator.name) : '';
    const open = () => this.open(c.id);
    return el('li', { class: 'archive-item', dataset: { id: c.id } }, [
      el('button', { type: 'button', class: 'archive-open', onclick: open }, [
        el('div', { class: 'inbox-top' }, [
          el('span', { class: `archive-state ${c.missed ? 'missed' : c.kind === 'offline' ? 'offline' : str(c.state)}`, text: this.stateText(c) }),
          el('span', { class: 'archive-name', text: str(v.name) || str(v.email) || str(v.phone) || T.noName }),
          el('span', { class: 'inbox-when muted', text: Number.isFinite(c.started_ms) ? formatDate(c.started_ms) : '' }),
        ]),
        el('p', { class: 'archive-snippet' }, highlighted(c.snippet)),
        el('div', { class: 'muted archive-meta', text: [op, Number.isFinite(c.messages) ? fill(T.messages, { n: c.messages }) : ''].filter(Boolean).join(' · ') }),
      ]),
    ]);
  }

  closeDetail() {
    this.detail.hidden = true;
    this.detail.replaceChildren();
    this.resultsBox.hidden = false;
  }

  async open(id) {
    const token = this.session();
    if (!token) return;
    const res = await api(token, 'GET', `/conversations/${encodeURIComponent(id)}`);
    if (res.status !== 200 || !res.json || !res.json.conversation) {
      this.status.textContent = fill(T.failed, { message: str(res.json && res.json.message) || `HTTP ${res.status}` });
      return;
    }
    this.renderDetail(res.json);
  }

  renderDetail(d) {
    const c = d.conversation, v = d.visitor && typeof d.visitor === 'object' ? d.visitor : {};
    const row = (label, value) => (value ? el('div', { class: 'inbox-contact-row' }, [el('span', { class: 'muted', text: `${label}: ` }), el('span', { text: String(value) })]) : null);
    const who = (m) => (m.author === 'visitor' ? str(m.author_name) || str(v.name) || T.noName : m.author === 'system' ? T.system : str(m.author_name));
    const messages = (Array.isArray(d.messages) ? d.messages : []).map((m) => el('div', { class: `archive-msg ${str(m.author)}` }, [
      el('div', { class: 'archive-msg-head muted', text: `${who(m)} · ${Number.isFinite(m.ts_ms) ? formatDate(m.ts_ms) : ''}` }),
      el('div', { class: 'archive-msg-text', text: str(m.text) }),
    ]));
    const notes = (Array.isArray(d.notes) ? d.notes : []).map((n) => el('div', { class: 'archive-note' }, [
      el('div', { class: 'muted', text: fill(T.transfer, { from: str(n.author && n.author.name) || T.noOperator, to: str(n.to_operator && n.to_operator.name) || T.noOperator }) }),
      el('div', { class: 'archive-msg-text', text: str(n.text) }),
    ]));
    this.detail.replaceChildren(
      el('button', { type: 'button', class: 'ghost archive-back', text: `← ${T.back}`, onclick: () => this.closeDetail() }),
      el('h3', { class: 'archive-detail-name', text: str(v.name) || str(v.email) || str(v.phone) || T.noName }),
      el('p', { class: 'muted archive-readonly', text: T.readOnly }),
      el('div', { class: 'archive-facts' }, [
        row(T.state, this.stateText(c)),
        row(T.started, Number.isFinite(c.started_ms) ? formatDate(c.started_ms) : ''),
        row(T.ended, Number.isFinite(c.closed_ms) ? formatDate(c.closed_ms) : ''),
        row(T.operatorLabel, c.operator && str(c.operator.name)),
        row(T.rule, str(c.rule)),
        row(T.email, str(v.email)), row(T.phone, str(v.phone)),
        row(T.page, str(v.first_title) || str(v.first_url)),
      ]),
      notes.length ? el('div', { class: 'archive-notes' }, [el('h4', { text: T.notes }), ...notes]) : null,
      el('div', { class: 'archive-transcript', id: 'archive-transcript' }, messages),
      d.truncated ? el('p', { class: 'muted', text: T.truncated }) : null);
    this.resultsBox.hidden = true;
    this.detail.hidden = false;
    this.view.scrollTop = 0;
  }
}
