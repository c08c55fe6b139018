// Small DOM and text helpers. Everything that came from the network is put
// into the page with textContent or as attribute values set through the DOM,
// never as HTML: a chat message is attacker-controlled text.

export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// A stroke icon from a list of path "d" strings (24x24 viewBox).
export function icon(paths, size = 20) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  for (const d of paths) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

export const ICONS = {
  send: ['M22 2 11 13', 'M22 2 15 22 11 13 2 9 22 2z'],
  close: ['M18 6 6 18', 'M6 6l12 12'],
  minimize: ['M6 9l6 6 6-6'],
  back: ['M15 18l-6-6 6-6'],
  info: ['M12 16v-4', 'M12 8h.01', 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20z'],
  chat: ['M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z'],
  logout: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
};

// Appends text to a node, turning http(s) URLs into links. The href is only
// ever an http/https URL matched here, so "javascript:" cannot get in.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

export function appendText(node, text) {
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    if (match.index > last) node.append(document.createTextNode(text.slice(last, match.index)));
    const a = document.createElement('a');
    a.href = match[0];
    a.textContent = match[0];
    a.target = '_blank';
    a.rel = 'noopener noreferrer nofollow';
    node.append(a);
    last = match.index + match[0].length;
  }
  if (last < text.length) node.append(document.createTextNode(text.slice(last)));
  return node;
}

export function formatTime(ts, lang) {
  if (!Number.isFinite(ts)) return '';
  try {
    return new Intl.DateTimeFormat(lang || undefined, { hour: '2-digit', minute: '2-digit' }).format(new Date(ts));
  } catch (_) {
    return new Date(ts).toTimeString().slice(0, 5);
  }
}

export function formatDate(ts, lang) {
  if (!Number.isFinite(ts)) return '';
  try {
    return new Intl.DateTimeFormat(lang || undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ts));
  } catch (_) {
    return new Date(ts).toISOString();
  }
}

const encoder = new TextEncoder();

export function utf8Length(text) {
  return encoder.encode(text).length;
}

// Cuts a string to at most maxBytes of UTF-8 without splitting a character.
export function truncateBytes(text, maxBytes) {
  if (typeof text !== 'string') return '';
  if (utf8Length(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = utf8Length(ch);
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

// Calls fn at most once per interval; the last call in a window is delivered
// at its end, so the final draft always reaches the other side.
export function throttle(fn, interval) {
  let lastRun = 0;
  let timer = null;
  let pendingArgs = null;
  const run = () => {
    lastRun = Date.now();
    timer = null;
    const args = pendingArgs;
    pendingArgs = null;
    fn(...args);
  };
  const throttled = (...args) => {
    pendingArgs = args;
    const wait = interval - (Date.now() - lastRun);
    if (wait <= 0 && !timer) run();
    else if (!timer) timer = setTimeout(run, Math.max(0, wait));
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = null;
    pendingArgs = null;
  };
  return throttled;
}

export function initials(name) {
  const parts = String(name || '').trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return '?';
  return parts.slice(0, 2).map((p) => Array.from(p)[0].toUpperCase()).join('');
}

// True when the scroll container is (nearly) at the bottom: new messages then
// keep it pinned there; a user reading older messages is not yanked down.
export function nearBottom(node) {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
}
