// The entity page's neighbourhood graph: a small self-contained force layout drawn in SVG.
// Data comes from the page's JSON endpoint (div#graph[data-src]); names are set with
// textContent, never as HTML (and no eval or inline script: the CSP forbids them).
//
// Readable at scale: nodes are coloured by label (organisations by kind) with a legend, links
// carry their type's name, a hub shows its first page of neighbours with "show N more", a node
// is expanded in place (its own neighbours join the drawing; double-click or the "+" button),
// and checkboxes filter by relationship type. Clicking a node opens its page.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var box = document.getElementById("graph");
  if (!box) { return; }
  var src = box.getAttribute("data-src");
  var T = {
    more: box.getAttribute("data-more") || "+ {n}",
    expand: box.getAttribute("data-expand") || "+",
    empty: box.getAttribute("data-empty") || ""
  };

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function html(name, attrs, parent, text) {
    var e = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function colourKey(n) { return n.label === "Organization" && n.kind ? "kind-" + n.kind : "label-" + n.label; }

  var width = box.clientWidth || 600, height = Math.max(360, Math.min(560, width * 0.72));
  var nodes = [], links = [], byId = {}, linkKeys = {};
  var hiddenTypes = {}, typeNames = {}, legendNames = {};
  var pages = {};  // node id -> next offset when it has more neighbours
  var svg, linkLayer, labelLayer, nodeLayer, controls, legend, filters, alpha = 1, running = false;

  function nodeUrl(id, offset) {
    // data-node-src holds the endpoint with __ID__ for any node (the console's drawing has none)
    var tpl = box.getAttribute("data-node-src");
    if (!tpl) { return null; }
    var u = tpl.replace("__ID__", encodeURIComponent(id));
    return u + (u.indexOf("?") < 0 ? "?" : "&") + "offset=" + (offset || 0);
  }

  function setup() {
    box.textContent = "";
    controls = html("div", { "class": "graph-controls" }, box);
    filters = html("div", { "class": "graph-filters", id: "graph-filters" }, controls);
    legend = html("div", { "class": "graph-legend", id: "graph-legend" }, controls);
    svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height, role: "img" }, box);
    linkLayer = el("g", { "class": "links" }, svg);
    labelLayer = el("g", { "class": "link-labels" }, svg);
    nodeLayer = el("g", { "class": "nodes" }, svg);
  }

  function merge(data, around) {
    var cx = around ? around.x : width / 2, cy = around ? around.y : height / 2;
    var added = 0;
    data.nodes.forEach(function (n, i) {
      if (byId[n.id]) { return; }
      var angle = (2 * Math.PI * (i + nodes.length)) / Math.max(6, data.nodes.length);
      var r = around ? 60 : Math.min(width, height) * 0.3;
      var node = { id: n.id, name: n.name, label: n.label, kind: n.kind, center: n.center && !around,
        x: n.center && !around ? cx : cx + Math.cos(angle) * r, y: n.center && !around ? cy : cy + Math.sin(angle) * r,
        vx: 0, vy: 0, fixed: false, expanded: false };
      legendNames[colourKey(node)] = n.label === "Organization" && n.kind ? (box.getAttribute("data-kind-" + n.kind) || n.kind) : n.label_name || n.label;
      byId[n.id] = node; nodes.push(node); added++;
      drawNode(node);
    });
    data.links.forEach(function (l) {
      var key = l.source + "|" + l.type + "|" + l.target;
      if (linkKeys[key] || !byId[l.source] || !byId[l.target]) { return; }
      linkKeys[key] = true;
      typeNames[l.type] = l.type_name || l.type;
      var link = { s: byId[l.source], t: byId[l.target], type: l.type, name: l.type_name || l.type };
      links.push(link);
      drawLink(link);
    });
    return added;
  }

  function drawLink(l) {
    l.line = el("line", { "class": "link type-" + l.type }, linkLayer);
    el("title", {}, l.line).textContent = l.name;
    l.label = el("text", { "class": "link-label type-" + l.type }, labelLayer);
    l.label.textContent = l.name;
  }

  function drawNode(n) {
    n.g = el("g", { "class": "node label-" + n.label + " " + colourKey(n) + (n.center ? " center" : ""), tabindex: "0",
      "data-id": n.id }, nodeLayer);
    el("circle", { r: n.center ? 11 : 7 }, n.g);
    var text = el("text", { x: 10, y: 4 }, n.g);
    text.textContent = n.name.length > 18 ? n.name.slice(0, 17) + "…" : n.name;
    el("title", {}, n.g).textContent = n.name + " (" + (legendNames[colourKey(n)] || n.label) + ")";
    if (!n.center && box.getAttribute("data-node-src")) {
      var plus = el("g", { "class": "expand", transform: "translate(-14,-14)", role: "button" }, n.g);
      el("circle", { r: 6 }, plus);
      el("text", { x: -3.5, y: 4 }, plus).textContent = "+";
      el("title", {}, plus).textContent = T.expand;
      plus.addEventListener("click", function (ev) { ev.stopPropagation(); expand(n); });
    }
    n.g.addEventListener("click", function () { if (!n.dragged && !n.center) { open(n); } });
    n.g.addEventListener("dblclick", function (ev) { ev.preventDefault(); expand(n); });
    n.g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { open(n); } if (ev.key === "+") { expand(n); } });
    n.g.addEventListener("pointerdown", function (ev) { startDrag(ev, n); });
  }

  function open(n) {
    window.location.href = box.getAttribute("data-href").replace("__ID__", encodeURIComponent(n.id));
  }

  function load(id, offset, around) {
    var u = id === null ? src + (src.indexOf("?") < 0 ? "?" : "&") + "offset=" + (offset || 0) : nodeUrl(id, offset);
    if (!u) { return Promise.resolve(0); }
    return fetch(u, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var added = merge(data, around);
        var key = id === null ? "__root__" : id;
        pages[key] = data.has_more ? data.next_offset : null;
        refreshControls();
        applyFilters();
        kick();
        return added;
      });
  }

  function expand(n) {
    if (n.expanded) { return; }
    n.expanded = true;
    n.g.classList.add("expanded");
    load(n.id, 0, n);
  }

  function refreshControls() {
    while (filters.firstChild) { filters.removeChild(filters.firstChild); }
    Object.keys(typeNames).sort().forEach(function (type) {
      var lab = html("label", { "class": "check" }, filters);
      var cb = html("input", { type: "checkbox", value: type, "data-type": type }, lab);
      cb.checked = !hiddenTypes[type];
      cb.addEventListener("change", function () { hiddenTypes[type] = !cb.checked; applyFilters(); });
      html("span", { "class": "swatch line type-" + type }, lab);
      lab.appendChild(document.createTextNode(" " + typeNames[type]));
    });
    while (legend.firstChild) { legend.removeChild(legend.firstChild); }
    Object.keys(legendNames).sort().forEach(function (key) {
      var item = html("span", { "class": "legend-item" }, legend);
      html("span", { "class": "swatch dot " + key }, item);
      item.appendChild(document.createTextNode(" " + legendNames[key]));
    });
    var more = Object.keys(pages).filter(function (k) { return pages[k] !== null && pages[k] !== undefined; });
    more.forEach(function (k) {
      var b = html("button", { type: "button", "class": "show-more", "data-node": k }, legend,
        T.more.replace("{n}", String(box.getAttribute("data-page") || 40)) + (k === "__root__" ? "" : " · " + ((byId[k] || {}).name || k)));
      b.addEventListener("click", function () {
        b.disabled = true;
        load(k === "__root__" ? null : k, pages[k], k === "__root__" ? null : byId[k]);
      });
    });
  }

  function applyFilters() {
    var visible = {};
    nodes.forEach(function (n) { if (n.center) { visible[n.id] = true; } });
    links.forEach(function (l) {
      var on = !hiddenTypes[l.type];
      l.hidden = !on;
      if (on) { visible[l.s.id] = true; visible[l.t.id] = true; }
    });
    links.forEach(function (l) {
      l.line.style.display = l.hidden ? "none" : "";
      l.label.style.display = l.hidden || links.length > 80 ? "none" : "";
    });
    nodes.forEach(function (n) { n.hidden = !visible[n.id]; n.g.style.display = n.hidden ? "none" : ""; });
  }

  var springLength = Math.max(70, Math.min(width, height) * 0.3);
  var charge = springLength * springLength * 0.3;
  function tick() {
    var i, j, a, b, dx, dy, d2, d, f, shown = nodes.filter(function (n) { return !n.hidden; });
    for (i = 0; i < shown.length; i++) {  // repulsion between every pair (a few hundred at most)
      for (j = i + 1; j < shown.length; j++) {
        a = shown[i]; b = shown[j];
        dx = b.x - a.x; dy = b.y - a.y; d2 = dx * dx + dy * dy + 0.01; d = Math.sqrt(d2);
        f = (charge / d2) * alpha;
        a.vx -= (dx / d) * f; a.vy -= (dy / d) * f; b.vx += (dx / d) * f; b.vy += (dy / d) * f;
      }
    }
    links.forEach(function (l) {  // springs along the links
      if (l.hidden) { return; }
      dx = l.t.x - l.s.x; dy = l.t.y - l.s.y; d = Math.sqrt(dx * dx + dy * dy) + 0.01;
      f = (d - springLength) * 0.04 * alpha;
      l.s.vx += (dx / d) * f; l.s.vy += (dy / d) * f; l.t.vx -= (dx / d) * f; l.t.vy -= (dy / d) * f;
    });
    shown.forEach(function (n) {
      n.vx += (width / 2 - n.x) * 0.004 * alpha; n.vy += (height / 2 - n.y) * 0.004 * alpha;
      if (n.fixed || n.center) { n.vx = 0; n.vy = 0; return; }
      n.vx *= 0.6; n.vy *= 0.6;
      n.x = Math.max(12, Math.min(width - 12, n.x + n.vx));
      n.y = Math.max(12, Math.min(height - 12, n.y + n.vy));
    });
    render();
    alpha *= 0.985;
    if (alpha > 0.02) { window.requestAnimationFrame(tick); } else { running = false; }
  }
  function kick() {
    alpha = Math.max(alpha, 0.6);
    if (!running) { running = true; window.requestAnimationFrame(tick); }
  }

  function render() {
    links.forEach(function (l) {
      if (l.hidden) { return; }
      l.line.setAttribute("x1", l.s.x); l.line.setAttribute("y1", l.s.y);
      l.line.setAttribute("x2", l.t.x); l.line.setAttribute("y2", l.t.y);
      l.label.setAttribute("x", (l.s.x + l.t.x) / 2); l.label.setAttribute("y", (l.s.y + l.t.y) / 2 - 2);
    });
    nodes.forEach(function (n) { n.g.setAttribute("transform", "translate(" + n.x + "," + n.y + ")"); });
  }

  function point(ev) {
    var r = svg.getBoundingClientRect();
    return { x: (ev.clientX - r.left) * (width / r.width), y: (ev.clientY - r.top) * (height / r.height) };
  }

  function startDrag(ev, n) {
    if (ev.target.closest && ev.target.closest(".expand")) { return; }
    ev.preventDefault();
    n.fixed = true; n.dragged = false;
    function move(e) {
      var p = point(e); n.x = p.x; n.y = p.y; n.dragged = true;
      if (!running) { alpha = 0.3; kick(); } else { render(); }
    }
    function up() {
      window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up);
      n.fixed = false;
    }
    window.addEventListener("pointermove", move); window.addEventListener("pointerup", up);
  }

  setup();
  load(null, 0, null).then(function () {
    if (nodes.length < 2) { box.textContent = T.empty; }
  }).catch(function () { box.textContent = T.empty; });
})();
