// The pot page's live progress (services/web/src/live.rs): the total, the bar and the summary
// follow /p/{pot}/live; a status change reloads the page. Without EventSource nothing happens.
(function (c) {
  if (!window.EventSource) return;
  var es = new EventSource(c.url);
  function cfa(n) { return Number(n).toLocaleString(c.locale) + '\u00a0FCFA'; }
  function fill(t, v) { var i = 0; return t.replace(/\{\}/g, function () { return v[i++]; }); }
  es.addEventListener('progress', function (e) {
    var d = JSON.parse(e.data);
    if (d.status !== c.status) { es.close(); location.reload(); return; }
    document.getElementById('raised').textContent = cfa(d.raised_amount_cfa);
    var b = document.getElementById('bar');
    b.setAttribute('aria-valuenow', Math.floor(d.progress_percent));
    b.firstElementChild.style.width = d.progress_percent + '%';
    var s = document.getElementById('summary');
    s.textContent = fill(s.dataset.raisedOf, [cfa(d.raised_amount_cfa), cfa(d.target_amount_cfa)]) +
      ' \u2014 ' + fill(s.dataset.donors, [String(d.donor_count)]);
  });
  es.addEventListener('status', function () { es.close(); location.reload(); });
})(document.currentScript.dataset);
