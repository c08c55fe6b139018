/* beseda chat widget loader.
 *
 *   <script src="https://GATEWAY/widget.js" data-site="SITE_UUID" async></script>
 *
 * Runs inside the host page, so it is a classic script that touches as little
 * as possible: one launcher button and one iframe, styled through the CSSOM
 * (element.style), which works under any host Content-Security-Policy, unlike
 * an injected <style>. The chat itself lives in the iframe at the gateway's
 * origin, where the host page's CSS and scripts cannot reach it. The two
 * sides talk only by postMessage, and each checks who is talking: the loader
 * accepts messages only from its own iframe's window and the gateway origin;
 * the frame only from its parent window and the origin it was given.
 */
(function () {
  'use strict';

  if (window.__besedaWidget) return; // the snippet was pasted twice
  window.__besedaWidget = true;

  function findScript() {
    if (document.currentScript && document.currentScript.src) return document.currentScript;
    // async scripts may not have currentScript in old engines: find ours by src.
    var list = document.querySelectorAll('script[src][data-site]');
    for (var i = list.length - 1; i >= 0; i--) {
      if (/\/widget\.js(\?|#|$)/.test(list[i].src)) return list[i];
    }
    return null;
  }

  var script = findScript();
  if (!script) { console.error('beseda: cannot find the widget <script> tag'); return; }
  var site = script.getAttribute('data-site') || '';
  if (!/^[0-9A-Za-z-]{1,64}$/.test(site)) { console.error('beseda: data-site is missing or invalid'); return; }
  var gateway;
  try { gateway = new URL(script.src, window.location.href).origin; } catch (e) { return; }

  var Z = '2147483000';
  var ACCENT = script.getAttribute('data-color') || '#2f6fed';
  var ON_ACCENT = lightHex(ACCENT) ? '#1b2330' : '#fff';
  var lang = script.getAttribute('data-lang') || document.documentElement.lang || navigator.language || 'en';
  var narrowQuery = window.matchMedia ? window.matchMedia('(max-width: 480px)') : null;
  var state = { open: false, unread: 0 };

  // Whether a #rgb / #rrggbb colour is light (dark text on it then, as in the frame).
  function lightHex(color) {
    var m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
    if (!m) return false;
    var h = m[1].length === 3 ? m[1].replace(/(.)/g, '$1$1') : m[1];
    var lum = 0;
    var weights = [0.2126, 0.7152, 0.0722];
    for (var i = 0; i < 3; i++) {
      var c = parseInt(h.substr(i * 2, 2), 16) / 255;
      lum += weights[i] * (c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    }
    return lum > 0.45;
  }

  function css(node, styles) {
    for (var k in styles) if (Object.prototype.hasOwnProperty.call(styles, k)) node.style.setProperty(k, styles[k]);
  }

  function svgIcon(paths) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '28');
    svg.setAttribute('height', '28');
    svg.setAttribute('fill', 'none');
    svg.setAttribute('stroke', 'currentColor');
    svg.setAttribute('stroke-width', '2');
    svg.setAttribute('stroke-linecap', 'round');
    svg.setAttribute('stroke-linejoin', 'round');
    svg.setAttribute('aria-hidden', 'true');
    for (var i = 0; i < paths.length; i++) {
      var p = document.createElementNS(ns, 'path');
      p.setAttribute('d', paths[i]);
      svg.appendChild(p);
    }
    return svg;
  }

  // --- the page info handed to the frame (in the URL hash: never sent to a server by the browser)
  function pageInfo() {
    var info = {
      origin: window.location.origin,
      url: window.location.href,
      title: document.title || '',
      referrer: document.referrer || '',
      lang: lang
    };
    // The chat window takes the button's colour too (header, bubbles, buttons).
    if (script.getAttribute('data-color')) info.color = ACCENT;
    return info;
  }

  function frameUrl() {
    var params = new URLSearchParams(pageInfo());
    return gateway + '/widget/frame.html?site=' + encodeURIComponent(site) + '#' + params.toString();
  }

  // --- launcher button
  var button = document.createElement('button');
  button.type = 'button';
  button.id = 'beseda-launcher';
  button.setAttribute('aria-label', /^ru/i.test(lang) ? 'Открыть чат' : 'Open chat');
  button.setAttribute('aria-expanded', 'false');
  var chatIcon = svgIcon(['M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z']);
  var closeIcon = svgIcon(['M18 6 6 18', 'M6 6l12 12']);
  css(closeIcon, { display: 'none' });
  button.appendChild(chatIcon);
  button.appendChild(closeIcon);
  css(button, {
    position: 'fixed', right: '20px', bottom: '20px', width: '60px', height: '60px',
    'border-radius': '50%', border: '0', margin: '0', padding: '0', cursor: 'pointer',
    background: ACCENT, color: ON_ACCENT, display: 'flex', 'align-items': 'center',
    'justify-content': 'center', 'box-shadow': '0 6px 24px rgba(15, 23, 42, .28)',
    'z-index': Z, transition: 'transform .15s ease, box-shadow .15s ease', outline: 'none'
  });
  button.addEventListener('mouseenter', function () { css(button, { transform: 'scale(1.06)' }); });
  button.addEventListener('mouseleave', function () { css(button, { transform: 'none' }); });
  button.addEventListener('focus', function () { css(button, { 'box-shadow': '0 0 0 4px rgba(47,111,237,.35), 0 6px 24px rgba(15,23,42,.28)' }); });
  button.addEventListener('blur', function () { css(button, { 'box-shadow': '0 6px 24px rgba(15, 23, 42, .28)' }); });

  var badge = document.createElement('span');
  badge.id = 'beseda-badge';
  css(badge, {
    position: 'absolute', top: '-2px', right: '-2px', 'min-width': '20px', height: '20px',
    padding: '0 6px', 'box-sizing': 'border-box', 'border-radius': '10px', background: '#e5484d',
    color: '#fff', font: '600 12px/20px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    'text-align': 'center', display: 'none', border: '2px solid #fff'
  });
  button.appendChild(badge);

  // --- the chat frame
  var frame = document.createElement('iframe');
  frame.id = 'beseda-frame';
  frame.title = /^ru/i.test(lang) ? 'Чат' : 'Chat';
  frame.src = frameUrl();
  frame.setAttribute('allow', 'clipboard-write');
  css(frame, {
    position: 'fixed', border: '0', margin: '0', padding: '0', background: 'transparent',
    'color-scheme': 'normal', 'z-index': Z, display: 'none'
  });

  function layout() {
    var narrow = narrowQuery ? narrowQuery.matches : window.innerWidth <= 480;
    if (narrow) {
      // Phones: the chat takes the whole screen; the button would cover the input.
      css(frame, {
        top: '0', left: '0', right: '0', bottom: '0', width: '100%', height: '100%',
        'max-height': 'none', 'border-radius': '0', 'box-shadow': 'none'
      });
      css(button, { display: state.open ? 'none' : 'flex' });
    } else {
      css(frame, {
        top: 'auto', left: 'auto', right: '20px', bottom: '92px', width: '380px',
        height: '600px', 'max-height': 'calc(100% - 112px)', 'border-radius': '16px',
        'box-shadow': '0 12px 48px rgba(15, 23, 42, .25)'
      });
      css(button, { display: 'flex' });
    }
    css(frame, { display: state.open ? 'block' : 'none' });
    css(chatIcon, { display: state.open ? 'none' : 'block' });
    css(closeIcon, { display: state.open ? 'block' : 'none' });
    badge.textContent = state.unread > 99 ? '99+' : String(state.unread);
    css(badge, { display: state.unread > 0 && !state.open ? 'block' : 'none' });
    button.setAttribute('aria-expanded', state.open ? 'true' : 'false');
  }

  function post(message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(message, gateway);
  }

  function setOpen(open, tellFrame) {
    state.open = open;
    if (open) state.unread = 0;
    layout();
    if (tellFrame) post({ type: open ? 'beseda:open' : 'beseda:close' });
  }

  button.addEventListener('click', function () { setOpen(!state.open, true); });

  window.addEventListener('message', function (event) {
    if (event.origin !== gateway || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
    if (data.type === 'beseda:ready') {
      // The frame remembers whether the chat was open (across page loads).
      if (data.open === true && !state.open) setOpen(true, true);
      else post({ type: state.open ? 'beseda:open' : 'beseda:close' });
    } else if (data.type === 'beseda:close') {
      setOpen(false, false);
      button.focus();
    } else if (data.type === 'beseda:open') {
      setOpen(true, false);
    } else if (data.type === 'beseda:unread') {
      var n = Number(data.count);
      state.unread = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
      layout();
    }
  });

  if (narrowQuery && narrowQuery.addEventListener) narrowQuery.addEventListener('change', layout);
  else window.addEventListener('resize', layout);

  function mount() {
    document.body.appendChild(frame);
    document.body.appendChild(button);
    layout();
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
