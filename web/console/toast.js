// Notices about chats that are not (or no longer) on screen: "Boris took
// that chat", "The chat is now Boris's". They must be seen wherever the
// operator is looking (the list, another chat, the team chat, a phone's
// list screen), so they float over the workspace instead of living in a
// chat's composer, which is hidden when no chat is open. Text only.

import { el, icon, ICONS } from '../widget/lib/ui.js';

const SHOWN_MS = 6000;
const MAX_SHOWN = 3;

export class Toasts {
  // root: the element the notices are put in (position: absolute/fixed in CSS);
  // dismissLabel: the close button's label now (a function: the language may change).
  constructor(root, { dismissLabel = () => 'Dismiss' } = {}) {
    this.root = root;
    this.dismissLabel = dismissLabel;
  }

  show(text) {
    const label = this.dismissLabel();
    const close = el('button', { type: 'button', class: 'toast-close', 'aria-label': label, title: label });
    close.append(icon(ICONS.close, 16));
    const node = el('div', { class: 'toast', role: 'status' }, [el('span', { class: 'toast-text', text }), close]);
    const remove = () => { clearTimeout(timer); node.remove(); };
    const timer = setTimeout(remove, SHOWN_MS);
    close.addEventListener('click', remove);
    this.root.append(node);
    while (this.root.children.length > MAX_SHOWN) this.root.firstElementChild.remove();
    return node;
  }
}
