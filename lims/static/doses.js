// The dose page's label print (CSP allows 'self' scripts only, so no inline handler).
// The label is a download: the browser stays on the dose page, which would go on saying "printed 0 time(s)".
// After a print is asked for, the page is read again in the background until the server has counted the print,
// then reloaded, so the count and the reprint form (with its reason field) appear without a manual reload.
(function () {
  var POLL_MS = 700, GIVE_UP_MS = 60000;

  function watchForPrint() {
    var card = document.querySelector("[data-label-prints]");
    if (!card) { return; }
    var before = card.getAttribute("data-label-prints");
    var dosePage = card.getAttribute("data-dose-page");
    var started = Date.now();

    function reload() {
      // After a refused POST the address is the form's action: go to the dose page rather than post again.
      if (window.location.pathname === dosePage) { window.location.reload(); }
      else { window.location.assign(dosePage); }
    }

    function poll() {
      if (Date.now() - started > GIVE_UP_MS) { return; }
      fetch(dosePage, {credentials: "same-origin", cache: "no-store"})
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          var found = /data-label-prints="(\d+)"/.exec(html);
          if (found && found[1] !== before) { reload(); } else { window.setTimeout(poll, POLL_MS); }
        })
        .catch(function () { window.setTimeout(poll, POLL_MS); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("a[data-print-label]")) { watchForPrint(); }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-print-label]")) { watchForPrint(); }
  });
})();
