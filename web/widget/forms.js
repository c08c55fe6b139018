// The widget's forms (PROTOCOL.md: survey, offline, transcript): the
// pre-chat survey before the first message, the offline form when nobody
// can answer (welcome.available false, or the chat was missed), and "mail me
// the transcript" after a chat ended. Everything typed is put in the page as
// input values or textContent only.

import { el } from './lib/ui.js';
import { saveJSON, loadJSON, remove } from './lib/storage.js';

const EMAIL_RE = /^[^\s@<>,;]+@[^\s@<>,;]+$/;

function field(id, label, { type = 'text', required = false, max = 100, multiline = false } = {}) {
  const input = multiline
    ? el('textarea', { id, rows: '4', maxlength: String(max), required: required || null })
    : el('input', { id, type, maxlength: String(max), required: required || null, autocomplete: type === 'email' ? 'email' : (type === 'tel' ? 'tel' : 'name') });
  return { input, node: el('label', { class: 'form-field', for: id }, [el('span', { text: label + (required ? ' *' : '') }), input]) };
}

export class Forms {
  // send(frame) -> bool; onDone(mode) after a form is through; keys: storage keys.
  constructor({ root, t, send, onDone, pendingKey, onNewChat = () => {} }) {
    this.root = root;
    this.onNewChat = onNewChat;
    this.dismissed = null;   // the conversation whose transcript offer the visitor is done with
    this.t = t;
    this.send = send;
    this.onDone = onDone;
    this.pendingKey = pendingKey;
    this.mode = null;
    this.email = '';
    this.waiting = null;     // ref awaiting its ok
  }

  // Whether the form stands in for the composer. The transcript's offer and
  // its thank-you do not: the visitor may write again (a new chat) at once.
  get open() { return this.mode !== null && this.mode !== 'transcript-offer' && this.mode !== 'transcript-thanks'; }

  hide() {
    this.mode = null;
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  error(text) {
    const p = this.root.querySelector('.form-error');
    if (p) { p.textContent = text; p.hidden = !text; }
  }

  frame(title, intro, fields, submitText, onSubmit, extra = []) {
    const err = el('p', { class: 'form-error', role: 'alert', hidden: true });
    const submit = el('button', { type: 'submit', class: 'form-submit', text: submitText });
    const form = el('form', { class: 'form-card', novalidate: true }, [
      el('div', { class: 'form-title', text: title }),
      intro ? el('p', { class: 'form-intro', text: intro }) : null,
      ...fields.map((f) => f.node), err, el('div', { class: 'form-actions' }, [...extra, submit]),
    ]);
    form.addEventListener('submit', (event) => { event.preventDefault(); onSubmit(); });
    this.root.replaceChildren(form);
    this.root.hidden = false;
    const first = form.querySelector('input, textarea, select');
    if (first) first.focus({ preventScroll: true });
  }

  // survey: {name, email, phone: off|optional|required, question, choices, question_required}
  showSurvey(survey) {
    this.mode = 'survey';
    const t = this.t;
    const fields = [];
    const want = {};
    for (const [key, label, type, max] of [['name', t('formName'), 'text', 100], ['email', t('formEmail'), 'email', 254], ['phone', t('formPhone'), 'tel', 32]]) {
      if (survey[key] === 'optional' || survey[key] === 'required') {
        want[key] = field(`survey-${key}`, label, { type, required: survey[key] === 'required', max });
        fields.push(want[key]);
      }
    }
    let choice = null;
    if (survey.question && Array.isArray(survey.choices) && survey.choices.length) {
      choice = el('select', { id: 'survey-answer' }, [el('option', { value: '', text: '—' }),
        ...survey.choices.filter((c) => typeof c === 'string').map((c) => el('option', { value: c, text: c }))]);
      fields.push({ node: el('label', { class: 'form-field', for: 'survey-answer' }, [el('span', { text: survey.question + (survey.question_required ? ' *' : '') }), choice]) });
    }
    this.frame(t('surveyTitle'), t('surveyIntro'), fields, t('surveyStart'), () => {
      const frame = { type: 'survey' };
      for (const [key, f] of Object.entries(want)) {
        const value = f.input.value.trim();
        if (!value && survey[key] === 'required') { this.error(t('formRequired')); f.input.focus(); return; }
        if (key === 'email' && value && !EMAIL_RE.test(value)) { this.error(t('formBadEmail')); f.input.focus(); return; }
        if (value) frame[key] = value;
      }
      if (choice) {
        if (!choice.value && survey.question_required) { this.error(t('formRequired')); choice.focus(); return; }
        if (choice.value) frame.answer = choice.value;
      }
      if (frame.email) this.email = frame.email;
      if (this.send(frame)) this.waiting = 'survey';
    });
  }

  // The offline form; a message typed here is kept until its ok, and sent
  // again with the same client id after a reconnect.
  showOffline(intro) {
    this.mode = 'offline';
    const t = this.t;
    const name = field('offline-name', t('formName'));
    const email = field('offline-email', t('formEmail'), { type: 'email', max: 254 });
    const phone = field('offline-phone', t('formPhone'), { type: 'tel', max: 32 });
    const text = field('offline-text', t('formMessage'), { required: true, max: 8192, multiline: true });
    email.input.value = this.email;
    this.frame(t('offlineTitle'), intro || t('offlineIntro'), [name, email, phone, text], t('offlineSend'), () => {
      const frame = { type: 'offline', client_id: `off-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}` };
      for (const [key, f] of [['name', name], ['email', email], ['phone', phone], ['text', text]]) {
        const value = f.input.value.trim();
        if (value) frame[key] = value;
      }
      if (!frame.text) { this.error(t('formRequired')); text.input.focus(); return; }
      if (!frame.email && !frame.phone) { this.error(t('formContact')); email.input.focus(); return; }
      if (frame.email && !EMAIL_RE.test(frame.email)) { this.error(t('formBadEmail')); email.input.focus(); return; }
      saveJSON(this.pendingKey, frame);
      if (this.send(frame)) this.waiting = 'offline';
    });
  }

  showTranscriptOffer(conversation) {
    this.mode = 'transcript-offer';
    this.offerFor = conversation;
    const t = this.t;
    const email = field('transcript-email', t('formEmail'), { type: 'email', max: 254 });
    email.input.value = this.email;
    this.frame(t('transcriptTitle'), '', [email], t('transcriptSend'), () => {
      const value = email.input.value.trim();
      if (!EMAIL_RE.test(value)) { this.error(t('formBadEmail')); email.input.focus(); return; }
      this.email = value;
      if (this.send({ type: 'transcript', conversation, email: value })) this.waiting = 'transcript';
    }, [el('button', { type: 'button', class: 'form-skip', text: t('formNoThanks'), onclick: () => { this.dismissed = conversation; this.hide(); } })]);
  }

  // onNewChat: a "start a new chat" button (the transcript's thank-you).
  thanks(text, onNewChat) {
    this.mode = onNewChat ? 'transcript-thanks' : 'thanks';
    const card = el('div', { class: 'form-card' }, [el('div', { class: 'form-title', text })]);
    if (onNewChat) {
      card.append(el('div', { class: 'form-actions' }, [el('button', {
        type: 'button', class: 'form-submit form-new-chat', text: this.t('newChat'),
        onclick: () => { this.dismissed = this.offerFor; this.hide(); onNewChat(); },
      })]));
    }
    this.root.replaceChildren(card);
    this.root.hidden = false;
  }

  // After every welcome: an offline message not yet acknowledged goes again.
  resend() {
    const pending = loadJSON(this.pendingKey, null);
    if (pending && pending.type === 'offline' && typeof pending.client_id === 'string' && this.send(pending)) this.waiting = 'offline';
  }

  // Returns true when the frame was a form's answer.
  handle(frame) {
    if (frame.type === 'ok' && ['survey', 'offline', 'transcript'].includes(frame.ref)) {
      this.waiting = null;
      if (frame.ref === 'offline') { remove(this.pendingKey); this.thanks(this.t('offlineThanks')); }
      else if (frame.ref === 'transcript') this.thanks(this.t('transcriptThanks'), () => this.onNewChat());
      else this.hide();
      this.onDone(frame.ref);
      return true;
    }
    if (frame.type === 'error' && this.waiting && (frame.ref === this.waiting || (this.waiting === 'offline' && typeof frame.ref === 'string' && frame.ref.startsWith('off-')))) {
      const which = this.waiting;
      this.waiting = null;
      if (which === 'offline' && !['unavailable', 'rate_limited', 'internal'].includes(frame.code)) remove(this.pendingKey);
      this.error(frame.code === 'bad_value' && /mail/.test(frame.message || '') ? this.t('formBadEmail')
        : frame.code === 'missing_field' ? this.t('formContact') : this.t('formFailed'));
      return true;
    }
    return false;
  }
}
