// Small page helpers; no inline scripts anywhere (the Content-Security-Policy forbids them).
(function () {
  "use strict";
  var printButton = document.getElementById("print-button");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
})();
