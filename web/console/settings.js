// The site admin's settings page: the three sections of GET /api/v1/settings
// (routing, survey, offline; docs/ROUTING.md) as JSON documents, each saved
// with PUT /api/v1/settings/<section>. The server validates; its message
// names the path of what is wrong, shown under the section.

import { el } from '../widget/lib/ui.js';
import { api } from './api.js';
import { outboxSection } from './outbox.js';

const SECTIONS = [
  { id: 'routing', title: 'Routing: groups and distribution rules', hint: 'timezone, groups [{id, name, operators}], rules [{name, match, groups, fallback_groups, mode, notify, response_limit_s, hours}]' },
  { id: 'survey', title: 'Pre-chat survey', hint: 'enabled, name/email/phone: "off" | "optional" | "required", question, choices, question_required' },
  { id: 'offline', title: 'Offline form and e-mail', hint: 'smtp_url, smtp_user, smtp_password (write only), from, to [addresses]' },
];

export async function openSettings(container, session) {
  container.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  const got = await api(session, 'GET', '/settings');
  if (got.status !== 200 || !got.json) {
    container.replaceChildren(el('p', { class: 'form-error', text: (got.json && got.json.message) || `The settings could not be loaded (${got.status}).` }));
    return;
  }
  const doc = got.json;
  const version = el('p', { class: 'muted settings-version', text: `Version ${doc.version}` });
  const nodes = SECTIONS.map((section) => sectionNode(section, doc[section.id], session, version));
  container.replaceChildren(version, ...nodes, outboxSection(session));
}

function sectionNode(section, value, session, versionNode) {
  const shown = { ...(value && typeof value === 'object' ? value : {}) };
  if (section.id === 'offline') delete shown.smtp_password_set;
  const area = el('textarea', { class: 'settings-json', rows: '12', spellcheck: 'false', id: `settings-${section.id}`, 'aria-label': section.title });
  area.value = JSON.stringify(shown, null, 2);
  const status = el('p', { class: 'settings-status', role: 'status' });
  const save = el('button', { type: 'button', class: 'primary', text: 'Save', id: `settings-save-${section.id}` });
  save.addEventListener('click', async () => {
    let body;
    try { body = JSON.parse(area.value); } catch (e) {
      status.className = 'settings-status form-error';
      status.textContent = `Not valid JSON: ${e.message}`;
      return;
    }
    save.disabled = true;
    const res = await api(session, 'PUT', `/settings/${section.id}`, body);
    save.disabled = false;
    if (res.status === 200 && res.json) {
      status.className = 'settings-status ok';
      status.textContent = 'Saved. It applies at once.';
      versionNode.textContent = `Version ${res.json.version}`;
    } else {
      status.className = 'settings-status form-error';
      status.textContent = (res.json && res.json.message) || `Not saved (${res.status}).`;
    }
  });
  return el('section', { class: 'settings-section' }, [
    el('h3', { text: section.title }), el('p', { class: 'muted', text: section.hint }), area,
    el('div', { class: 'settings-actions' }, [save, status]),
  ]);
}
