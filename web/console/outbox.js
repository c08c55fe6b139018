// The settings page's "Outgoing mail" section: the site's mail that has not
// gone out (GET /api/v1/mail/outbox; docs/PROTOCOL.md) — waiting for its next
// attempt or given up — with recipients, attempts and the last error, so an
// admin sees undelivered mail and why. In Russian or English after the
// console's language (i18n.js); every value is rendered as text.

import { el } from '../widget/lib/ui.js';
import { api } from './api.js';
import { t, date as when } from './i18n.js';

const KINDS = { offline: 'outboxKindOffline', transcript: 'outboxKindTranscript', missed: 'outboxKindMissed' };

/** The section; it loads itself and reloads on its Refresh button. */
export function outboxSection(session) {
  const body = el('div', { class: 'outbox-body', id: 'outbox-body' });
  const refresh = el('button', { type: 'button', class: 'ghost', id: 'outbox-refresh', text: t('refresh') });
  const load = async () => {
    refresh.disabled = true;
    body.replaceChildren(el('p', { class: 'muted', text: t('loading') }));
    const res = await api(session, 'GET', '/mail/outbox').catch(() => ({ status: 0 }));
    refresh.disabled = false;
    if (res.status !== 200 || !res.json || !Array.isArray(res.json.messages)) {
      body.replaceChildren(el('p', { class: 'form-error', text: t('outboxLoadFailed', { status: res.status }) }));
      return;
    }
    body.replaceChildren(...render(res.json));
  };
  refresh.addEventListener('click', load);
  load();
  return el('section', { class: 'settings-section outbox', id: 'settings-outbox' }, [
    el('div', { class: 'settings-head' }, [el('h3', { text: t('outboxTitle') }), refresh]),
    el('p', { class: 'muted', text: t('outboxHint') }), body,
  ]);
}

function render(doc) {
  const n = (v) => (Number.isFinite(v) ? v : 0);
  const counts = { pending: n(doc.pending), failed: n(doc.failed), sent: n(doc.sent_last_day) };
  const nodes = [el('p', {
    class: counts.pending + counts.failed ? 'outbox-summary form-error' : 'outbox-summary ok',
    id: 'outbox-summary',
    text: t(counts.pending + counts.failed ? 'outboxSummary' : 'outboxAllSent', counts),
  })];
  if (doc.messages.some((m) => /smtp_url is not set/.test(String(m.last_error || '')))) {
    nodes.push(el('p', { class: 'outbox-hint', id: 'outbox-no-server', text: t('outboxNoServer', { section: t('settingsOfflineTitle') }) }));
  }
  if (!doc.messages.length) return nodes;
  const list = el('ul', { class: 'outbox-list', id: 'outbox-list' });
  for (const m of doc.messages) {
    const to = Array.isArray(m.to) && m.to.length ? t('outboxTo', { to: m.to.join(', ') }) : t('outboxNobody');
    const state = m.state === 'failed' ? t('outboxFailed') : t('outboxPending');
    const attempts = t('outboxAttempts', { n: n(m.attempts) })
      + (m.state === 'pending' && Number.isFinite(m.next_attempt_ms) ? `, ${t('outboxNext', { time: when(m.next_attempt_ms) })}` : '');
    list.append(el('li', { class: `outbox-item ${m.state === 'failed' ? 'failed' : 'pending'}` }, [
      el('div', { class: 'outbox-line' }, [
        el('span', { class: 'outbox-state', text: state }),
        el('span', { class: 'outbox-kind', text: KINDS[m.kind] ? t(KINDS[m.kind]) : String(m.kind || '') }),
        el('span', { class: 'outbox-subject', text: String(m.subject || '') }),
      ]),
      el('div', { class: 'muted', text: `${to} · ${t('outboxQueued', { time: when(m.created_ms) })} · ${attempts}` }),
      el('div', { class: 'outbox-error', text: m.last_error ? t('outboxError', { error: m.last_error }) : t('outboxNoError') }),
    ]));
  }
  nodes.push(list);
  return nodes;
}
