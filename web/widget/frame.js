// The visitor's chat window (runs in the iframe at the gateway's origin).
//
// Life cycle: connect /ws/visitor -> hello {site, token?, page} -> welcome
// (token kept per site in localStorage, the open conversation) -> sync the
// history -> live frames. Every drop of the connection goes back to the start
// with backoff; the outbox makes sure nothing typed is lost on the way.

import { ReconnectingSocket, endpointUrl } from './lib/socket.js';
import { Outbox } from './lib/outbox.js';
import { ChatCore } from './lib/chat.js';
import { loadJSON, saveJSON, loadString, saveString, remove } from './lib/storage.js';
import { el, icon, ICONS, appendText, formatTime, throttle, truncateBytes, utf8Length, initials, nearBottom } from './lib/ui.js';
import { pickLanguage, translator } from './lib/i18n.js';
import { Forms } from './forms.js';

const MAX_TEXT_BYTES = 8192;
const MAX_FIELD_BYTES = 2000;
const TYPING_INTERVAL = 1200;
const OPERATOR_TYPING_SHOWN = 5000;
const PENDING = '(pending)'; // outbox conversation of messages typed before we know the conversation

// ---------------------------------------------------------------- context

const query = new URLSearchParams(window.location.search);
const hash = new URLSearchParams(window.location.hash.slice(1));
const site = query.get('site') || '';

// The embedding page's origin, as the loader told us; used both to address our
// postMessages and to accept only messages from that parent.
function parentOriginFromHash() {
  const claimed = hash.get('origin');
  if (!claimed) return null;
  try {
    const origin = new URL(claimed).origin;
    return origin === claimed && origin !== 'null' ? origin : null;
  } catch (_) {
    return null;
  }
}

const parentOrigin = window.parent !== window ? parentOriginFromHash() : null;
const embedded = parentOrigin !== null;
const lang = pickLanguage(hash.get('lang'), navigator.language);
const t = translator(lang);
document.documentElement.lang = lang;
applyAccent(hash.get('color'));

// The site's colour (the loader's data-color) for the header, the visitor's
// bubbles and the buttons; text on it turns dark when the colour is light.
// Only a value the browser parses as a colour is used; it is set through the
// CSSOM, which the frame's CSP allows.
function applyAccent(color) {
  if (!color || color.length > 64 || !window.CSS || !CSS.supports('color', color)) return;
  const root = document.documentElement.style;
  root.setProperty('--accent', color);
  const mix = `color-mix(in srgb, ${color} 80%, #000)`;
  root.setProperty('--accent-dark', CSS.supports('color', mix) ? mix : color);
  const probe = document.createElement('span');
  probe.style.color = color;
  document.documentElement.append(probe);
  const computed = getComputedStyle(probe).color;
  probe.remove();
  const rgb = /^rgba?\(/.test(computed) ? computed.match(/[\d.]+/g).map(Number) : [];
  if (rgb.length >= 3) {
    const [r, g, b] = rgb.map((v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
    if (0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45) root.setProperty('--on-accent', '#1b2330');
  }
}

const page = {
  url: truncateBytes(hash.get('url') || document.referrer || window.location.href, MAX_FIELD_BYTES),
  title: truncateBytes(hash.get('title') || '', MAX_FIELD_BYTES),
  referrer: truncateBytes(hash.get('referrer') || '', MAX_FIELD_BYTES),
  language: truncateBytes(hash.get('lang') || navigator.language || '', 64),
};

const keys = {
  token: `beseda:v:${site}:token`,
  outbox: `beseda:v:${site}:outbox`,
  ui: `beseda:v:${site}:ui`,
  offline: `beseda:v:${site}:offline`,   // an offline-form message until its ok
  surveyed: `beseda:v:${site}:surveyed`, // the conversation whose survey was sent
};

// ---------------------------------------------------------------- state

const state = {
  siteName: '',
  operatorsOnline: 0,
  conversation: null,      // {id, state, operator}
  previousId: null,        // a conversation closed during this page view, still shown above
  notices: [],             // local notices: {conversation, afterSeq, text}
  connected: false,
  stopped: false,
  open: !embedded || loadJSON(keys.ui, {}).open === true,
  unread: 0,
  operatorTyping: null,    // timer while the operator's "typing" is shown
  lastRestart: 0,
  available: true,         // welcome.available: can a chat be answered now
  survey: null,            // welcome.survey when the site asks for one
};

const socket = new ReconnectingSocket(endpointUrl('/ws/visitor'));
const outbox = new Outbox(keys.outbox, 'v');
const core = new ChatCore({ socket, outbox, selfKind: 'visitor', onChange });

// ---------------------------------------------------------------- DOM

const $ = (id) => document.getElementById(id);
const ui = {
  avatar: $('avatar'), title: $('title'), statusDot: $('status-dot'), statusText: $('status-text'),
  minimize: $('minimize'), banner: $('banner'), messages: $('messages'), typing: $('typing'),
  typingText: $('typing-text'), hint: $('hint'), composer: $('composer'), input: $('input'),
  send: $('send'), brand: $('brand-text'), forms: $('forms'),
};

const forms = new Forms({
  root: ui.forms, t, pendingKey: keys.offline,
  send: (frame) => core.ready && socket.send(frame),
  onDone: (ref) => {
    if (ref === 'survey' && state.conversation) saveString(keys.surveyed, state.conversation.id);
    thanksFor = state.conversation ? state.conversation.id : null;
    updateForms();
  },
  onNewChat: () => { updateForms(); ui.input.focus(); },
});

// Which form, if any, stands in for the composer (PROTOCOL.md: welcome
// `available` and `survey`, a missed chat, a closed one).
let thanksFor = null;   // the conversation a form's "thank you" belongs to
function updateForms() {
  const conv = state.conversation;
  const waiting = outbox.all().length > 0;
  const thanking = forms.mode === 'thanks' || forms.mode === 'transcript-thanks';
  if (forms.waiting || (thanking && conv && thanksFor === conv.id)) {
    // keep what is on screen until the answer came / the visitor moves on
  } else if (conv && conv.state === 'closed' && conv.missed) {
    if (forms.mode !== 'offline') forms.showOffline(t('offlineMissed'));
  } else if (conv && conv.state === 'new' && !waiting && !state.available) {
    if (forms.mode !== 'offline') forms.showOffline();
  } else if (conv && conv.state === 'new' && !waiting && state.survey && loadString(keys.surveyed) !== conv.id) {
    if (forms.mode !== 'survey') forms.showSurvey(state.survey);
  } else if (conv && conv.state === 'closed' && core.threads.get(conv.id)?.maxSeq > 0 && forms.dismissed !== conv.id) {
    if (forms.mode !== 'transcript-offer') forms.showTranscriptOffer(conv.id);
  } else if (forms.mode) {
    forms.hide();
  }
  ui.composer.hidden = forms.open;
}

function setupStaticText() {
  document.title = t('title');
  ui.input.placeholder = t('placeholder');
  ui.send.setAttribute('aria-label', t('send'));
  ui.send.title = t('send');
  ui.send.append(icon(ICONS.send, 18));
  ui.minimize.setAttribute('aria-label', t('minimize'));
  ui.minimize.title = t('minimize');
  ui.minimize.append(icon(ICONS.minimize, 22));
  ui.minimize.hidden = !embedded;
  ui.brand.textContent = `⚡ ${t('poweredBy')}`;
}

function renderHeader() {
  const conv = state.conversation;
  const operator = conv && conv.state === 'assigned' && conv.operator ? conv.operator : null;
  ui.avatar.replaceChildren();
  if (operator && operator.name) ui.avatar.textContent = initials(operator.name);
  else ui.avatar.append(icon(ICONS.chat, 20));
  ui.title.textContent = operator && operator.name ? operator.name : (state.siteName || t('title'));
  // A missed chat: nobody could answer, whoever is online (they are all busy).
  const missed = !!conv && conv.state === 'closed' && conv.missed;
  const online = !missed && (state.operatorsOnline > 0 || !!operator);
  ui.statusDot.classList.toggle('on', online && state.connected);
  if (!state.connected) ui.statusText.textContent = t('connecting');
  else if (operator) ui.statusText.textContent = `${t('operator')} · ${state.siteName || t('online')}`;
  else if (missed) ui.statusText.textContent = `${t('missedStatus')} · ${t('closedHint')}`;
  else if (!state.available && !operator) ui.statusText.textContent = `${t('offline')} · ${t('closedHint')}`;
  else ui.statusText.textContent = online ? `${t('online')} · ${t('onlineHint')}` : `${t('offline')} · ${t('offlineHint')}`;
}

let bannerTimer = null;
function showBanner(text, kind = 'warn', delay = 0) {
  clearTimeout(bannerTimer);
  // A short delay avoids a flash of "reconnecting" on a quick reconnect.
  bannerTimer = setTimeout(() => {
    ui.banner.textContent = text;
    ui.banner.classList.toggle('error', kind === 'error');
    ui.banner.hidden = false;
  }, delay);
}

function hideBanner() {
  clearTimeout(bannerTimer);
  ui.banner.hidden = true;
}

let hintTimer = null;
function showHint(text, ms = 6000) {
  ui.hint.textContent = text;
  ui.hint.hidden = false;
  clearTimeout(hintTimer);
  hintTimer = setTimeout(() => { ui.hint.hidden = true; }, ms);
}

function messageNode(message, { pending = false, first = false } = {}) {
  const own = message.author.kind === 'visitor';
  const system = message.author.kind === 'system';
  if (system) return el('div', { class: 'notice', dataset: { seq: String(message.seq) }, text: message.text });
  const node = el('div', {
    class: `msg ${own ? 'msg-out' : 'msg-in'}${pending ? ' pending' : ''}${first ? ' first' : ''}`,
  });
  if (message.seq) node.dataset.seq = String(message.seq);
  if (message.client_id) node.dataset.clientId = message.client_id;
  if (!own && first) node.append(el('div', { class: 'msg-author', text: message.author.name || t('operator') }));
  const text = appendText(el('div', { class: 'msg-text' }), message.text);
  const meta = el('div', { class: 'msg-meta', text: pending ? t('sending') : formatTime(message.ts, lang) });
  node.append(el('div', { class: 'bubble' }, [text, meta]));
  return node;
}

function appendThread(fragment, id, lastKind) {
  const thread = core.threads.get(id);
  const notices = state.notices.filter((n) => n.conversation === id);
  let kind = lastKind;
  const flushNotices = (upTo) => {
    while (notices.length && notices[0].afterSeq <= upTo) {
      fragment.append(el('div', { class: 'notice', text: notices.shift().text }));
      kind = 'notice';
    }
  };
  for (const message of thread ? thread.ordered() : []) {
    flushNotices(message.seq - 1);
    const authorKey = message.author.kind === 'visitor' ? 'visitor' : `${message.author.kind}:${message.author.id || message.author.name}`;
    fragment.append(messageNode(message, { first: authorKey !== kind }));
    kind = authorKey;
  }
  flushNotices(Infinity);
  return kind;
}

function render() {
  const stick = nearBottom(ui.messages);
  const fragment = document.createDocumentFragment();
  const greeting = messageNode(
    { seq: 0, text: t('greeting'), ts: null, author: { kind: 'operator', name: state.siteName || t('title') } },
    { first: true });
  greeting.classList.add('greeting');
  greeting.querySelector('.msg-meta').remove();
  fragment.append(greeting);
  let kind = 'greeting';
  if (state.previousId) kind = appendThread(fragment, state.previousId, kind);
  const conv = state.conversation;
  if (conv) kind = appendThread(fragment, conv.id, kind);
  for (const entry of outbox.all()) {
    if (entry.conversation !== PENDING && (!conv || entry.conversation !== conv.id)) continue;
    fragment.append(messageNode(
      { seq: 0, client_id: entry.client_id, text: entry.text, ts: entry.ts, author: { kind: 'visitor' } },
      { pending: true, first: kind !== 'visitor' }));
    kind = 'visitor';
  }
  ui.messages.replaceChildren(fragment);
  if (stick) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function scrollToEnd() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

// ---------------------------------------------------------------- parent window

function postParent(message) {
  if (embedded) window.parent.postMessage(message, parentOrigin);
}

function setOpen(open) {
  state.open = open;
  saveJSON(keys.ui, { open });
  if (open) {
    state.unread = 0;
    postParent({ type: 'beseda:unread', count: 0 });
    scrollToEnd();
    ui.input.focus({ preventScroll: true });
  }
}

window.addEventListener('message', (event) => {
  if (!embedded || event.source !== window.parent || event.origin !== parentOrigin) return;
  const data = event.data;
  if (!data || typeof data !== 'object') return;
  if (data.type === 'beseda:open') setOpen(true);
  else if (data.type === 'beseda:close') setOpen(false);
});

function countUnread(message) {
  if (message.author.kind === 'visitor') return;
  if (state.open && document.visibilityState === 'visible') return;
  state.unread += 1;
  postParent({ type: 'beseda:unread', count: state.unread });
}

// ---------------------------------------------------------------- protocol

function sendHello() {
  const hello = { type: 'hello', site, page };
  const token = loadString(keys.token);
  if (token) hello.token = token;
  socket.send(hello);
}

function onChange(id, event) {
  if (!state.conversation || (id !== state.conversation.id && id !== state.previousId)) return;
  if (event.type === 'ack' && id === state.conversation.id && state.conversation.state === 'new') {
    // The first stored message makes the conversation real (PROTOCOL.md: welcome).
    state.conversation.state = 'queued';
    renderHeader();
  }
  if (event.type === 'message') {
    if (event.message.author.kind === 'operator') hideOperatorTyping();
    countUnread(event.message);
  }
  render();
}

function setConversation(conv) {
  if (!conv || typeof conv.id !== 'string') return;
  const current = state.conversation;
  if (current && current.id !== conv.id && core.threads.get(current.id)?.maxSeq > 0) {
    state.previousId = current.id; // keep the ended chat visible above the new one
  }
  state.conversation = {
    id: conv.id,
    state: typeof conv.state === 'string' ? conv.state : 'new',
    operator: conv.operator && typeof conv.operator === 'object' ? {
      id: typeof conv.operator.id === 'string' ? conv.operator.id : null,
      name: typeof conv.operator.name === 'string' ? conv.operator.name : '',
    } : null,
    lastSeq: Number.isSafeInteger(conv.last_seq) ? conv.last_seq : 0,
    missed: conv.missed === true,
  };
}

function onWelcome(frame) {
  if (typeof frame.token === 'string' && frame.token) saveString(keys.token, frame.token);
  state.siteName = typeof frame.site_name === 'string' ? frame.site_name : '';
  state.operatorsOnline = Number.isSafeInteger(frame.operators_online) ? frame.operators_online : 0;
  state.available = frame.available !== false;
  state.survey = frame.survey && typeof frame.survey === 'object' && frame.survey.enabled ? frame.survey : null;
  setConversation(frame.conversation);
  state.connected = true;
  hideBanner();
  core.setReady(true);
  const conv = state.conversation;
  if (!conv) return;
  // Messages typed for a conversation that has since ended (or never became
  // real) belong to the visitor's current one: move them there.
  for (const entry of outbox.all()) {
    if (entry.conversation !== conv.id) outbox.update(entry.client_id, { conversation: conv.id });
  }
  core.resend();
  forms.resend();
  const thread = core.thread(conv.id);
  if (conv.lastSeq > thread.contiguous || thread.hasGap()) core.sync(conv.id);
  updateForms();
  renderHeader();
  render();
}

function onConversation(frame) {
  const conv = frame.conversation;
  if (!conv || !state.conversation || conv.id !== state.conversation.id) return;
  const before = state.conversation;
  setConversation(conv);
  const after = state.conversation;
  const thread = core.thread(after.id);
  // A first operator is announced here; a transfer's new one by the
  // server's own system message.
  if (after.state === 'assigned' && after.operator && !before.operator) {
    state.notices.push({ conversation: after.id, afterSeq: thread.maxSeq, text: t('joined', { name: after.operator.name || t('operator') }) });
  }
  if (after.state === 'closed' && before.state !== 'closed') {
    state.notices.push({ conversation: after.id, afterSeq: Infinity, text: t('closed') });
    hideOperatorTyping();
  }
  if (after.lastSeq > thread.contiguous) core.sync(after.id);
  updateForms();
  renderHeader();
  render();
}

function showOperatorTyping(frame) {
  if (!state.conversation || frame.conversation !== state.conversation.id) return;
  const author = frame.author && typeof frame.author === 'object' ? frame.author : {};
  if (author.kind === 'visitor') return;
  const name = typeof author.name === 'string' && author.name ? author.name : t('operator');
  ui.typingText.textContent = t('typing', { name });
  ui.typing.hidden = false;
  clearTimeout(state.operatorTyping);
  state.operatorTyping = setTimeout(hideOperatorTyping, OPERATOR_TYPING_SHOWN);
}

function hideOperatorTyping() {
  clearTimeout(state.operatorTyping);
  ui.typing.hidden = true;
}

// Starts a fresh session (new hello), at most once every 3 s so that a
// server that keeps refusing cannot make us spin.
function restartSession() {
  const wait = Math.max(0, state.lastRestart + 3000 - Date.now());
  state.lastRestart = Date.now() + wait;
  socket.restart(wait);
}

function onError(frame) {
  const code = frame.code;
  const about = core.handleError(frame);
  if (code === 'token_expired' || code === 'bad_token') {
    remove(keys.token); // the next hello goes without it and gets a new identity
    restartSession();
    return;
  }
  if (code === 'no_such_site') {
    state.stopped = true;
    socket.stop();
    showBanner(t('noSite'), 'error');
    ui.input.disabled = true;
    ui.send.disabled = true;
    return;
  }
  if (code === 'not_authenticated') { restartSession(); return; }
  if (!about) {
    if (code === 'text_too_long') showHint(t('tooLong'));
    return;
  }
  if (about.code === 'rate_limited') showHint(t('rateLimited'), 3000);
  if (about.dropped) {
    if (about.code === 'text_too_long' && !ui.input.value) ui.input.value = about.entry.text;
    showHint(about.code === 'text_too_long' ? t('tooLong') : t('failed'));
    render();
    return;
  }
  if (['conversation_closed', 'no_conversation', 'forbidden'].includes(about.code)) {
    // Our conversation is gone: a new hello gives a fresh one, and the
    // welcome handler moves this message there.
    const tries = (about.entry.tries || 0) + 1;
    if (tries > 3) {
      outbox.remove(about.entry.client_id);
      showHint(t('failed'));
      render();
      return;
    }
    outbox.update(about.entry.client_id, { tries });
    restartSession();
  }
}

function onFrame(frame) {
  if (forms.handle(frame) || core.handle(frame)) return;
  switch (frame.type) {
    case 'welcome': onWelcome(frame); break;
    case 'conversation': onConversation(frame); break;
    case 'operators':
      if (Number.isSafeInteger(frame.online)) state.operatorsOnline = frame.online;
      renderHeader();
      break;
    case 'typing': showOperatorTyping(frame); break;
    case 'error': onError(frame); break;
    case 'reconnect': socket.restart(Math.floor(Math.random() * 1000)); break;
    default: break; // pong and frames of later protocol versions
  }
}

socket.on('open', sendHello);
socket.on('frame', onFrame);
socket.on('close', () => {
  core.setReady(false);
  state.connected = false;
  renderHeader();
  if (!state.stopped) showBanner(t('reconnecting'), 'warn', 1500);
});

// ---------------------------------------------------------------- composer

const sendTyping = throttle((text) => {
  const conv = state.conversation;
  // Typing on a conversation nobody sees yet ("new") or an ended one is useless.
  if (!conv || !core.ready || conv.state === 'new' || conv.state === 'closed') return;
  socket.send({ type: 'typing', conversation: conv.id, text: truncateBytes(text, MAX_TEXT_BYTES) });
}, TYPING_INTERVAL);

function autoGrow() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 120)}px`;
}

function submit() {
  const text = ui.input.value;
  if (!text.trim()) return;
  if (utf8Length(text) > MAX_TEXT_BYTES) {
    showHint(t('tooLong'));
    return;
  }
  const conv = state.conversation;
  sendTyping.cancel();
  ui.input.value = '';
  autoGrow();
  ui.hint.hidden = true;
  // Before the first welcome we have no conversation id yet: park the message
  // under a placeholder, the welcome handler re-targets it.
  core.send(conv && conv.state !== 'closed' ? conv.id : PENDING, text);
  if (conv && conv.state === 'closed') restartSession();
  render();
  scrollToEnd();
}

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  submit();
  ui.input.focus();
});

ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});

ui.input.addEventListener('input', () => {
  autoGrow();
  sendTyping(ui.input.value);
});

ui.minimize.addEventListener('click', () => {
  setOpen(false);
  postParent({ type: 'beseda:close' });
});

document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && embedded) {
    setOpen(false);
    postParent({ type: 'beseda:close' });
  }
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.open && state.unread) {
    state.unread = 0;
    postParent({ type: 'beseda:unread', count: 0 });
  }
});

// ---------------------------------------------------------------- start

setupStaticText();
renderHeader();
render();
if (!site) {
  state.stopped = true;
  showBanner(t('noSite'), 'error');
  ui.input.disabled = true;
  ui.send.disabled = true;
} else {
  socket.start();
}
postParent({ type: 'beseda:ready', open: state.open });
