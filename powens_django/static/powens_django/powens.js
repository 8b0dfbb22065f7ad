/* powens-django: progressive enhancement only; every page works without it. */
(function () {
  "use strict";
  // Waiting for a bank's decoupled confirmation: reload (which refreshes the
  // connection server-side) every few seconds while the page is visible.
  var wait = document.querySelector("[data-powens-refresh]");
  if (wait) {
    var seconds = parseInt(wait.getAttribute("data-powens-refresh"), 10) || 3;
    var timer = window.setTimeout(function reload() {
      if (document.visibilityState === "hidden") {
        timer = window.setTimeout(reload, seconds * 1000);
        return;
      }
      window.location.reload();
    }, seconds * 1000);
    var form = wait.querySelector("form");
    if (form) {
      form.addEventListener("submit", function () { window.clearTimeout(timer); });
    }
  }
  // Error summaries take focus so screen readers announce them.
  var summary = document.getElementById("powens-errors");
  if (summary) { summary.focus(); }
})();
