// Response-limit warnings (docs/ROUTING.md "Response limit on an accepted
// chat"): a `response_overdue` frame says a chat's limit passed without my
// reply. Either it stays mine (nobody else was free: answer now) or it went
// to a colleague or back to the queue. Each shows as a line of the banner
// under the top bar, wherever the operator is looking, until they answer
// that chat (or it ends) or dismiss the line.

import { el } from '../widget/lib/ui.js';
import { t } from './i18n.js';

export class OverdueWarnings {
  /**
   * @param {object} o
   * @param {HTMLElement} o.root  the banner (hidden while empty)
   * @param {(id: string) => void} o.open  selects a chat
   * @param {(id: string) => string} o.label  how the console names a chat's visitor ('' if unknown)
   * @param {() => void} o.onWarn  a new warning arrived (sound, notification)
   */
  constructor({ root, open, label, onWarn }) {
    this.root = root;
    this.openChat = open;
    this.label = label;
    this.onWarn = onWarn;
    this.warnings = new Map(); // conversation id -> {limitS, escalated, who}
  }

  /** Takes a `response_overdue` frame; false for any other frame. */
  handle(frame) {
    if (!frame || frame.type !== 'response_overdue') return false;
    const conv = frame.conversation;
    if (!conv || typeof conv.id !== 'string') return true;
    const limitS = Number.isSafeInteger(frame.limit_s) ? frame.limit_s : 0;
    const who = (typeof conv.visitor_name === 'string' && conv.visitor_name) || this.label(conv.id) || '';
    this.warnings.set(conv.id, { limitS, escalated: frame.escalated === true, who });
    this.render();
    if (this.onWarn) this.onWarn(conv.id);
    return true;
  }

  /** I answered the chat, or it ended: its warning goes. */
  resolved(id) {
    if (this.warnings.delete(id)) this.render();
  }

  has(id) { return this.warnings.has(id); }

  clear() {
    this.warnings.clear();
    this.render();
  }

  render() {
    const lines = [];
    for (const [id, w] of this.warnings) {
      const text = t(w.escalated ? 'overdueEscalated' : 'overdueKept', { who: w.who || t('overdueVisitor'), n: w.limitS });
      const actions = [];
      if (!w.escalated) {
        actions.push(el('button', { type: 'button', class: 'primary small overdue-open', text: t('overdueOpen'), onclick: () => this.openChat(id) }));
      }
      actions.push(el('button', { type: 'button', class: 'overdue-dismiss ghost', text: t('dismiss'), onclick: () => this.resolved(id) }));
      lines.push(el('div', { class: `overdue-line${w.escalated ? ' escalated' : ''}`, 'data-conversation': id },
        [el('span', { class: 'overdue-text', text }), ...actions]));
    }
    this.root.replaceChildren(...lines);
    this.root.hidden = lines.length === 0;
  }
}
