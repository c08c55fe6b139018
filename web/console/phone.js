// The console on a phone (at most 760 px wide, console.css): the chat list
// and an open chat (or the team chat) are two screens. The layout's
// `has-selection` class says which one is shown; this module gives the open
// screen a browser history entry, so the phone's own Back button (or the
// browser's) returns to the list like the back arrow in the chat header
// does, instead of leaving the console.

export const NARROW = '(max-width: 760px)';

export function phoneScreens(layout, goBack) {
  const narrow = window.matchMedia(NARROW);
  let pushed = false;      // our history entry for the open screen is on top
  let ignorePop = false;   // the popstate of our own history.back()
  let open = layout.classList.contains('has-selection');

  const update = () => {
    const now = layout.classList.contains('has-selection');
    if (now === open) return;
    open = now;
    if (open && narrow.matches && !pushed) {
      window.history.pushState({ besedaScreen: 'chat' }, '');
      pushed = true;
    } else if (!open && pushed) {
      // Left with the back arrow (or the chat went away): drop our entry.
      pushed = false;
      ignorePop = true;
      window.history.back();
    }
  };
  new MutationObserver(update).observe(layout, { attributes: true, attributeFilter: ['class'] });
  window.addEventListener('popstate', () => {
    if (ignorePop) { ignorePop = false; return; }
    if (!pushed) return;
    pushed = false;
    if (layout.classList.contains('has-selection')) goBack();
    // Back from the team chat opened over a chat shows that chat: still a screen.
    open = layout.classList.contains('has-selection');
    if (open && narrow.matches) {
      window.history.pushState({ besedaScreen: 'chat' }, '');
      pushed = true;
    }
  });
}
