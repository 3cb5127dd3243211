// The intake page's lookups: caller history by phone, category filter, knowledge-base search and the
// 不予受理 answer words (moved out of the template: the CSP allows no inline script).
(function () {
  var me = document.currentScript;
  var callerUrl = me.dataset.callerUrl, kbUrl = me.dataset.kbUrl;
  var phone = document.getElementById('caller_phone');
  var panel = document.getElementById('caller-panel');
  function lookup() {
    var p = phone.value.trim();
    if (p.length < 5) return;
    var q = new URLSearchParams({phone: p, address: document.getElementById('address').value,
                                 category_id: document.getElementById('category_id').value});
    fetch(callerUrl + '?' + q).then(function (r) { return r.text(); })
      .then(function (html) { panel.innerHTML = html; });
  }
  phone.addEventListener('change', lookup);
  phone.addEventListener('blur', lookup);
  var filter = document.getElementById('category-filter');
  var select = document.getElementById('category_id');
  filter.addEventListener('input', function () {
    var q = filter.value.trim();
    var first = null;
    Array.prototype.forEach.call(select.options, function (o) {
      var show = !q || o.text.indexOf(q) >= 0;
      o.hidden = !show;
      if (show && o.value && !first) first = o;
    });
    if (first && q) select.value = first.value;
  });
  function kb() {
    fetch(kbUrl + '?q=' + encodeURIComponent(document.getElementById('kb-query').value))
      .then(function (r) { return r.text(); })
      .then(function (html) { document.getElementById('kb-results').innerHTML = html; });
  }
  document.getElementById('kb-search').addEventListener('click', kb);
  // 不予受理: the words to read out for the chosen reason only
  var reason = document.getElementById('refusal_reason');
  function showScript() {
    Array.prototype.forEach.call(document.querySelectorAll('#refusal-scripts [data-reason]'), function (el) {
      el.hidden = !!reason.value && el.dataset.reason !== reason.value;
    });
  }
  reason.addEventListener('change', showScript);
  showScript();
  document.getElementById('kb-results').addEventListener('click', function (e) {
    var b = e.target.closest('[data-kb-id]');
    if (!b) return;
    document.getElementById('kb_article_id').value = b.dataset.kbId;
    document.getElementById('answer').value = b.dataset.kbBody;
  });
})();
