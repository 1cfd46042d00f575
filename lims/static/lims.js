// The project's own script (CSP allows 'self' only). Opens and closes the signing dialogs.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    if (dialog && dialog.showModal) {
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    }
    return;
  }
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) {
    var open = closer.closest("dialog");
    if (open) { open.close(); }
  }
});
document.documentElement.classList.add("js");

// A refused form comes back with its reason in an alert: bring it into view and give it the focus, so the reason
// is read at once instead of sitting below the fold.
document.addEventListener("DOMContentLoaded", function () {
  var alert = document.querySelector(".alert[role=alert]");
  if (alert && !document.querySelector("dialog[open]")) {
    if (!alert.hasAttribute("tabindex")) { alert.setAttribute("tabindex", "-1"); }
    alert.scrollIntoView({block: "center"});
    alert.focus({preventScroll: true});
  }
});
