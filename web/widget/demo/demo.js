// Adds the widget snippet exactly as a site owner would paste it, with the
// site id taken from this page's ?site= (the page is a demo for any site).
(function () {
  'use strict';
  var site = new URLSearchParams(window.location.search).get('site') || '';
  if (!/^[0-9A-Za-z-]{1,64}$/.test(site)) {
    var note = document.getElementById('demo-note');
    note.textContent = 'Add ?site=<site uuid> to the address to load the chat widget.';
    note.hidden = false;
    return;
  }
  var s = document.createElement('script');
  s.src = '/widget.js';
  s.async = true;
  s.setAttribute('data-site', site);
  document.body.appendChild(s);
})();
