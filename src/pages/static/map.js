// The panel map: a tooltip on hover, focus or tap, and a refresh from the JSON endpoint. Data
// is only ever written with textContent and setAttribute, never as HTML.
(function () {
  'use strict';
  var map = document.getElementById('map');
  if (!map) return;
  var svg = map.querySelector('svg');
  var tip = document.getElementById('tip');
  var api = map.getAttribute('data-api');
  // The server's pace: seconds while a local source feeds the panels, else the cloud's.
  function pace(seconds) { return Math.max(1, Number(seconds) || 30) * 1000; }
  var every = pace(map.getAttribute('data-refresh'));
  var pinned = null;

  // The panel whose tooltip stays open (tap or click; again or elsewhere to close).
  function pin(panel) {
    if (pinned) pinned.classList.remove('pinned');
    pinned = panel;
    if (pinned) pinned.classList.add('pinned');
  }

  function panelOf(node) {
    while (node && node !== svg) {
      if (node.getAttribute && node.hasAttribute('data-object-id')) return node;
      node = node.parentNode;
    }
    return null;
  }
  function showTip(panel, x, y) {
    var title = panel.querySelector('title');
    var lines = (title ? title.textContent : '').split('\n');
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    lines.forEach(function (line) {
      var div = document.createElement('div');
      div.textContent = line;
      tip.appendChild(div);
    });
    tip.hidden = false;
    var box = map.getBoundingClientRect();
    var left = x - box.left + 14, top = y - box.top + 14;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, x - box.left - tip.offsetWidth - 14);
    if (top + tip.offsetHeight > box.height) top = Math.max(0, y - box.top - tip.offsetHeight - 14);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  }
  function hideTip() {
    tip.hidden = true;
  }
  if (svg && tip) {
    svg.addEventListener('mousemove', function (ev) {
      if (pinned) return;
      var p = panelOf(ev.target);
      if (p) showTip(p, ev.clientX, ev.clientY); else hideTip();
    });
    svg.addEventListener('mouseleave', function () { if (!pinned) hideTip(); });
    svg.addEventListener('click', function (ev) {
      var p = panelOf(ev.target);
      pin(p && p !== pinned ? p : null);
      if (pinned) showTip(pinned, ev.clientX, ev.clientY); else hideTip();
    });
    svg.addEventListener('focusin', function (ev) {
      var p = panelOf(ev.target);
      if (!p) return;
      var r = p.getBoundingClientRect();
      showTip(p, r.right, r.top);
    });
    svg.addEventListener('focusout', function () { if (!pinned) hideTip(); });
  }

  // #panel-<object id> pins that panel's tooltip: a link to one panel (from an alert, say). No
  // element has that id, so the page does not scroll away from the map.
  function pinFromHash() {
    var m = /^#panel-(\d+)$/.exec(window.location.hash);
    var g = m && svg ? svg.querySelector('[data-object-id="' + m[1] + '"]') : null;
    if (!g || !tip) return;
    pin(g);
    var r = g.getBoundingClientRect();
    showTip(g, r.right, r.top);
  }
  pinFromHash();
  window.addEventListener('hashchange', pinFromHash);

  function setText(field, text) {
    var nodes = document.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = text;
  }
  function apply(doc) {
    var missing = false;
    (doc.panels || []).forEach(function (p) {
      var id = String(Number(p.id));
      var g = svg ? svg.querySelector('[data-object-id="' + id + '"]') : null;
      if (!g) { missing = true; return; }
      g.setAttribute('data-state', p.state);
      g.setAttribute('class', 'panel s-' + p.state + (p.stale ? ' stale' : '') +
                     (g === pinned ? ' pinned' : ''));
      if (p.pin === null || p.pin === undefined) g.removeAttribute('data-pin');
      else g.setAttribute('data-pin', String(p.pin));
      g.setAttribute('data-sample', p.sample || '');
      g.setAttribute('data-source', p.source || 'cloud');
      var title = g.querySelector('title');
      if (title) title.textContent = p.tip;
      var bar = g.querySelector('.bar');
      var body = g.querySelector('.pb');
      if (bar && body) {
        var h = Number(body.getAttribute('height')), y0 = Number(body.getAttribute('y'));
        var bh = Math.max(0, Math.min(1, Number(p.bar) || 0)) * (h - 4);
        bar.setAttribute('height', bh.toFixed(1));
        bar.setAttribute('y', (y0 + h - 2 - bh).toFixed(1));
      }
      var row = document.querySelector('tr[data-row-id="' + id + '"]');
      if (row) {
        row.setAttribute('data-state', p.state);
        var cells = row.querySelectorAll('td');
        (p.cells || []).forEach(function (text, i) {
          var td = cells[cells.length - p.cells.length + i];
          if (td) td.textContent = text;
        });
      }
    });
    Object.keys(doc.fields || {}).forEach(function (k) { setText(k, doc.fields[k]); });
    var banners = document.getElementById('banners');
    if (banners) {
      while (banners.firstChild) banners.removeChild(banners.firstChild);
      (doc.banners || []).forEach(function (b) {
        var p = document.createElement('p');
        p.className = 'banner ' + (b.level === 'bad' || b.level === 'info' ? b.level : 'warn');
        p.textContent = b.text;
        banners.appendChild(p);
      });
    }
    map.setAttribute('data-generation', String(doc.generation));
    if (doc.refresh) {
      every = pace(doc.refresh);
      map.setAttribute('data-refresh', String(doc.refresh));
    }
    if (pinned) showTip(pinned, pinned.getBoundingClientRect().right, pinned.getBoundingClientRect().top);
    // A panel the page does not draw: the layout changed, draw it anew.
    if (missing) window.location.reload();
  }
  function tick() {
    fetch(api, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (doc) {
        apply(doc);
        map.setAttribute('data-refreshed', new Date().toISOString());
        setText('refresh', 'updated ' + new Date().toLocaleTimeString());
      })
      .catch(function (e) { setText('refresh', 'refresh failed: ' + e.message); })
      .then(function () { setTimeout(tick, every); });
  }
  if (api && window.fetch) tick();
})();
