// The entity page's neighbourhood graph: a small self-contained force layout drawn in SVG.
// Data comes from the page's JSON endpoint (div#graph[data-src]); names are set with
// textContent, never as HTML. Nodes can be dragged; clicking one opens its page.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var box = document.getElementById("graph");
  if (!box) { return; }

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }

  function draw(data) {
    var width = box.clientWidth || 600, height = Math.max(320, Math.min(520, width * 0.7));
    if (!data.nodes || data.nodes.length < 2) {
      box.textContent = box.getAttribute("data-empty") || "";
      return;
    }
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: "100%", height: height, role: "img" }, box);
    var byId = {};
    var nodes = data.nodes.map(function (n, i) {
      var angle = (2 * Math.PI * i) / data.nodes.length;
      var node = { id: n.id, name: n.name, label: n.label, center: n.center,
        x: n.center ? width / 2 : width / 2 + Math.cos(angle) * width * 0.3,
        y: n.center ? height / 2 : height / 2 + Math.sin(angle) * height * 0.3, vx: 0, vy: 0, fixed: false };
      byId[n.id] = node;
      return node;
    });
    var links = data.links.filter(function (l) { return byId[l.source] && byId[l.target]; }).map(function (l) {
      return { s: byId[l.source], t: byId[l.target], type: l.type };
    });
    var linkLayer = el("g", { "class": "links" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);
    links.forEach(function (l) {
      l.line = el("line", { "class": "link type-" + l.type }, linkLayer);
      el("title", {}, l.line).textContent = l.type;
    });
    nodes.forEach(function (n) {
      n.g = el("g", { "class": "node label-" + n.label + (n.center ? " center" : ""), tabindex: "0" }, nodeLayer);
      el("circle", { r: n.center ? 11 : 7 }, n.g);
      var text = el("text", { x: 10, y: 4 }, n.g);
      text.textContent = n.name.length > 18 ? n.name.slice(0, 17) + "…" : n.name;
      el("title", {}, n.g).textContent = n.name + " (" + n.label + ")";
      n.g.addEventListener("click", function () { if (!n.dragged && !n.center) { open(n); } });
      n.g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { open(n); } });
      n.g.addEventListener("pointerdown", function (ev) { startDrag(ev, n); });
    });

    function open(n) {
      window.location.href = box.getAttribute("data-href").replace("__ID__", encodeURIComponent(n.id));
    }

    var springLength = Math.max(80, Math.min(width, height) * 0.34);
    var charge = springLength * springLength * 0.35;
    var alpha = 1;
    function tick() {
      var i, j, a, b, dx, dy, d2, d, f;
      for (i = 0; i < nodes.length; i++) {  // repulsion between every pair (n is at most ~60)
        for (j = i + 1; j < nodes.length; j++) {
          a = nodes[i]; b = nodes[j];
          dx = b.x - a.x; dy = b.y - a.y; d2 = dx * dx + dy * dy + 0.01; d = Math.sqrt(d2);
          f = (charge / d2) * alpha;
          a.vx -= (dx / d) * f; a.vy -= (dy / d) * f; b.vx += (dx / d) * f; b.vy += (dy / d) * f;
        }
      }
      links.forEach(function (l) {  // springs along the links
        dx = l.t.x - l.s.x; dy = l.t.y - l.s.y; d = Math.sqrt(dx * dx + dy * dy) + 0.01;
        f = (d - springLength) * 0.04 * alpha;
        l.s.vx += (dx / d) * f; l.s.vy += (dy / d) * f; l.t.vx -= (dx / d) * f; l.t.vy -= (dy / d) * f;
      });
      nodes.forEach(function (n) {
        n.vx += (width / 2 - n.x) * 0.005 * alpha; n.vy += (height / 2 - n.y) * 0.005 * alpha;
        if (n.fixed) { n.vx = 0; n.vy = 0; return; }
        n.vx *= 0.6; n.vy *= 0.6;
        n.x = Math.max(12, Math.min(width - 12, n.x + n.vx));
        n.y = Math.max(12, Math.min(height - 12, n.y + n.vy));
      });
      render();
      alpha *= 0.985;
      if (alpha > 0.02) { window.requestAnimationFrame(tick); }
    }

    function render() {
      links.forEach(function (l) {
        l.line.setAttribute("x1", l.s.x); l.line.setAttribute("y1", l.s.y);
        l.line.setAttribute("x2", l.t.x); l.line.setAttribute("y2", l.t.y);
      });
      nodes.forEach(function (n) { n.g.setAttribute("transform", "translate(" + n.x + "," + n.y + ")"); });
    }

    function point(ev) {
      var r = svg.getBoundingClientRect();
      return { x: (ev.clientX - r.left) * (width / r.width), y: (ev.clientY - r.top) * (height / r.height) };
    }

    function startDrag(ev, n) {
      ev.preventDefault();
      n.fixed = true; n.dragged = false;
      function move(e) {
        var p = point(e); n.x = p.x; n.y = p.y; n.dragged = true;
        if (alpha < 0.3) { alpha = 0.3; window.requestAnimationFrame(tick); } else { render(); }
      }
      function up() {
        window.removeEventListener("pointermove", move); window.removeEventListener("pointerup", up);
        n.fixed = false;
      }
      window.addEventListener("pointermove", move); window.addEventListener("pointerup", up);
    }

    render();
    window.requestAnimationFrame(tick);
  }

  fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(draw)
    .catch(function () { box.textContent = box.getAttribute("data-empty") || ""; });
})();
