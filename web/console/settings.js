// The site admin's settings page: the three sections of GET /api/v1/settings
// (routing, survey, offline; docs/ROUTING.md) as JSON documents, each saved
// with PUT /api/v1/settings/<section>. The server validates; its message
// names the path of what is wrong, shown under the section.

import { el } from '../widget/lib/ui.js';
import { api } from './api.js';
import { outboxSection } from './outbox.js';
import { t } from './i18n.js';

// Titles and hints: the keys settings<Id>Title and settings<Id>Hint of i18n/<language>.js.
const SECTIONS = ['routing', 'survey', 'offline'].map((id) => {
  const key = `settings${id[0].toUpperCase()}${id.slice(1)}`;
  return { id, get title() { return t(`${key}Title`); }, get hint() { return t(`${key}Hint`); } };
});

export async function openSettings(container, session) {
  container.replaceChildren(el('p', { class: 'muted', text: t('loading') }));
  const got = await api(session, 'GET', '/settings');
  if (got.status !== 200 || !got.json) {
    container.replaceChildren(el('p', { class: 'form-error', text: (got.json && got.json.message) || t('settingsLoadFailed', { status: got.status }) }));
    return;
  }
  const doc = got.json;
  const version = el('p', { class: 'muted settings-version', text: t('settingsVersion', { version: doc.version }) });
  const nodes = SECTIONS.map((section) => sectionNode(section, doc[section.id], session, version));
  container.replaceChildren(version, ...nodes, outboxSection(session));
}

function sectionNode(section, value, session, versionNode) {
  const shown = { ...(value && typeof value === 'object' ? value : {}) };
  if (section.id === 'offline') delete shown.smtp_password_set;
  const area = el('textarea', { class: 'settings-json', rows: '12', spellcheck: 'false', id: `settings-${section.id}`, 'aria-label': section.title });
  area.value = JSON.stringify(shown, null, 2);
  const status = el('p', { class: 'settings-status', role: 'status' });
  const save = el('button', { type: 'button', class: 'primary', text: t('save'), id: `settings-save-${section.id}` });
  save.addEventListener('click', async () => {
    let body;
    try { body = JSON.parse(area.value); } catch (e) {
      status.className = 'settings-status form-error';
      status.textContent = t('settingsBadJson', { error: e.message });
      return;
    }
    save.disabled = true;
    const res = await api(session, 'PUT', `/settings/${section.id}`, body);
    save.disabled = false;
    if (res.status === 200 && res.json) {
      status.className = 'settings-status ok';
      status.textContent = t('settingsSaved');
      versionNode.textContent = t('settingsVersion', { version: res.json.version });
    } else {
      status.className = 'settings-status form-error';
      status.textContent = (res.json && res.json.message) || t('settingsNotSaved', { status: res.status });
    }
  });
  return el('section', { class: 'settings-section' }, [
    el('h3', { text: section.title }), el('p', { class: 'muted', text: section.hint }), area,
    el('div', { class: 'settings-actions' }, [save, status]),
  ]);
}
