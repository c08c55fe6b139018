// The operator console.
//
// Session: login {email, password} (or hello {session} with the token kept
// in localStorage) -> welcome with my open conversations -> sync each from 0.
// New chats arrive as "assigned" (sound + desktop notification). The same
// delivery rules as the widget (lib/chat.js): client ids, outbox, acks, seq
// order, sync after reconnect and on gaps.

import { ReconnectingSocket, endpointUrl } from '../widget/lib/socket.js';
import { Outbox } from '../widget/lib/outbox.js';
import { ChatCore } from '../widget/lib/chat.js';
import { loadJSON, saveJSON, loadString, saveString, remove } from '../widget/lib/storage.js';
import { el, icon, ICONS, appendText, throttle, utf8Length, initials, nearBottom } from '../widget/lib/ui.js';
import { TeamChat } from './team.js';
import { openSettings } from './settings.js';
import { api } from './api.js';
import { Toasts } from './toast.js';
import { phoneScreens, NARROW } from './phone.js';
import { t, plural, time, date, translate, languageSelect, onLanguageChange } from './i18n.js';
import { OverdueWarnings } from './overdue.js';
import { Inbox } from './inbox.js';
import { Archive } from './archive.js';

const MAX_TEXT_BYTES = 8192;
const TYPING_INTERVAL = 2000;
const DRAFT_SHOWN = 10000;
const RING_REPEAT = 4000;     // a ringing chat beeps again this often
const STATUSES = ['online', 'away', 'busy'];
const KEYS = { session: 'beseda:op:session', status: 'beseda:op:status', seen: 'beseda:op:seen', outbox: 'beseda:op:outbox' };

// ---------------------------------------------------------------- state

const state = {
  session: loadString(KEYS.session),
  pendingLogin: null,     // {email, password} until welcome or bad_login; memory only
  operator: null,
  authed: false,
  status: 'away',         // as the server last confirmed
  wantedStatus: loadString(KEYS.status), // what the operator chose; re-applied after reconnects
  conversations: new Map(), // id -> {id, state, visitorId, page, assignedAt, draft, draftTimer}
  selected: null,
  histories: new Map(),   // visitor id -> array of {conversation, messages} | 'loading'
  seen: loadJSON(KEYS.seen, {}),
  showInfo: false,
  closing: null,          // conversation id of a close request awaiting its ok
  ringing: new Map(),     // conversation id -> conversation offered to me (ring), until accepted or ended
  accepting: null,        // conversation id of an accept awaiting its answer
  groups: [],             // the site's groups from the welcome (transfer targets)
  transferring: null,     // conversation id of a transfer awaiting its answer
  openOnAssign: null,     // conversation id I accepted: open it when its assigned comes
  staleHistories: new Set(), // visitor ids whose cached history missed a change since it was asked for
};

const socket = new ReconnectingSocket(endpointUrl('/ws/operator'));

// Requests whose answers must be told apart (accept, close, transfer): each
// carries a request id (`req`) that its ok or error echoes (docs/PROTOCOL.md).
let requestSeq = 0;
const requests = new Map();   // req -> {type, conversation}, until answered
function sendRequest(frame) {
  const req = `${frame.type}-${Date.now().toString(36)}-${++requestSeq}`;
  if (!socket.send({ ...frame, req })) return false;
  requests.set(req, { type: frame.type, conversation: frame.conversation });
  return true;
}
// The request an ok or error frame answers, or null (not one of ours).
function answered(frame) {
  const sent = typeof frame.req === 'string' ? requests.get(frame.req) : undefined;
  if (!sent) return null;
  requests.delete(frame.req);
  return sent;
}
const outbox = new Outbox(KEYS.outbox, 'o');
const core = new ChatCore({ socket, outbox, selfKind: 'operator', onChange });

// ---------------------------------------------------------------- DOM

const $ = (id) => document.getElementById(id);
const ui = {
  loginView: $('login-view'), loginForm: $('login-form'), email: $('login-email'), password: $('login-password'),
  loginError: $('login-error'), loginSubmit: $('login-submit'),
  appView: $('app-view'), conn: $('conn'), statusOnline: $('status-online'), statusAway: $('status-away'),
  statusBusy: $('status-busy'), openTeam: $('open-team'), teamUnread: $('team-unread'), openSettings: $('open-settings'),
  ringingBox: $('ringing-box'), ringing: $('ringing'), ringCount: $('ring-count'),
  team: $('team'), teamMessages: $('team-messages'), teamComposer: $('team-composer'), teamInput: $('team-input'),
  teamSend: $('team-send'), teamClose: $('team-close'),
  settingsView: $('settings-view'), settingsSections: $('settings-sections'), settingsClose: $('settings-close'),
  transferOpen: $('transfer-open'), transferDialog: $('transfer-dialog'), transferForm: $('transfer-form'),
  transferTarget: $('transfer-target'), transferNote: $('transfer-note'), transferError: $('transfer-error'),
  transferCancel: $('transfer-cancel'), transferSubmit: $('transfer-submit'),
  meAvatar: $('me-avatar'), meName: $('me-name'), logout: $('logout'),
  layout: $('layout'), list: $('conversations'), count: $('conv-count'), empty: $('conv-empty'),
  placeholder: $('chat-placeholder'), chat: $('chat'), back: $('back'), chatAvatar: $('chat-avatar'),
  chatName: $('chat-name'), chatSub: $('chat-sub'), info: $('info'), infoClose: $('info-close'),
  closeConv: $('close-conversation'), messages: $('chat-messages'), draft: $('draft'), draftText: $('draft-text'),
  hint: $('chat-hint'), composer: $('composer'), input: $('chat-input'), send: $('chat-send'),
  visitorInfo: $('visitor-info'), history: $('history'), toasts: $('toasts'),
};
translate();
document.title = t('appTitle');
languageSelect($('lang-select'));
languageSelect($('login-lang'));
const toasts = new Toasts(ui.toasts, { dismissLabel: () => t('dismiss') });

ui.logout.append(icon(ICONS.logout, 20));
ui.back.append(icon(ICONS.back, 22));
ui.info.append(icon(ICONS.info, 20));
ui.infoClose.append(icon(ICONS.close, 20));
ui.send.append(icon(ICONS.send, 18));
ui.teamSend.append(icon(ICONS.send, 18));
ui.teamClose.append(icon(ICONS.close, 20));
ui.settingsClose.append(icon(ICONS.close, 20));

const team = new TeamChat({
  socket, root: ui.team, list: ui.teamMessages, form: ui.teamComposer, input: ui.teamInput,
  selfId: () => (state.operator ? state.operator.id : ''),
  onUnread: (n) => { ui.teamUnread.textContent = String(n); ui.teamUnread.hidden = !n; },
});

const overdue = new OverdueWarnings({
  root: $('overdue-banner'),
  open: (id) => { if (state.conversations.has(id)) select(id); },
  label: (id) => { const conv = state.conversations.get(id); return conv ? visitorLabel(conv) : ''; },
  onWarn: (id) => { beep(2); notify(t('notifyOverdue'), t('notifyOverdueBody'), `overdue-${id}`); },
});

const inbox = new Inbox({ view: $('inbox-view'), button: $('open-inbox'), badge: $('inbox-unread'), session: () => state.session });
const archive = new Archive({ view: $('archive-view'), button: $('open-archive'), session: () => state.session });

// ---------------------------------------------------------------- sound and notifications

let audio = null;

// Browsers start audio only after a user gesture; every click gives us one.
function unlockAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === 'suspended') audio.resume();
  } catch (_) {
    audio = null;
  }
}

function beep(times = 1) {
  if (!audio || audio.state !== 'running') return;
  const start = audio.currentTime + 0.02;
  for (let i = 0; i < times; i++) {
    const t0 = start + i * 0.22;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(i % 2 ? 1175 : 880, t0);
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0);
    osc.stop(t0 + 0.2);
  }
}

function askNotificationPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    try { Notification.requestPermission().catch(() => {}); } catch (_) { /* old API */ }
  }
}

function notify(title, body, tag) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  try {
    const n = new Notification(title, { body, tag, renotify: true });
    n.onclick = () => { window.focus(); select(tag); n.close(); };
  } catch (_) { /* e.g. Android requires a service worker: the sound still plays */ }
}

document.addEventListener('pointerdown', unlockAudio);
document.addEventListener('keydown', unlockAudio);

// ---------------------------------------------------------------- conversations

function str(v) { return typeof v === 'string' ? v : ''; }

function upsertConversation(raw) {
  if (!raw || typeof raw.id !== 'string') return null;
  let conv = state.conversations.get(raw.id);
  if (!conv) {
    conv = { id: raw.id, assignedAt: Date.now(), draft: '', draftTimer: null, page: {} };
    state.conversations.set(raw.id, conv);
  }
  if (typeof raw.state === 'string') conv.state = raw.state;
  if (typeof raw.visitor_id === 'string') conv.visitorId = raw.visitor_id;
  if (raw.page && typeof raw.page === 'object') {
    conv.page = {
      url: str(raw.page.url) || conv.page.url || '', title: str(raw.page.title) || conv.page.title || '',
      referrer: str(raw.page.referrer) || conv.page.referrer || '', language: str(raw.page.language) || conv.page.language || '',
      country: str(raw.page.country) || conv.page.country || '', city: str(raw.page.city) || conv.page.city || '',
    };
  }
  if (Number.isSafeInteger(raw.last_seq)) conv.lastSeq = raw.last_seq;
  for (const [key, field] of [['visitor_name', 'visitorName'], ['visitor_email', 'visitorEmail'],
    ['visitor_phone', 'visitorPhone'], ['survey_answer', 'surveyAnswer'], ['rule', 'rule']]) {
    if (typeof raw[key] === 'string' && raw[key]) conv[field] = raw[key];
  }
  if (raw.operator && typeof raw.operator === 'object' && typeof raw.operator.id === 'string') conv.operatorId = raw.operator.id;
  return conv;
}

function visitorLabel(conv) {
  if (conv.visitorName) return conv.visitorName;
  return conv.visitorId ? t('visitorNumbered', { id: conv.visitorId.slice(0, 8) }) : t('visitor');
}

// The avatar's letters: the name's, else V (П) and the visitor id's first.
function visitorInitials(conv) {
  if (conv.visitorName) return initials(conv.visitorName);
  return initials(`${t('visitorInitial')} ${conv.visitorId || ''}`);
}

function unreadCount(conv) {
  const thread = core.threads.get(conv.id);
  if (!thread) return Math.max(0, (conv.lastSeq || 0) - (state.seen[conv.id] || 0));
  const seen = state.seen[conv.id] || 0;
  let n = 0;
  for (const m of thread.bySeq.values()) if (m.seq > seen && m.author.kind === 'visitor') n += 1;
  return n;
}

function markSeen(conv) {
  const thread = core.threads.get(conv.id);
  if (!thread || document.visibilityState !== 'visible') return;
  if ((state.seen[conv.id] || 0) >= thread.maxSeq) return;
  state.seen[conv.id] = thread.maxSeq;
  // Only conversations still listed are worth remembering.
  const kept = {};
  for (const id of state.conversations.keys()) if (state.seen[id]) kept[id] = state.seen[id];
  state.seen = kept;
  saveJSON(KEYS.seen, kept);
}

function lastActivity(conv) {
  const last = core.threads.get(conv.id)?.last();
  return last && last.ts ? last.ts : conv.assignedAt;
}

// ---------------------------------------------------------------- rendering

function renderTopbar() {
  const name = state.operator ? state.operator.name || state.operator.email : '';
  ui.meName.textContent = name;
  ui.meAvatar.textContent = initials(name);
  ui.openSettings.hidden = !(state.operator && state.operator.role === 'admin');
  for (const button of [ui.statusOnline, ui.statusAway, ui.statusBusy]) {
    const active = button.dataset.status === state.status;
    button.setAttribute('aria-pressed', active ? 'true' : 'false');
    button.classList.toggle('active', active);
  }
  ui.conn.textContent = state.authed ? '' : t('reconnecting');
  ui.conn.classList.toggle('visible', !state.authed);
}

function renderList() {
  const items = Array.from(state.conversations.values())
    .sort((a, b) => (a.state === 'closed') - (b.state === 'closed') || lastActivity(b) - lastActivity(a));
  const open = items.filter((c) => c.state !== 'closed').length;
  ui.count.textContent = String(open);
  ui.empty.hidden = items.length > 0;
  const fragment = document.createDocumentFragment();
  for (const conv of items) {
    const last = core.threads.get(conv.id)?.last();
    const unread = conv.id === state.selected ? 0 : unreadCount(conv);
    let preview = last ? (last.author.kind === 'operator' ? t('previewYou', { text: last.text }) : last.text) : (conv.page.title || conv.page.url || t('newChat'));
    if (conv.draft) preview = t('previewTyping', { text: conv.draft });
    const li = el('li', {
      class: `conv${conv.id === state.selected ? ' selected' : ''}${unread ? ' unread' : ''}${conv.state === 'closed' ? ' closed' : ''}`,
      dataset: { id: conv.id }, tabindex: '0', role: 'button',
      'aria-current': conv.id === state.selected ? 'true' : null,
    }, [
      el('span', { class: 'avatar' }, [visitorInitials(conv)]),
      el('div', { class: 'conv-main' }, [
        el('div', { class: 'conv-top' }, [
          el('span', { class: 'conv-name', text: visitorLabel(conv) }),
          el('span', { class: 'conv-time', text: last ? time(last.ts) : '' }),
        ]),
        el('div', { class: 'conv-bottom' }, [
          el('span', { class: `conv-preview${conv.draft ? ' typing' : ''}`, text: preview.slice(0, 140) }),
          conv.state === 'closed' ? el('span', { class: 'tag', text: t('closedTag') }) : null,
          unread ? el('span', { class: 'unread-badge', text: String(unread), 'aria-label': plural('unreadCount', unread) }) : null,
        ]),
      ]),
    ]);
    fragment.append(li);
  }
  ui.list.replaceChildren(fragment);
  const total = items.reduce((n, c) => n + (c.id === state.selected ? 0 : unreadCount(c)), 0);
  document.title = total ? t('appTitleUnread', { n: total }) : t('appTitle');
}

function renderRinging() {
  const items = Array.from(state.ringing.values());
  ui.ringingBox.hidden = items.length === 0;
  ui.ringCount.textContent = String(items.length);
  ui.ringing.replaceChildren(...items.map((conv) => {
    const accept = el('button', { type: 'button', class: 'primary small', text: state.accepting === conv.id ? t('accepting') : t('accept'), dataset: { accept: conv.id } });
    accept.disabled = state.accepting === conv.id;
    return el('li', { class: 'ring-item', dataset: { id: conv.id } }, [
      el('div', { class: 'conv-main' }, [
        el('div', { class: 'conv-name', text: visitorLabel(conv) }),
        el('div', { class: 'conv-preview', text: [conv.rule, conv.page.title || conv.page.url].filter(Boolean).join(' · ').slice(0, 140) }),
      ]),
      accept,
    ]);
  }));
}

let ringTimer = null;
function ringSound() {
  clearInterval(ringTimer);
  ringTimer = null;
  if (!state.ringing.size) return;
  beep(3);
  ringTimer = setInterval(() => { if (state.ringing.size) beep(3); else ringSound(); }, RING_REPEAT);
}

function messageNode(message, first, pending) {
  const kind = message.author.kind;
  if (kind === 'system') return el('div', { class: 'notice', text: message.text, dataset: { seq: String(message.seq) } });
  const own = kind === 'operator';
  const node = el('div', { class: `msg ${own ? 'msg-out' : 'msg-in'}${first ? ' first' : ''}${pending ? ' pending' : ''}` });
  if (message.seq) node.dataset.seq = String(message.seq);
  if (first) {
    const who = own ? (message.author.name || (state.operator && state.operator.name) || t('you')) : t('visitor');
    node.append(el('div', { class: 'msg-author', text: who }));
  }
  node.append(el('div', { class: 'bubble' }, [
    appendText(el('div', { class: 'msg-text' }), message.text),
    el('div', { class: 'msg-meta', text: pending ? t('sending') : time(message.ts) }),
  ]));
  return node;
}

function renderMessages() {
  const conv = state.conversations.get(state.selected);
  if (!conv) return;
  const stick = nearBottom(ui.messages);
  const fragment = document.createDocumentFragment();
  let lastKey = null;
  const thread = core.threads.get(conv.id);
  for (const message of thread ? thread.ordered() : []) {
    const key = `${message.author.kind}:${message.author.id || ''}`;
    fragment.append(messageNode(message, key !== lastKey, false));
    lastKey = key;
  }
  for (const entry of core.pending(conv.id)) {
    const message = { seq: 0, text: entry.text, ts: entry.ts, author: { kind: 'operator', name: '' } };
    fragment.append(messageNode(message, lastKey !== 'operator:self', true));
    lastKey = 'operator:self';
  }
  if (conv.note || conv.transferredBy) {
    const by = conv.transferredBy ? t('transferredBy', { name: conv.transferredBy }) : t('transferredToYou');
    fragment.prepend(el('div', { class: 'notice internal', text: conv.note ? t('transferNoteNotice', { by, note: conv.note }) : by }));
  }
  if (conv.state === 'closed') fragment.append(el('div', { class: 'notice', text: t('closedNotice') }));
  ui.messages.replaceChildren(fragment);
  if (stick) ui.messages.scrollTop = ui.messages.scrollHeight;
  markSeen(conv);
}

function renderDraft() {
  const conv = state.conversations.get(state.selected);
  const draft = conv && conv.state !== 'closed' ? conv.draft : '';
  ui.draft.hidden = !draft;
  ui.draftText.textContent = draft || '';
}

function infoRow(label, value, href) {
  if (!value) return null;
  let content = el('span', { text: value });
  if (href && /^https?:\/\//i.test(href)) {
    content = el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: value });
  }
  return el('div', { class: 'info-row' }, [el('div', { class: 'info-label', text: label }), el('div', { class: 'info-value' }, [content])]);
}

function renderVisitorPanel() {
  const conv = state.conversations.get(state.selected);
  if (!conv) {
    ui.visitorInfo.replaceChildren(el('p', { class: 'muted', text: t('noChatSelected') }));
    ui.history.replaceChildren(el('p', { class: 'muted', text: '—' }));
    return;
  }
  ui.visitorInfo.replaceChildren(...[
    infoRow(t('infoName'), conv.visitorName),
    infoRow(t('infoEmail'), conv.visitorEmail),
    infoRow(t('infoPhone'), conv.visitorPhone),
    infoRow(t('infoSurvey'), conv.surveyAnswer),
    infoRow(t('infoRule'), conv.rule),
    infoRow(t('infoVisitor'), conv.visitorId || t('unknown')),
    infoRow(t('infoPage'), conv.page.title || conv.page.url),
    infoRow(t('infoUrl'), conv.page.url, conv.page.url),
    infoRow(t('infoReferrer'), conv.page.referrer, conv.page.referrer),
    infoRow(t('infoLanguage'), conv.page.language),
    infoRow(t('infoLocation'), [conv.page.city, conv.page.country].filter(Boolean).join(', ')),
    infoRow(t('infoConversation'), conv.id),
  ].filter(Boolean));
  const history = conv.visitorId ? state.histories.get(conv.visitorId) : null;
  if (history === 'loading' || history === undefined) {
    ui.history.replaceChildren(el('p', { class: 'muted', text: conv.visitorId ? t('loading') : '—' }));
    return;
  }
  const earlier = (history || []).filter((h) => h.conversation.id !== conv.id);
  if (earlier.length === 0) {
    ui.history.replaceChildren(el('p', { class: 'muted', text: t('firstConversation') }));
    return;
  }
  ui.history.replaceChildren(...earlier.map(historyItem));
}

function historyItem(item) {
  const messages = item.messages;
  const first = messages[0];
  const when = first && first.ts ? date(first.ts) : t('earlier');
  const details = el('details', { class: 'history-item' });
  details.append(el('summary', {}, [
    el('span', { class: 'history-when', text: when }),
    el('span', { class: 'history-count', text: plural('messageCount', messages.length) }),
  ]));
  if (first) details.append(el('div', { class: 'history-preview', text: first.text.slice(0, 120) }));
  const list = el('div', { class: 'history-messages' });
  for (const m of messages) {
    list.append(el('div', { class: `history-msg ${m.author.kind === 'operator' ? 'op' : 'vis'}` }, [
      el('span', { class: 'history-who', text: m.author.kind === 'operator' ? (m.author.name || t('operator')) : t('visitor') }),
      appendText(el('span', { class: 'history-text' }), m.text),
    ]));
  }
  details.append(list);
  return details;
}

function renderChat() {
  const conv = state.conversations.get(state.selected);
  ui.layout.classList.toggle('has-selection', !!conv);
  ui.layout.classList.toggle('show-info', !!conv && state.showInfo);
  ui.placeholder.hidden = !!conv || team.visible;
  ui.chat.hidden = !conv || team.visible;
  if (!conv) {
    renderVisitorPanel();
    return;
  }
  ui.chatAvatar.textContent = visitorInitials(conv);
  ui.chatName.textContent = visitorLabel(conv);
  ui.chatSub.textContent = conv.page.title || conv.page.url || '';
  const closed = conv.state === 'closed';
  ui.closeConv.disabled = closed;
  ui.transferOpen.disabled = closed || state.transferring === conv.id;
  ui.closeConv.textContent = closed ? t('chatClosed') : (state.closing === conv.id ? t('closingChat') : t('closeChat'));
  ui.input.disabled = closed;
  ui.send.disabled = closed;
  renderMessages();
  renderDraft();
  renderVisitorPanel();
}

function renderAll() {
  renderTopbar();
  renderRinging();
  renderList();
  renderChat();
}

function showView() {
  const loggedIn = !!state.operator;
  ui.loginView.hidden = loggedIn;
  ui.appView.hidden = !loggedIn;
}

function showHint(text) {
  ui.hint.textContent = text;
  ui.hint.hidden = false;
  setTimeout(() => { ui.hint.hidden = true; }, 6000);
}

// ---------------------------------------------------------------- actions

function select(id) {
  const conv = state.conversations.get(id);
  if (!conv) return;
  state.selected = id;
  state.showInfo = false;
  showTeam(false);
  showSettings(false);
  core.sync(id);
  refreshHistory(conv.visitorId);
  renderList();
  renderChat();
  ui.messages.scrollTop = ui.messages.scrollHeight;
  if (!window.matchMedia(NARROW).matches) ui.input.focus({ preventScroll: true });
}

function requestHistory(visitorId) {
  if (socket.send({ type: 'history', visitor: visitorId })) state.histories.set(visitorId, 'loading');
}

// Earlier conversations as they are now: asked for when not known yet, and
// again when a chat of this visitor changed since (messages, closed, a new
// one); the list on screen stays until the fresh one comes.
function refreshHistory(visitorId) {
  if (!visitorId) return;
  const known = Array.isArray(state.histories.get(visitorId));
  if (known && !state.staleHistories.has(visitorId)) return;
  if (!known && state.histories.get(visitorId) === 'loading') return;
  if (!socket.send({ type: 'history', visitor: visitorId })) return;
  state.staleHistories.delete(visitorId);
  if (!known) state.histories.set(visitorId, 'loading');
}

function showTeam(visible) {
  team.show(visible);
  ui.openTeam.setAttribute('aria-pressed', visible ? 'true' : 'false');
  ui.chat.hidden = visible || !state.conversations.get(state.selected);
  ui.placeholder.hidden = visible || !!state.conversations.get(state.selected);
  if (visible) ui.layout.classList.add('has-selection');
}

function showSettings(visible) {
  ui.settingsView.hidden = !visible;
  ui.layout.classList.toggle('show-settings', visible);
  if (visible && state.session) openSettings(ui.settingsSections, state.session);
}

function accept(id) {
  if (!state.ringing.has(id) || state.accepting) return;
  if (sendRequest({ type: 'accept', conversation: id })) {
    state.accepting = id;
    state.openOnAssign = id;
    renderRinging();
  }
}

function forgetConversation(id) {
  state.conversations.delete(id);
  core.threads.delete(id);
  if (state.selected === id) state.selected = null;
}

async function openTransfer() {
  const conv = state.conversations.get(state.selected);
  if (!conv || conv.state === 'closed' || !state.session) return;
  ui.transferError.hidden = true;
  ui.transferNote.value = '';
  ui.transferTarget.replaceChildren(el('option', { value: '', text: t('loading') }));
  if (typeof ui.transferDialog.showModal === 'function') ui.transferDialog.showModal();
  else ui.transferDialog.setAttribute('open', '');
  const res = await api(state.session, 'GET', '/operators');
  const ops = res.status === 200 && res.json && Array.isArray(res.json.operators) ? res.json.operators : [];
  const options = [];
  const colleagues = ops.filter((o) => o && o.id !== state.operator.id);
  if (colleagues.length) {
    options.push(el('optgroup', { label: t('transferOperators') }, colleagues.map((o) => el('option', {
      value: `op:${o.id}`, text: t('transferOption', { name: o.name || o.email, status: statusName(o.status) }), disabled: o.status !== 'online' ? true : null,
    }))));
  }
  if (state.groups.length) {
    options.push(el('optgroup', { label: t('transferGroups') }, state.groups.map((g) => el('option', { value: `group:${g.id}`, text: g.name || g.id }))));
  }
  if (!options.length) options.push(el('option', { value: '', text: t('transferNobody') }));
  ui.transferTarget.replaceChildren(...options);
  const firstFree = ui.transferTarget.querySelector('option:not([disabled])');
  if (firstFree) ui.transferTarget.value = firstFree.value;
}

function closeTransfer() {
  if (typeof ui.transferDialog.close === 'function') ui.transferDialog.close();
  else ui.transferDialog.removeAttribute('open');
}

function submitTransfer() {
  const conv = state.conversations.get(state.selected);
  const target = ui.transferTarget.value;
  if (!conv || !target) return;
  const frame = { type: 'transfer', conversation: conv.id };
  if (target.startsWith('op:')) frame.to_operator = target.slice(3);
  else frame.to_group = target.slice(6);
  const note = ui.transferNote.value.trim();
  if (note) frame.note = note;
  if (sendRequest(frame)) {
    state.transferring = conv.id;
    ui.transferSubmit.disabled = true;
  }
}

const TRANSFER_ERRORS = { no_operator_available: 'transferNoOperator', forbidden: 'transferForbidden', bad_value: 'transferBadValue' };

function statusName(status) {
  return { online: t('statusOnline'), away: t('statusAway'), busy: t('statusBusy'), offline: t('statusOffline') }[status] || String(status || '');
}

function setStatus(status) {
  state.wantedStatus = status;
  saveString(KEYS.status, status);
  if (status === 'online') askNotificationPermission();
  if (state.authed) socket.send({ type: 'status', status });
}

const sendTyping = throttle((conversation) => {
  if (state.authed) socket.send({ type: 'typing', conversation });
}, TYPING_INTERVAL);

function submitReply() {
  const conv = state.conversations.get(state.selected);
  const text = ui.input.value;
  if (!conv || conv.state === 'closed' || !text.trim()) return;
  if (utf8Length(text) > MAX_TEXT_BYTES) {
    showHint(t('hintTooLong'));
    return;
  }
  sendTyping.cancel();
  ui.input.value = '';
  autoGrow();
  core.send(conv.id, text);
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function autoGrow() {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 160)}px`;
}

function logout() {
  if (state.authed && state.status === 'online') socket.send({ type: 'status', status: 'away' });
  // Ends the session on the server too (its token resumes nothing any
  // more); the frame leaves before the close that stop() sends.
  if (state.authed && state.session) socket.send({ type: 'logout', session: state.session });
  socket.stop();
  remove(KEYS.session);
  remove(KEYS.status);
  remove(KEYS.outbox);   // unsent messages must not go out under the next login
  state.session = null;
  state.operator = null;
  state.authed = false;
  state.conversations.clear();
  state.ringing.clear();
  ringSound();
  overdue.clear();
  inbox.stop();
  archive.stop();
  state.selected = null;
  core.threads.clear();
  showView();
  ui.password.value = '';
  ui.email.focus();
}

// ---------------------------------------------------------------- protocol

function onOpen() {
  if (state.session) socket.send({ type: 'hello', session: state.session });
  else if (state.pendingLogin) socket.send({ type: 'login', ...state.pendingLogin });
}

function onWelcome(frame) {
  requests.clear();       // a new connection: nothing sent before is answered on it
  if (typeof frame.session === 'string' && frame.session) {
    state.session = frame.session;
    saveString(KEYS.session, frame.session);
  }
  state.pendingLogin = null;
  const op = frame.operator && typeof frame.operator === 'object' ? frame.operator : {};
  state.operator = { id: str(op.id), name: str(op.name), email: str(op.email), site: str(op.site), role: str(op.role) };
  core.selfAuthor = { kind: 'operator', id: state.operator.id, name: state.operator.name };
  state.status = STATUSES.includes(op.status) ? op.status : 'away';
  state.groups = (Array.isArray(frame.groups) ? frame.groups : [])
    .filter((g) => g && typeof g.id === 'string').map((g) => ({ id: g.id, name: str(g.name) }));
  state.ringing.clear();
  for (const raw of Array.isArray(frame.ringing) ? frame.ringing : []) {
    if (raw && typeof raw.id === 'string') state.ringing.set(raw.id, ringEntry(raw));
  }
  ringSound();
  team.ready();
  inbox.start();
  state.authed = true;
  core.setReady(true);

  const listed = new Set();
  for (const raw of Array.isArray(frame.conversations) ? frame.conversations : []) {
    const conv = upsertConversation(raw);
    if (conv) listed.add(conv.id);
  }
  // Chats that vanished while we were away were closed or moved: keep the
  // selected one visible (as closed), forget the rest.
  for (const id of Array.from(state.conversations.keys())) {
    if (listed.has(id)) continue;
    if (id === state.selected) state.conversations.get(id).state = 'closed';
    else state.conversations.delete(id);
  }
  for (const entry of outbox.all()) {
    if (!listed.has(entry.conversation)) outbox.remove(entry.client_id); // no longer ours to write to
  }
  core.resend();
  for (const id of listed) core.sync(id);
  for (const [visitor, value] of state.histories) {
    if (value === 'loading') requestHistory(visitor);
    else state.staleHistories.add(visitor); // chats may have changed while we were away
  }

  if (!state.wantedStatus) state.wantedStatus = state.status;
  if (state.wantedStatus !== state.status) socket.send({ type: 'status', status: state.wantedStatus });
  ui.loginSubmit.disabled = false;
  showView();
  renderAll();
}

function ringEntry(raw) {
  const page = raw.page && typeof raw.page === 'object' ? raw.page : {};
  return {
    id: raw.id, visitorId: str(raw.visitor_id), visitorName: str(raw.visitor_name), rule: str(raw.rule),
    page: { url: str(page.url), title: str(page.title) },
  };
}

function onRing(frame) {
  const raw = frame.conversation;
  if (!raw || typeof raw.id !== 'string') return;
  state.ringing.set(raw.id, ringEntry(raw));
  notify(t('notifyRing'), str(raw.page && raw.page.title) || t('notifyRingBody'), raw.id);
  ringSound();
  renderRinging();
}

function onRingEnd(frame) {
  const id = frame.conversation;
  if (!state.ringing.delete(id)) return;
  if (state.accepting === id) state.accepting = null;
  if (state.openOnAssign === id && frame.reason !== 'taken') state.openOnAssign = null;
  if (frame.reason === 'taken' && frame.operator && frame.operator.id !== (state.operator && state.operator.id)) {
    toasts.show(t('tookChat', { name: str(frame.operator.name) || t('colleague') }));
  }
  ringSound();
  renderRinging();
}

// An admin saved settings: the groups offered as transfer targets are the
// saved ones from now on (an open transfer dialog reads them when opened).
function onSettingsChanged(frame) {
  if (!Array.isArray(frame.groups)) return;
  state.groups = frame.groups.filter((g) => g && typeof g.id === 'string').map((g) => ({ id: g.id, name: str(g.name) }));
}

function onStatusFrame(frame) {
  if (!state.operator || frame.operator !== state.operator.id || !STATUSES.includes(frame.status)) return;
  state.status = frame.status;
  state.wantedStatus = frame.status;
  saveString(KEYS.status, frame.status);
  renderTopbar();
}

function onAssigned(frame) {
  const conv = upsertConversation(frame.conversation);
  if (!conv) return;
  conv.state = 'assigned';
  state.ringing.delete(conv.id);
  if (state.accepting === conv.id) state.accepting = null;
  ringSound();
  renderRinging();
  const raw = frame.conversation;
  if (typeof raw.note === 'string' && raw.note) conv.note = raw.note;
  if (raw.transferred_by && typeof raw.transferred_by === 'object') conv.transferredBy = str(raw.transferred_by.name) || t('aColleague');
  core.sync(conv.id);
  beep(2);
  notify(t('notifyNewChat'), conv.page.title || conv.page.url || visitorLabel(conv), conv.id);
  if (conv.visitorId && state.histories.has(conv.visitorId)) state.staleHistories.add(conv.visitorId);
  // The chat I just accepted opens at once, whatever was open before.
  if (!state.selected || state.openOnAssign === conv.id) {
    state.openOnAssign = null;
    select(conv.id);
  }
  renderList();
}

function onConversationFrame(frame) {
  const raw = frame.conversation;
  if (!raw || !state.conversations.has(raw.id)) return;
  // Named for someone else: handed over (a transfer, an escalation). It
  // is not ours any more; this is the last frame of it we get.
  if (raw.operator && typeof raw.operator.id === 'string' && state.operator && raw.operator.id !== state.operator.id) {
    const wasSelected = state.selected === raw.id;
    forgetConversation(raw.id);
    if (wasSelected) toasts.show(t('nowTheirs', { name: str(raw.operator.name) || t('colleague') }));
    renderList();
    renderChat();
    return;
  }
  const conv = upsertConversation(raw);
  if (conv.state === 'closed') { conv.draft = ''; overdue.resolved(conv.id); }
  if (conv.visitorId) state.staleHistories.add(conv.visitorId);
  if (Number.isSafeInteger(raw.last_seq) && raw.last_seq > core.thread(conv.id).contiguous) core.sync(conv.id);
  renderList();
  if (conv.id === state.selected) renderChat();
}

function onTyping(frame) {
  const conv = state.conversations.get(frame.conversation);
  if (!conv) return;
  const author = frame.author && typeof frame.author === 'object' ? frame.author : {};
  if (author.kind !== 'visitor') return;
  conv.draft = str(frame.text);
  clearTimeout(conv.draftTimer);
  // The visitor may walk away mid-sentence: the peek fades after a while.
  conv.draftTimer = setTimeout(() => {
    conv.draft = '';
    renderList();
    if (conv.id === state.selected) renderDraft();
  }, DRAFT_SHOWN);
  renderList();
  if (conv.id === state.selected) renderDraft();
}

function onHistory(frame) {
  if (typeof frame.visitor !== 'string') return;
  const items = [];
  for (const item of Array.isArray(frame.conversations) ? frame.conversations : []) {
    if (!item || !item.conversation || typeof item.conversation.id !== 'string') continue;
    const messages = (Array.isArray(item.messages) ? item.messages : [])
      .filter((m) => m && Number.isSafeInteger(m.seq) && typeof m.text === 'string')
      .map((m) => ({
        seq: m.seq, text: m.text, ts: Number.isFinite(m.ts) ? m.ts : null,
        author: { kind: str(m.author && m.author.kind), name: str(m.author && m.author.name) },
      }))
      .sort((a, b) => a.seq - b.seq);
    items.push({ conversation: { id: item.conversation.id, state: str(item.conversation.state) }, messages });
  }
  state.histories.set(frame.visitor, items);
  renderVisitorPanel();
}

function onOk(frame) {
  const sent = answered(frame);
  if (frame.ref === 'accept') {
    state.ringing.delete(frame.conversation);
    state.accepting = null;
    ringSound();
    renderRinging();
  } else if (frame.ref === 'transfer') {
    state.transferring = null;
    ui.transferSubmit.disabled = false;
    closeTransfer();
    const wasSelected = state.selected === frame.conversation;
    forgetConversation(frame.conversation);
    if (wasSelected) toasts.show(t('transferred'));
    renderList();
    renderChat();
  } else if (frame.ref === 'status' && state.wantedStatus) {
    state.status = state.wantedStatus;
    renderTopbar();
  } else if (frame.ref === 'close' && (sent || state.closing)) {
    const id = sent ? sent.conversation : state.closing;
    const conv = state.conversations.get(id);
    if (state.closing === id) state.closing = null;
    if (conv) {
      conv.state = 'closed';
      conv.draft = '';
    }
    renderList();
    renderChat();
  }
}

function onError(frame) {
  const code = frame.code;
  if (code === 'bad_session' || (code === 'not_authenticated' && !state.pendingLogin)) {
    remove(KEYS.session);
    state.session = null;
    state.operator = null;
    state.authed = false;
    socket.stop();
    showView();
    showLoginError(code === 'bad_session' ? t('sessionExpired') : '');
    return;
  }
  if (code === 'bad_login' || code === 'login_throttled' || (code === 'field_too_long' && frame.ref === 'login')) {
    state.pendingLogin = null;
    showLoginError(t(code === 'login_throttled' ? 'loginThrottled' : 'loginWrong'));
    return;
  }
  // The server could not check the password in time (a whole team logging
  // in at once keeps it busy for seconds): ask again shortly, with jitter,
  // while the form keeps waiting.
  if (['unavailable', 'internal'].includes(code) && !state.authed
      && ((frame.ref === 'login' && state.pendingLogin) || (frame.ref === 'hello' && state.session))) {
    setTimeout(() => { if (!state.authed && socket.connected) onOpen(); }, 1000 + Math.random() * 1500);
    return;
  }
  // The request this error answers: by its req (several may be in flight),
  // else (an older server) the one of that kind awaiting its answer.
  const sent = answered(frame);
  if (frame.ref === 'accept' && state.accepting) {
    const id = sent ? sent.conversation : state.accepting;
    state.ringing.delete(id);
    if (state.accepting === id) state.accepting = null;
    if (state.openOnAssign === id) state.openOnAssign = null;
    toasts.show(t(code === 'already_taken' ? 'takenFirst' : 'notTaken'));
    ringSound();
    renderRinging();
    return;
  }
  if (frame.ref === 'transfer' && state.transferring
      && (!sent || sent.conversation === state.transferring)) {
    state.transferring = null;
    ui.transferSubmit.disabled = false;
    ui.transferError.textContent = t(TRANSFER_ERRORS[code] || 'transferFailed');
    ui.transferError.hidden = false;
    renderChat();
    return;
  }
  const about = core.handleError(frame);
  if (about && ['conversation_closed', 'forbidden', 'no_conversation'].includes(about.code)) {
    outbox.remove(about.entry.client_id);
    const conv = state.conversations.get(about.entry.conversation);
    if (conv) conv.state = 'closed';
    showHint(t('hintNotYours'));
    renderAll();
  } else if (about && about.dropped) {
    showHint(t(about.code === 'text_too_long' ? 'hintTooLong' : 'hintFailed'));
  } else if (frame.ref === 'close') {
    if (!sent || sent.conversation === state.closing) state.closing = null;
    showHint(t('hintCloseFailed'));
    renderChat();
  } else if (frame.ref === 'history' && typeof code === 'string') {
    for (const [visitor, value] of state.histories) if (value === 'loading') state.histories.delete(visitor);
    renderVisitorPanel();
  }
}

function onFrame(frame) {
  if (core.handle(frame) || team.handle(frame) || overdue.handle(frame)) return;
  switch (frame.type) {
    case 'ring': onRing(frame); break;
    case 'ring_end': onRingEnd(frame); break;
    case 'status': onStatusFrame(frame); break;
    case 'settings_changed': onSettingsChanged(frame); break;
    case 'inbox_changed': inbox.refresh(); break;
    case 'missed':
      inbox.refresh();
      if (frame.conversation && state.ringing.delete(frame.conversation.id)) { ringSound(); renderRinging(); }
      break;
    case 'welcome': onWelcome(frame); break;
    case 'assigned': onAssigned(frame); break;
    case 'conversation': onConversationFrame(frame); break;
    case 'typing': onTyping(frame); break;
    case 'history': onHistory(frame); break;
    case 'ok': onOk(frame); break;
    case 'error': onError(frame); break;
    case 'reconnect': socket.restart(Math.floor(Math.random() * 1000)); break;
    default: break;
  }
}

function onChange(id, event) {
  const conv = state.conversations.get(id);
  if (!conv) return;
  if (event.type === 'message' && conv.visitorId) state.staleHistories.add(conv.visitorId);
  if (event.type === 'ack' || (event.type === 'message' && event.message.author.kind === 'operator')) overdue.resolved(id); // answered
  if (event.type === 'message' && event.message.author.kind === 'visitor') {
    conv.draft = ''; // the draft became this message
    clearTimeout(conv.draftTimer);
    if (id !== state.selected || document.visibilityState !== 'visible') {
      beep(1);
      notify(visitorLabel(conv), event.message.text.slice(0, 120), id);
    }
  }
  renderList();
  if (id === state.selected) {
    renderMessages();
    renderDraft();
  }
}

socket.on('open', onOpen);
socket.on('frame', onFrame);
socket.on('close', () => {
  core.setReady(false);
  state.authed = false;
  if (state.operator) renderTopbar();
});

// ---------------------------------------------------------------- events

function showLoginError(text) {
  ui.loginError.textContent = text;
  ui.loginError.hidden = !text;
  ui.loginSubmit.disabled = false;
}

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  unlockAudio();
  askNotificationPermission();
  const email = ui.email.value.trim();
  const password = ui.password.value;
  if (!email || !password) return;
  state.pendingLogin = { email, password };
  showLoginError('');
  ui.loginSubmit.disabled = true;
  if (socket.running && socket.connected) onOpen();
  else if (socket.running) socket.restart(0);
  else socket.start();
});

ui.statusOnline.addEventListener('click', () => setStatus('online'));
ui.statusAway.addEventListener('click', () => setStatus('away'));
ui.statusBusy.addEventListener('click', () => setStatus('busy'));
ui.openTeam.addEventListener('click', () => { showSettings(false); showTeam(!team.visible); });
ui.teamClose.addEventListener('click', () => { showTeam(false); renderChat(); });
ui.openSettings.addEventListener('click', () => { showTeam(false); showSettings(ui.settingsView.hidden); });
ui.settingsClose.addEventListener('click', () => showSettings(false));
ui.ringing.addEventListener('click', (event) => {
  const button = event.target.closest('[data-accept]');
  if (button) accept(button.dataset.accept);
});
ui.transferOpen.addEventListener('click', openTransfer);
ui.transferCancel.addEventListener('click', closeTransfer);
ui.transferForm.addEventListener('submit', (event) => { event.preventDefault(); submitTransfer(); });
ui.logout.addEventListener('click', logout);

ui.list.addEventListener('click', (event) => {
  const item = event.target.closest('.conv');
  if (item) select(item.dataset.id);
});
ui.list.addEventListener('keydown', (event) => {
  const item = event.target.closest('.conv');
  if (item && (event.key === 'Enter' || event.key === ' ')) {
    event.preventDefault();
    select(item.dataset.id);
  }
});

ui.back.addEventListener('click', () => {
  state.selected = null;
  renderList();
  renderChat();
});
ui.info.addEventListener('click', () => {
  state.showInfo = !state.showInfo;
  if (state.showInfo) refreshHistory(state.conversations.get(state.selected)?.visitorId);
  renderChat();
});
ui.infoClose.addEventListener('click', () => { state.showInfo = false; renderChat(); });

ui.closeConv.addEventListener('click', () => {
  const conv = state.conversations.get(state.selected);
  if (!conv || conv.state === 'closed') return;
  if (sendRequest({ type: 'close', conversation: conv.id })) {
    state.closing = conv.id;
    ui.closeConv.disabled = true;
    ui.closeConv.textContent = t('closingChat');
  }
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  submitReply();
  ui.input.focus();
});
ui.input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submitReply();
  }
});
ui.input.addEventListener('input', () => {
  autoGrow();
  if (state.selected && ui.input.value) sendTyping(state.selected);
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  const conv = state.conversations.get(state.selected);
  if (conv) markSeen(conv);
  renderList();
});

// A phone: the list and a chat are screens; the phone's Back returns to the list.
phoneScreens(ui.layout, () => {
  if (team.visible) { showTeam(false); renderChat(); } else ui.back.click();
});
function placeholders() {
  ui.input.placeholder = t(window.matchMedia(NARROW).matches ? 'replyPlaceholderShort' : 'replyPlaceholder');
}
placeholders();

// The operator switched the language: everything on screen is drawn again.
onLanguageChange(() => {
  placeholders();
  renderAll();
  team.render();
  inbox.relabel();
  overdue.render();
  if (!ui.settingsView.hidden) showSettings(true);
});

// ---------------------------------------------------------------- start

if (state.session) {
  // Show the workspace frame at once; the welcome fills it.
  state.operator = { id: '', name: '', email: '', site: '' };
  showView();
  renderAll();
  socket.start();
} else {
  showView();
  ui.email.focus();
}
