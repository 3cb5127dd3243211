/* Every page: forms that help when something is wrong, and the top bar's menu button.
 *
 * A form the server sent back with errors has its wrong fields marked aria-invalid="true",
 * each naming its message beside it (aria-describedby). Here an error summary is put at the
 * top of that form: a list of links, one per wrong field, each moving the focus to its field.
 * One wrong field: the focus goes straight to it (its message is read with it); several:
 * the summary takes the focus, so the whole list is read first.
 */
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  function labelOf(el) {
    if (el.tagName === 'FIELDSET') {
      var legend = el.querySelector('legend');
      return legend ? legend.textContent.trim() : '';
    }
    var label = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest('label');
    if (label) {
      for (var i = 0; i < label.childNodes.length; i++) {
        var n = label.childNodes[i];
        if (n.nodeType === 3 && n.textContent.trim()) return n.textContent.trim();
      }
    }
    return el.getAttribute('aria-label') || el.name || '';
  }

  function focusable(el) {
    return el.tagName === 'FIELDSET' ? (el.querySelector('input:checked') || el.querySelector('input')) : el;
  }

  function reveal(el) {
    for (var d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) d.open = true;
  }

  function focusField(el) {
    var target = focusable(el);
    if (!target) return;
    reveal(target);
    target.focus();
    if (target.scrollIntoView) target.scrollIntoView({block: 'center'});
  }

  var summaries = 0;
  function summarise(form) {
    var wrong = Array.prototype.filter.call(form.querySelectorAll('[aria-invalid="true"]'), function (el) {
      return el.type !== 'hidden';
    });
    if (!wrong.length) return null;
    summaries += 1;
    var box = document.createElement('div');
    box.className = 'error-summary';
    box.setAttribute('role', 'alert');
    box.tabIndex = -1;
    var head = document.createElement('h2');
    head.id = 'error-summary-title-' + summaries;
    head.textContent = '有 ' + wrong.length + ' 处需要修改';
    box.setAttribute('aria-labelledby', head.id);
    box.appendChild(head);
    var list = document.createElement('ul');
    wrong.forEach(function (el) {
      var message = document.getElementById((el.getAttribute('aria-describedby') || '').split(' ').pop());
      var a = document.createElement('a');
      a.href = '#' + (focusable(el) || el).id;
      a.textContent = labelOf(el) + '：' + (message ? message.textContent.trim() : '请检查');
      a.addEventListener('click', function (e) { e.preventDefault(); focusField(el); });
      var li = document.createElement('li');
      li.appendChild(a);
      list.appendChild(li);
    });
    box.appendChild(list);
    var first = Array.prototype.find.call(form.children, function (c) {
      return !(c.tagName === 'INPUT' && c.type === 'hidden');
    });
    form.insertBefore(box, first || null);
    reveal(box);
    return {box: box, wrong: wrong};
  }

  function init() {
    var found = null;
    Array.prototype.forEach.call(document.querySelectorAll('form'), function (form) {
      var s = summarise(form);
      if (s && !found) found = s;
    });
    if (found) {
      if (found.wrong.length === 1) focusField(found.wrong[0]);
      else found.box.focus();
    }
    // the top bar's menu (narrow windows and zoom): a button that shows or hides the links
    var toggle = document.getElementById('menu-toggle');
    if (toggle) {
      toggle.addEventListener('click', function () {
        var open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
        document.querySelector('header.topbar').classList.toggle('menu-open', open);
      });
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
