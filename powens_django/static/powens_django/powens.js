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
  // Forms that reach the bank: one submit only (a second would make a second
  // connection), and say that it can take a while. The server refuses doubles too.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-powens-busy")) { return; }
    if (form.getAttribute("data-powens-submitted")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-powens-submitted", "1");
    var buttons = form.querySelectorAll("button[type=submit], input[type=submit]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].disabled = true;
      buttons[i].setAttribute("aria-disabled", "true");
    }
    var note = form.getAttribute("data-powens-busy");
    if (note) {
      var status = document.createElement("p");
      status.className = "powens-busy";
      status.setAttribute("role", "status");
      status.textContent = note;
      form.appendChild(status);
    }
  });
  // Coming back with the browser's Back button shows the page from its cache:
  // make its forms usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    var forms = document.querySelectorAll("form[data-powens-submitted]");
    for (var i = 0; i < forms.length; i += 1) {
      forms[i].removeAttribute("data-powens-submitted");
      var buttons = forms[i].querySelectorAll("button[type=submit], input[type=submit]");
      for (var j = 0; j < buttons.length; j += 1) {
        buttons[j].disabled = false;
        buttons[j].removeAttribute("aria-disabled");
      }
      var notes = forms[i].querySelectorAll(".powens-busy");
      for (var k = 0; k < notes.length; k += 1) { notes[k].remove(); }
    }
  });
  // Error summaries take focus so screen readers announce them.
  var summary = document.getElementById("powens-errors");
  if (summary) { summary.focus(); }
})();
