// The bedside page, driven by a handheld scanner that types its payload like a keyboard and ends with Enter.
// Focus stays in the scan field: Enter moves to the next step instead of submitting, and a stray tap elsewhere
// brings the focus back, so the next scan never lands nowhere. (CSP: 'self' scripts only, so this file.)
(function () {
  var form = document.getElementById("bedside-form");
  if (!form) { return; }
  var scans = Array.prototype.slice.call(form.querySelectorAll("input[data-scan]"));
  var entries = Array.prototype.slice.call(form.querySelectorAll("input:not([type=hidden])"));

  function firstEmpty() {
    for (var i = 0; i < entries.length; i++) {
      if (!entries[i].value) { return entries[i]; }
    }
    return null;
  }

  scans.forEach(function (input, i) {
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      var next = i < scans.length - 1 ? scans[i + 1] : firstEmpty();
      if (!input.value) {
        event.preventDefault();  // an empty scan: stay here for the next one
      } else if (next && next !== input) {
        event.preventDefault();
        next.focus();
        next.select();
      }
      // The last scan with everything filled in submits, as Enter does.
    });
    input.addEventListener("blur", function (event) {
      var to = event.relatedTarget;
      if (to && to.closest("input, select, textarea, button, a, [tabindex]")) { return; }
      window.setTimeout(function () {
        var active = document.activeElement;
        if (!active || active === document.body) { input.focus(); }
      }, 0);
    });
  });

  // After a refusal the page comes back filled in: start at the first field still empty (the password is never
  // sent back), else at the first scan.
  function focusStart() {
    var start = firstEmpty() || scans[0];
    if (start && document.activeElement !== start) { start.focus(); }
  }
  focusStart();
  // Again once everything has loaded, and when the page comes back from the browser's history.
  window.addEventListener("load", function () {
    if (!document.activeElement || document.activeElement === document.body) { focusStart(); }
  });
  window.addEventListener("pageshow", focusStart);
})();
