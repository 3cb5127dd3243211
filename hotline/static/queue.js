/* The dispatcher's queue (/dispatch/queue) worked from the keyboard: J/↓ and K/↑ move
 * between tickets, Enter opens one, A dispatches it to the suggested unit, Space ticks it,
 * B dispatches every ticked ticket whose routing rule is certain. Keys typed into a field
 * are left alone. */
(function () {
  'use strict';
  var form = document.getElementById('queue-form');
  if (!form) return;
  var rows = Array.prototype.slice.call(form.querySelectorAll('tr.queue-row'));
  if (!rows.length) return;
  var rowInput = document.getElementById('queue-row');
  var table = form.querySelector('table');
  var current = Math.min(parseInt(table.dataset.focus || '0', 10) || 0, rows.length - 1);

  function go(i) {
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle('current', j === current); });
    rows[current].focus();
    rowInput.value = String(current);
  }

  function typing(el) {
    return el && (el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' ||
                  (el.tagName === 'INPUT' && el.type !== 'checkbox'));
  }

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) return;
    var row = rows[current];
    var inRow = document.activeElement && document.activeElement.closest && document.activeElement.closest('tr.queue-row');
    if (inRow) current = rows.indexOf(inRow);
    switch (e.key) {
      case 'j': case 'J': case 'ArrowDown': e.preventDefault(); go(current + 1); break;
      case 'k': case 'K': case 'ArrowUp': e.preventDefault(); go(current - 1); break;
      case 'Enter':
        if (document.activeElement === rows[current]) { e.preventDefault(); window.location = rows[current].dataset.href; }
        break;
      case ' ':
        if (document.activeElement === rows[current]) {
          e.preventDefault();
          var box = rows[current].querySelector('input[type=checkbox]');
          box.checked = !box.checked;
        }
        break;
      case 'a': case 'A':
        var accept = rows[current].querySelector('button.accept');
        if (accept) { e.preventDefault(); form.requestSubmit ? form.requestSubmit(accept) : accept.click(); }
        break;
      case 'b': case 'B':
        var batch = document.getElementById('batch-dispatch');
        if (batch) { e.preventDefault(); form.requestSubmit ? form.requestSubmit(batch) : batch.click(); }
        break;
      default:
        return;
    }
  });
  rows.forEach(function (r, j) { r.addEventListener('focus', function () { current = j; rowInput.value = String(j); }); });
  go(current);
})();
