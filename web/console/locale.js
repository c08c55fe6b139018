// The console's language for the modules that carry their own strings
// (overdue.js, inbox.js): Russian when the browser's first language is,
// else English; and "{name}" placeholders filled in.

export function language() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  return String(langs[0] || 'en').toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (k in values ? String(values[k]) : ''));
}
