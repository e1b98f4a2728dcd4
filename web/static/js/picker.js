// Search-as-you-type pickers: an input with class "picker-input" asks the search API (the
// logged-in session may read it) and fills the hidden input named by data-target with the chosen
// id. The label filter comes from data-label, or from the selected option of a ".rel-choice"
// select in the same form (the kind of entity the chosen relation joins). No inline script: the
// Content-Security-Policy forbids it.
(function () {
  "use strict";
  var DELAY_MS = 180;

  function labelFor(input) {
    if (input.dataset.label) { return input.dataset.label; }
    var form = input.form, sel = form && form.querySelector(".rel-choice");
    if (!sel || sel.selectedIndex < 0) { return ""; }
    return sel.options[sel.selectedIndex].dataset.label || "";
  }

  function setup(input) {
    var wrap = input.parentNode;
    var list = wrap.querySelector(".picker-list");
    var hidden = document.getElementById(input.dataset.target);
    var nameField = wrap.querySelector(".picker-name");
    var timer = null, seq = 0;
    if (!list) { list = document.createElement("ul"); list.className = "picker-list"; wrap.appendChild(list); }

    function clear() { while (list.firstChild) { list.removeChild(list.firstChild); } list.classList.remove("open"); }

    function choose(hit, text) {
      if (input.dataset.multi) {  // several choices: each becomes a removable chip with a hidden input
        var chips = wrap.querySelector(".picker-chips");
        if (!chips.querySelector("input[value='" + CSS.escape(hit.id) + "']")) {
          var chip = document.createElement("span"); chip.className = "chip";
          chip.textContent = text + " ";
          var h = document.createElement("input"); h.type = "hidden"; h.name = input.dataset.multi; h.value = hit.id;
          var x = document.createElement("button"); x.type = "button"; x.className = "link"; x.textContent = "×";
          x.addEventListener("click", function () { chip.remove(); });
          chip.appendChild(h); chip.appendChild(x); chips.appendChild(chip);
        }
        input.value = "";
      } else {
        input.value = text;
        if (hidden) { hidden.value = hit.id; }
        if (nameField) { nameField.value = text; }
      }
      clear();
    }

    function show(hits) {
      clear();
      var zh = document.documentElement.lang === "zh-CN";
      if (!hits.length) {
        var none = document.createElement("li"); none.className = "none";
        none.textContent = input.dataset.none || "—"; list.appendChild(none);
      }
      hits.forEach(function (hit) {
        var li = document.createElement("li");
        var main = (zh ? hit.name_zh || hit.name_en : hit.name_en || hit.name_zh) || hit.id;
        var other = zh ? hit.name_en : hit.name_zh;
        li.textContent = main;
        li.setAttribute("role", "option");
        li.dataset.id = hit.id;
        if (other && other !== main) { var s = document.createElement("small"); s.textContent = " " + other; li.appendChild(s); }
        var idSmall = document.createElement("small"); idSmall.className = "id"; idSmall.textContent = " " + hit.id; li.appendChild(idSmall);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(hit, main); });
        list.appendChild(li);
      });
      list.classList.add("open");
    }

    input.addEventListener("input", function () {
      if (hidden && !input.dataset.multi) { hidden.value = ""; }
      clearTimeout(timer);
      var q = input.value.trim();
      if (!q) { clear(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = input.dataset.api + "?limit=8&q=" + encodeURIComponent(q);
        var label = labelFor(input);
        if (label) { url += "&label=" + encodeURIComponent(label); }
        fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { hits: [] }; })
          .then(function (data) { if (mine === seq) { show(data.hits || []); } })
          .catch(function () { if (mine === seq) { clear(); } });
      }, DELAY_MS);
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && list.classList.contains("open")) {
        var first = list.querySelector("li[data-id]");
        if (first) { ev.preventDefault(); first.dispatchEvent(new MouseEvent("mousedown")); }
      } else if (ev.key === "Escape") { clear(); }
    });
    input.addEventListener("blur", function () { setTimeout(clear, 150); });
    var sel = input.form && input.form.querySelector(".rel-choice");
    if (sel) { sel.addEventListener("change", function () { input.value = ""; if (hidden) { hidden.value = ""; } clear(); }); }
  }

  Array.prototype.forEach.call(document.querySelectorAll(".picker-input"), setup);
})();
