// Behaviour shared by every page (no inline script: the Content-Security-Policy allows
// scripts from this site only).
(function () {
  // Copy buttons: <button data-copy="text">
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-copy]');
    if (!b || !navigator.clipboard) return;
    navigator.clipboard.writeText(b.dataset.copy).then(function () { b.textContent = '已复制'; });
  });

  // Forms that ask before they are sent: <form data-confirm="question">
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) e.preventDefault();
  }, true);

  // 不予受理: show the words to read out for the chosen reason only.
  // <dl data-reason-select="select name"> beside the select, with [data-reason] items.
  Array.prototype.forEach.call(document.querySelectorAll('[data-reason-select]'), function (box) {
    var select = box.parentNode.querySelector('select[name="' + box.dataset.reasonSelect + '"]');
    if (!select) return;
    function show() {
      Array.prototype.forEach.call(box.querySelectorAll('[data-reason]'), function (el) {
        el.hidden = !!select.value && el.dataset.reason !== select.value;
      });
    }
    select.addEventListener('change', show);
    show();
  });

  // Uploads: refuse files over the server's limit before sending (the server refuses them
  // too, with a 413 page), and keep what was typed so that page can bring it back.
  var meta = document.querySelector('meta[name="upload-limit"]');
  var limit = meta ? parseInt(meta.content, 10) : 0;
  var DRAFT = 'hotline.draft:', RESTORE = 'hotline.restore';

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !/^(hidden|file|password|submit|button)$/.test(el.type) && el.name !== 'csrf_token';
    });
  }
  function draftKey(form) { return DRAFT + location.pathname + '|' + (form.getAttribute('action') || ''); }

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (e.defaultPrevented || (form.enctype || '').indexOf('multipart') < 0) return;
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll('input[type=file]'), function (input) {
      Array.prototype.forEach.call(input.files || [], function (f) { total += f.size; });
    });
    var old = form.querySelector('.upload-too-large');
    if (old) old.remove();
    if (limit && total > limit) {
      e.preventDefault();
      var p = document.createElement('p');
      p.className = 'field-error upload-too-large';
      p.setAttribute('role', 'alert');
      p.textContent = '所选附件共 ' + (total / 1048576).toFixed(1) + ' MB，超过上限 ' +
        Math.floor(limit / 1048576) + ' MB，请压缩或减少附件后再提交（已填写的内容保留）。';
      form.insertBefore(p, form.firstChild);
      return;
    }
    try {
      var values = {};
      fields(form).forEach(function (el) {
        if (el.type === 'checkbox' || el.type === 'radio') { if (el.checked) (values[el.name] = values[el.name] || []).push(el.value); }
        else if (el.multiple) values[el.name] = Array.prototype.map.call(el.selectedOptions, function (o) { return o.value; });
        else values[el.name] = el.value;
      });
      sessionStorage.setItem(draftKey(form), JSON.stringify(values));
    } catch (err) { /* storage full or off: nothing to keep */ }
  });

  // The 413 page marks that the form's input should come back on the form page.
  if (document.querySelector('[data-restore-draft]')) {
    try { sessionStorage.setItem(RESTORE, '1'); } catch (err) { /* ignore */ }
  } else {
    var restore = null;
    try { restore = sessionStorage.getItem(RESTORE); } catch (err) { /* ignore */ }
    if (restore) {
      sessionStorage.removeItem(RESTORE);
      Array.prototype.forEach.call(document.querySelectorAll('form'), function (form) {
        var raw = sessionStorage.getItem(draftKey(form));
        if (!raw) return;
        sessionStorage.removeItem(draftKey(form));
        var values = JSON.parse(raw);
        fields(form).forEach(function (el) {
          if (!(el.name in values)) return;
          var v = values[el.name];
          if (el.type === 'checkbox' || el.type === 'radio') el.checked = v.indexOf(el.value) >= 0;
          else if (el.multiple) Array.prototype.forEach.call(el.options, function (o) { o.selected = v.indexOf(o.value) >= 0; });
          else el.value = v;
        });
      });
    }
  }
})();
