// The Cypher console page: runs the query through POST /console/run (CSRF token in a header),
// shows the rows as a table and, when the result has nodes or paths, draws them with the
// entity page's own graph.js (re-run on a fresh #graph element pointing at the result's graph
// URL). Every value is set with textContent, never as HTML. "Download CSV" is a plain form post.
(function () {
  "use strict";
  var form = document.getElementById("console-form");
  if (!form) { return; }
  var me = document.currentScript;
  var status = document.getElementById("result-status");
  var errorBox = document.getElementById("result-error");
  var table = document.getElementById("result");

  function cellText(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v !== "object") { return String(v); }
    if (v._kind === "node") { return "(" + v.label + " " + v.id + " " + (v.props.name_zh || v.props.name_en || "") + ")"; }
    if (v._kind === "relationship") { return "[:" + v.type + "]"; }
    if (v._kind === "path") {
      return v.nodes.map(function (n) { return "(" + (n.props.name_zh || n.props.name_en || n.id) + ")"; }).join("—");
    }
    return JSON.stringify(v);
  }

  // Results are drawn a page at a time (10,000 rows at once made a 348,000-pixel page).
  var pageSize = parseInt(form.getAttribute("data-page-size"), 10) || 100;
  var pager = document.getElementById("result-pager"), pageStatus = document.getElementById("page-status");
  var current = null, pageNo = 0;

  function clearResult() {  // an error or a new run never leaves an old result on screen
    table.tHead.textContent = ""; table.tBodies[0].textContent = "";
    pager.hidden = true; current = null;
    var card = document.getElementById("graph-card");
    if (card) { card.hidden = true; document.getElementById("graph-box").textContent = ""; }
  }

  function showPage(n) {
    var body = table.tBodies[0], rows = current.rows;
    var pages = Math.max(1, Math.ceil(rows.length / pageSize));
    pageNo = Math.max(0, Math.min(n, pages - 1));
    body.textContent = "";
    rows.slice(pageNo * pageSize, (pageNo + 1) * pageSize).forEach(function (row) {
      var r = body.insertRow();
      row.forEach(function (v) { r.insertCell().textContent = cellText(v); });
    });
    pager.hidden = pages < 2;
    pageStatus.textContent = form.getAttribute("data-page").replace("{from}", rows.length ? pageNo * pageSize + 1 : 0)
      .replace("{to}", Math.min(rows.length, (pageNo + 1) * pageSize)).replace("{n}", rows.length);
    document.getElementById("page-prev").disabled = pageNo === 0;
    document.getElementById("page-next").disabled = pageNo >= pages - 1;
  }

  function fill(data) {
    var head = table.tHead;
    head.textContent = "";
    var tr = head.insertRow();
    data.columns.forEach(function (c) { var th = document.createElement("th"); th.textContent = c; tr.appendChild(th); });
    current = data;
    showPage(0);
    var text = form.getAttribute("data-rows").replace("{n}", data.rows.length).replace("{ms}", Math.round(data.elapsed_ms));
    if (data.truncated) { text += " · " + form.getAttribute("data-truncated").replace("{n}", data.rows.length); }
    status.textContent = text;
  }
  document.getElementById("page-prev").addEventListener("click", function () { if (current) { showPage(pageNo - 1); } });
  document.getElementById("page-next").addEventListener("click", function () { if (current) { showPage(pageNo + 1); } });

  function drawGraph(data) {
    var card = document.getElementById("graph-card"), box = document.getElementById("graph-box");
    box.textContent = "";
    if (!data.graph || !data.graph.nodes.length || !data.graph_url) { card.hidden = true; return; }
    card.hidden = false;
    box.appendChild(document.getElementById("graph-template").content.cloneNode(true));
    document.getElementById("graph").setAttribute("data-src", data.graph_url);
    var s = document.createElement("script");  // graph.js draws #graph once per load
    s.src = me.getAttribute("data-graph-js");
    box.appendChild(s);
  }

  function remember(cypher, ok, detail) {  // the newest query on top of "my history", as on a reload
    var list = document.getElementById("history");
    if (!list) {
      list = document.createElement("ul");
      list.id = "history"; list.className = "plain console-history";
      var hint = document.getElementById("no-history");
      if (hint) { hint.replaceWith(list); } else { return; }
    }
    var li = document.createElement("li"), a = document.createElement("a"), badge = document.createElement("span");
    a.href = "#"; a.className = "example mono"; a.textContent = cypher.length > 90 ? cypher.slice(0, 89) + "…" : cypher;
    a.addEventListener("click", function (ev) { ev.preventDefault(); form.elements.cypher.value = cypher; });
    badge.className = "badge " + (ok ? "ok" : "warn"); badge.textContent = ok ? "✓" : "✗";
    li.appendChild(a); li.appendChild(document.createTextNode(" ")); li.appendChild(badge);
    li.appendChild(document.createTextNode(" " + detail));
    list.insertBefore(li, list.firstChild);
  }

  function run() {
    var sent = form.elements.cypher.value;
    errorBox.hidden = true;
    clearResult();
    status.textContent = form.getAttribute("data-running");
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.elements.csrf_token.value, Accept: "application/json" },
      body: JSON.stringify({ cypher: sent, params: form.elements.params.value })
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        if (!res.ok) {
          status.textContent = ""; errorBox.textContent = res.data.error; errorBox.hidden = false;
          remember(sent, false, res.data.error); return;
        }
        fill(res.data); drawGraph(res.data); remember(sent, true, String(res.data.rows.length));
      })
      .catch(function (e) { clearResult(); status.textContent = ""; errorBox.textContent = String(e); errorBox.hidden = false; });
  }

  document.getElementById("run").addEventListener("click", run);
  form.elements.cypher.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("a.example"), function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      form.elements.cypher.value = a.getAttribute("data-cypher");
      form.elements.params.value = (a.getAttribute("data-params") || "").trim();
    });
  });
})();
