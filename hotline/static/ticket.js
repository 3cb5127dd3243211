/* The ticket page's shortcuts for dispatchers (shown on the page): D opens the 派单 form,
 * whose unit the routing rule has already chosen, with the focus on its button (Enter
 * dispatches); N goes to the next ticket of the dispatch queue. Keys typed into a field
 * are left alone. */
(function () {
  'use strict';
  var hints = document.getElementById('ticket-shortcuts');
  if (!hints) return;
  function typing(el) {
    return el && (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' ||
                  (el.tagName === 'INPUT' && ['checkbox', 'radio', 'submit', 'button'].indexOf(el.type) < 0));
  }
  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    if (e.key === 'd' || e.key === 'D') {
      var box = document.getElementById('action-dispatch');
      if (!box) return;
      e.preventDefault();
      box.open = true;
      var button = box.querySelector('form.action-dispatch button[type=submit]');
      if (button) { button.focus(); button.scrollIntoView({block: 'center'}); }
    } else if (e.key === 'n' || e.key === 'N') {
      e.preventDefault();
      window.location = hints.dataset.nextUrl;
    }
  });
})();
