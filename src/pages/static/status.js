// The status page's search box filters the systems table as one types; without JavaScript
// the same box submits ?q= and the server filters.
(function () {
  'use strict';
  var box = document.getElementById('q');
  var table = document.getElementById('systems');
  if (!box || !table) return;
  var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
  var count = document.getElementById('shown');
  function filter() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    if (count) count.textContent = String(shown);
  }
  box.addEventListener('input', filter);
})();
