// The settings page's "Outgoing mail" section: the site's mail that has not
// gone out (GET /api/v1/mail/outbox; docs/PROTOCOL.md) — waiting for its next
// attempt or given up — with recipients, attempts and the last error, so an
// admin sees undelivered mail and why. In Russian or English after the
// browser's language; every value is rendered as text.

import { el } from '../widget/lib/ui.js';
import { api } from './api.js';

const STRINGS = {
  en: {
    title: 'Outgoing mail',
    hint: 'Offline messages, transcripts and missed-chat notices that have not been delivered yet.',
    refresh: 'Refresh',
    loading: 'Loading…',
    loadFailed: 'The outgoing mail could not be loaded ({status}).',
    allSent: 'Nothing is waiting: all mail has been sent ({sent} in the last 24 hours).',
    summary: '{pending} waiting for the next attempt, {failed} not delivered (given up); {sent} sent in the last 24 hours.',
    noServer: 'No mail server is set: fill in smtp_url, from and to in "Offline form and e-mail" above; waiting mail then goes out at its next attempt.',
    pending: 'Waiting',
    failed: 'Not delivered',
    kind: { offline: 'Offline message', transcript: 'Transcript', missed: 'Missed chat' },
    to: 'To: {to}',
    nobody: 'To: (no recipients)',
    attempts: 'Attempts: {n}',
    next: 'next attempt {time}',
    queued: 'Queued {time}',
    error: 'Last error: {error}',
    noError: 'Not tried yet',
  },
  ru: {
    title: 'Исходящая почта',
    hint: 'Офлайн-сообщения, стенограммы и уведомления о пропущенных чатах, которые ещё не доставлены.',
    refresh: 'Обновить',
    loading: 'Загрузка…',
    loadFailed: 'Не удалось загрузить исходящую почту ({status}).',
    allSent: 'Ничего не ждёт отправки: вся почта отправлена (за последние 24 часа: {sent}).',
    summary: 'Ждут следующей попытки: {pending}, не доставлено (попытки исчерпаны): {failed}; отправлено за 24 часа: {sent}.',
    noServer: 'Почтовый сервер не задан: заполните smtp_url, from и to в разделе «Offline form and e-mail» выше — ждущие письма уйдут при следующей попытке.',
    pending: 'Ждёт',
    failed: 'Не доставлено',
    kind: { offline: 'Офлайн-сообщение', transcript: 'Стенограмма', missed: 'Пропущенный чат' },
    to: 'Кому: {to}',
    nobody: 'Кому: (нет получателей)',
    attempts: 'Попыток: {n}',
    next: 'следующая попытка {time}',
    queued: 'В очереди с {time}',
    error: 'Последняя ошибка: {error}',
    noError: 'Ещё не отправлялось',
  },
};

const LANG = /^ru\b/i.test(navigator.language || '') ? 'ru' : 'en';
const S = STRINGS[LANG];
const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
const when = (ms) => (Number.isFinite(ms) ? new Date(ms).toLocaleString(LANG === 'ru' ? 'ru-RU' : 'en-GB') : '');

/** The section; it loads itself and reloads on its Refresh button. */
export function outboxSection(session) {
  const body = el('div', { class: 'outbox-body', id: 'outbox-body' });
  const refresh = el('button', { type: 'button', class: 'ghost', id: 'outbox-refresh', text: S.refresh });
  const load = async () => {
    refresh.disabled = true;
    body.replaceChildren(el('p', { class: 'muted', text: S.loading }));
    const res = await api(session, 'GET', '/mail/outbox').catch(() => ({ status: 0 }));
    refresh.disabled = false;
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.messages)) {
      body.replaceChildren(el('p', { class: 'form-error', text: fill(S.loadFailed, { status: res.status }) }));
      return;
    }
    body.replaceChildren(...render(res.json));
  };
  refresh.addEventListener('click', load);
  load();
  return el('section', { class: 'settings-section outbox', id: 'settings-outbox' }, [
    el('div', { class: 'settings-head' }, [el('h3', { text: S.title }), refresh]),
    el('p', { class: 'muted', text: S.hint }), body,
  ]);
}

function render(doc) {
  const n = (v) => (Number.isFinite(v) ? v : 0);
  const counts = { pending: n(doc.pending), failed: n(doc.failed), sent: n(doc.sent_last_day) };
  const nodes = [el('p', {
    class: counts.pending + counts.failed ? 'outbox-summary form-error' : 'outbox-summary ok',
    id: 'outbox-summary',
    text: fill(counts.pending + counts.failed ? S.summary : S.allSent, counts),
  })];
  if (doc.messages.some((m) => /smtp_url is not set/.test(String(m.last_error || '')))) {
    nodes.push(el('p', { class: 'outbox-hint', id: 'outbox-no-server', text: S.noServer }));
  }
  if (!doc.messages.length) return nodes;
  const list = el('ul', { class: 'outbox-list', id: 'outbox-list' });
  for (const m of doc.messages) {
    const to = Array.isArray(m.to) && m.to.length ? fill(S.to, { to: m.to.join(', ') }) : S.nobody;
    const state = m.state === 'failed' ? S.failed : S.pending;
    const attempts = fill(S.attempts, { n: n(m.attempts) })
      + (m.state === 'pending' && Number.isFinite(m.next_attempt_ms) ? `, ${fill(S.next, { time: when(m.next_attempt_ms) })}` : '');
    list.append(el('li', { class: `outbox-item ${m.state === 'failed' ? 'failed' : 'pending'}` }, [
      el('div', { class: 'outbox-line' }, [
        el('span', { class: 'outbox-state', text: state }),
        el('span', { class: 'outbox-kind', text: S.kind[m.kind] || String(m.kind || '') }),
        el('span', { class: 'outbox-subject', text: String(m.subject || '') }),
      ]),
      el('div', { class: 'muted', text: `${to} · ${fill(S.queued, { time: when(m.created_ms) })} · ${attempts}` }),
      el('div', { class: 'outbox-error', text: m.last_error ? fill(S.error, { error: m.last_error }) : S.noError }),
    ]));
  }
  nodes.push(list);
  return nodes;
}
