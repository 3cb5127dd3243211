/* The intake page (受理来电): the operator's call is never lost.
 *
 * - The form is kept as a draft in this tab's sessionStorage as it is typed, so a reload
 *   (or F5, or a crash of the page) brings it back; it is cleared once the call is saved
 *   (the page then shows "上一张").
 * - F2 (a new call) and every link away from a half-filled form ask first, in the page;
 *   closing or reloading the tab asks through the browser (beforeunload).
 * - Defaults: choosing a category fills the request type its tickets mostly have, typing
 *   the address fills the district it names (only fields still empty; /intake/defaults).
 * - Ctrl+Enter saves (保存并转派单).
 */
(function () {
  'use strict';
  var form = document.getElementById('intake-form');
  if (!form) return;
  var KEY = 'hotline.intake.draft:' + (form.dataset.draftOwner || '');
  var SKIP = {csrf_token: 1, attachments: 1};
  var dirty = false;
  var leaving = false;

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !SKIP[el.name] && el.type !== 'submit' && el.type !== 'file' && el.type !== 'button';
    });
  }

  function read() {
    var data = {};
    fields().forEach(function (el) {
      data[el.name] = (el.type === 'checkbox' || el.type === 'radio') ? el.checked : el.value;
    });
    return data;
  }

  function filled(data) {  // typed anything a caller said (not just the preset selects)
    return ['caller_phone', 'caller_name', 'address', 'title', 'content', 'answer', 'ending_note']
      .some(function (k) { return data[k] && String(data[k]).trim(); });
  }

  function store() {
    var data = read();
    dirty = filled(data);
    try {
      if (dirty) sessionStorage.setItem(KEY, JSON.stringify(data));
      else sessionStorage.removeItem(KEY);
    } catch (e) { /* storage full or off: the confirmations still guard the call */ }
  }

  function clear() {
    dirty = false;
    try { sessionStorage.removeItem(KEY); } catch (e) { /* ignore */ }
  }

  function restore() {
    var raw;
    try { raw = sessionStorage.getItem(KEY); } catch (e) { return; }
    if (!raw) return;
    var data;
    try { data = JSON.parse(raw); } catch (e) { clear(); return; }
    fields().forEach(function (el) {
      if (!(el.name in data)) return;
      if (el.type === 'checkbox' || el.type === 'radio') el.checked = !!data[el.name];
      else el.value = data[el.name];
    });
    dirty = filled(data);
    var note = document.getElementById('draft-restored');
    if (note) {
      note.hidden = false;
      note.querySelector('button').addEventListener('click', function () {
        clear();
        leaving = true;
        window.location.reload();
      });
    }
  }

  // --- the in-page confirmation ---------------------------------------------------------
  var dialog = document.getElementById('leave-dialog');
  var pending = null;
  function ask(go) {
    if (!dialog || typeof dialog.showModal !== 'function') {
      if (window.confirm('当前来电尚未保存，确定放弃并离开吗？')) go();
      return;
    }
    pending = go;
    dialog.showModal();
    document.getElementById('leave-stay').focus();
  }
  if (dialog) {
    document.getElementById('leave-stay').addEventListener('click', function () { pending = null; dialog.close(); });
    document.getElementById('leave-go').addEventListener('click', function () {
      var go = pending;
      pending = null;
      dialog.close();
      clear();
      leaving = true;
      if (go) go();
    });
  }

  // --- events -----------------------------------------------------------------------------
  // Saved: the draft goes. A page the server filled (its errors, or a phone from the
  // telephony screen pop) keeps its own values and becomes the draft. Otherwise the draft
  // of this tab, if any, comes back.
  if (document.getElementById('last-ticket') && !form.querySelector('[aria-invalid="true"]')) clear();
  if (form.querySelector('[aria-invalid="true"]') || filled(read())) store();
  else restore();
  form.addEventListener('input', store);
  form.addEventListener('change', store);
  form.addEventListener('submit', function () { leaving = true; });

  // F2 = a new call. Caught before the page-wide handler (capture on window).
  window.addEventListener('keydown', function (e) {
    if (e.key === 'F2' && dirty) {
      e.preventDefault();
      e.stopImmediatePropagation();
      ask(function () { window.location = form.dataset.newUrl || window.location.pathname; });
    } else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && form.contains(document.activeElement)) {
      e.preventDefault();
      var save = document.getElementById('save');
      if (save) { leaving = true; form.requestSubmit ? form.requestSubmit(save) : save.click(); }
    }
  }, true);

  // Links away from a half-filled form ask in the page first.
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (!a || !dirty || form.contains(a) || a.target === '_blank' || a.getAttribute('href').charAt(0) === '#') return;
    e.preventDefault();
    ask(function () { window.location = a.href; });
  });
  window.addEventListener('beforeunload', function (e) {
    if (dirty && !leaving) { e.preventDefault(); e.returnValue = ''; }
  });

  // --- defaults: request type from the category, district from the address -------------
  var rtype = document.getElementById('request_type');
  var district = document.getElementById('district_id');
  var category = document.getElementById('category_id');
  var address = document.getElementById('address');
  var hint = document.getElementById('defaults-hint');
  function open(el) { return !el.value || el.dataset.auto === '1'; }  // empty, or our own default
  [rtype, district].forEach(function (el) {
    if (el) el.addEventListener('change', function (e) { if (e.isTrusted) delete el.dataset.auto; });
  });
  function suggestDefaults() {
    if (!form.dataset.defaultsUrl || !(open(rtype) || open(district))) return;
    var q = new URLSearchParams({category_id: category.value || '', address: address.value || ''});
    fetch(form.dataset.defaultsUrl + '?' + q, {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (d) {
        var said = [];
        if (d.request_type && open(rtype)) { rtype.value = d.request_type; rtype.dataset.auto = '1'; said.push('诉求类型：' + d.request_type_label + '（按分类常见类型）'); }
        if (d.district_id && open(district)) { district.value = String(d.district_id); district.dataset.auto = '1'; said.push('所属区县：' + d.district_name + '（按地址）'); }
        if (said.length) { store(); if (hint) hint.textContent = '已自动填入 ' + said.join('；') + '，可修改。'; }
      })
      .catch(function () { /* the defaults are a convenience */ });
  }
  if (category) category.addEventListener('change', suggestDefaults);
  if (address) address.addEventListener('change', suggestDefaults);
  // the category filter picks the first match without a change event
  var filter = document.getElementById('category-filter');
  if (filter) filter.addEventListener('input', function () { window.setTimeout(suggestDefaults, 0); });
})();
