// The console's languages: the strings of each are in i18n/<code>.js (one
// table per language, the same keys). The operator picks one with the
// language switch (top bar and login form); it is remembered in
// localStorage, and until then the browser's first language that we have
// wins, else English. t() fills "{name}" placeholders; plural() picks the
// form by Intl.PluralRules; time()/date() format with the language's locale.
// Static text in index.html carries data-i18n* attributes (translate()).
// The widget keeps its own strings (web/widget/lib/i18n.js).

import en from './i18n/en.js';
import ru from './i18n/ru.js';
import { formatTime, formatDate } from '../widget/lib/ui.js';

export const LANGUAGES = { en, ru };
const STORAGE_KEY = 'beseda:op:lang';
const listeners = new Set();

function stored() {
  try { return globalThis.localStorage ? localStorage.getItem(STORAGE_KEY) : null; } catch (_) { return null; }
}

/** The first of the candidates (BCP 47 tags) that we have, else 'en'. */
export function pickLanguage(candidates) {
  for (const c of candidates) {
    if (typeof c !== 'string') continue;
    const base = c.toLowerCase().split(/[-_]/)[0];
    if (Object.hasOwn(LANGUAGES, base)) return base;
  }
  return 'en';
}

function browserLanguages() {
  const nav = globalThis.navigator;
  if (!nav) return [];
  return nav.languages && nav.languages.length ? Array.from(nav.languages) : [nav.language];
}

let current = pickLanguage([stored(), ...browserLanguages()]);

export function language() { return current; }
export function locale() { return LANGUAGES[current].$locale; }

function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : ''));
}

/** The string `key` in the current language (English if missing there), placeholders filled. */
export function t(key, vars = {}) {
  let template = LANGUAGES[current][key];
  if (typeof template !== 'string') template = typeof en[key] === 'string' ? en[key] : key;
  return fill(template, vars);
}

/** The plural form of `key` for the number n ({n} in it), after Intl.PluralRules. */
export function plural(key, n, vars = {}) {
  const forms = (LANGUAGES[current][key] && typeof LANGUAGES[current][key] === 'object') ? LANGUAGES[current][key] : en[key];
  if (!forms || typeof forms !== 'object') return key;
  let category = 'other';
  try { category = new Intl.PluralRules(locale()).select(n); } catch (_) { /* old browser */ }
  return fill(forms[category] || forms.other, { ...vars, n });
}

export function time(ts) { return formatTime(ts, locale()); }
export function date(ts) { return formatDate(ts, locale()); }

/**
 * Sets the static text of a page part from its attributes: data-i18n (text),
 * data-i18n-aria (aria-label), data-i18n-title, data-i18n-placeholder,
 * data-i18n-label (optgroup label).
 */
export function translate(root = document) {
  const set = (attr, apply) => {
    for (const node of root.querySelectorAll(`[${attr}]`)) apply(node, t(node.getAttribute(attr)));
  };
  set('data-i18n', (n, v) => { n.textContent = v; });
  set('data-i18n-aria', (n, v) => n.setAttribute('aria-label', v));
  set('data-i18n-title', (n, v) => n.setAttribute('title', v));
  set('data-i18n-placeholder', (n, v) => n.setAttribute('placeholder', v));
  set('data-i18n-label', (n, v) => n.setAttribute('label', v));
  document.documentElement.lang = current;
}

/** The operator chose a language: remember it, translate the page, tell the listeners. */
export function setLanguage(code) {
  if (!Object.hasOwn(LANGUAGES, code)) return;
  try { localStorage.setItem(STORAGE_KEY, code); } catch (_) { /* private mode: this page only */ }
  if (code === current) return;
  current = code;
  translate();
  for (const fn of listeners) fn(code);
}

export function onLanguageChange(fn) { listeners.add(fn); }

/** Fills a <select> with the languages (each in its own name) and keeps it in step. */
export function languageSelect(select) {
  select.replaceChildren(...Object.entries(LANGUAGES).map(([code, table]) => {
    const option = document.createElement('option');
    option.value = code;
    option.lang = code;
    option.textContent = table.$name;
    return option;
  }));
  select.value = current;
  select.addEventListener('change', () => setLanguage(select.value));
  onLanguageChange((code) => { select.value = code; });
}
