// Scan forms (the bedside check, the ward's receive and return, the pharmacist's verify and dispense), driven by a
// handheld scanner that types its payload like a keyboard and ends with Enter. (CSP: 'self' scripts only.)
// - A scan field may have a "Type instead" field beside it (lims/templates/_scan.html): either one fills the pair.
// - A scan field selects its content when it takes the focus: the next scan replaces the old one, never appends.
// - Enter moves to the next empty field of the form instead of submitting; Enter with every field filled submits.
// - At the bedside a stray tap brings the focus back to the scan field, so the next scan never lands nowhere.
(function () {
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-scan-form]"));
  Array.prototype.forEach.call(document.querySelectorAll("input[data-scan]"), function (input) {
    if (input.form && forms.indexOf(input.form) < 0) { forms.push(input.form); }
  });
  if (!forms.length) { return; }

  // The fields a person fills in, in order: a "Type instead" field only while it is open.
  function entriesOf(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input:not([type=hidden])")).filter(function (input) {
      return !(input.hasAttribute("data-typed") && input.closest("details:not([open])"));
    });
  }

  // A scan field counts as filled when its "Type instead" field is, and the other way round.
  function filled(field) {
    if (field.value) { return true; }
    var pair = field.closest("[data-scan-pair]");
    if (!pair) { return false; }
    return Array.prototype.some.call(pair.querySelectorAll("input"), function (other) { return !!other.value; });
  }

  // The first empty field after `from`, wrapping round to the top of the form; null when every field is filled.
  function nextEmpty(form, from) {
    var entries = entriesOf(form);
    var start = from ? entries.indexOf(from) + 1 : 0;
    for (var n = 0; n < entries.length; n++) {
      var field = entries[(start + n) % entries.length];
      if (!filled(field)) { return field; }
    }
    return null;
  }

  function focusOn(field) {
    field.focus();
    if (field.select) { field.select(); }
  }

  forms.forEach(function (form) {
    entriesOf(form).forEach(function (input) {
      if (input.hasAttribute("data-scan")) {
        // Just after the tap that placed the caret, so the selection stands; unless a scan has begun meanwhile.
        input.addEventListener("focus", function () {
          var was = input.value;
          window.setTimeout(function () { if (input.value === was) { input.select(); } }, 0);
        });
      }
      input.addEventListener("keydown", function (event) {
        if (event.key !== "Enter") { return; }
        if (!input.value) {
          event.preventDefault();  // an empty scan or field: stay here for it
          return;
        }
        var next = nextEmpty(form, input);
        if (next) {
          event.preventDefault();
          focusOn(next);
        }
        // Every field filled: Enter submits, as it always does.
      });
    });
  });

  // lims.js gives a refusal's alert the focus on DOMContentLoaded (so it is read), which cancels autofocus; but a
  // scanner types into whatever has the focus, so the field the page wants takes it back just after.
  document.addEventListener("DOMContentLoaded", function () {
    var active = document.activeElement;
    var wanted = document.querySelector("form[data-scan-form] [autofocus]");
    if (wanted && active && active.classList.contains("alert")) { focusOn(wanted); }
  });

  // The bedside: after a refusal the form says which field the refusal is about (data-focus); otherwise the focus
  // starts at the first empty field.
  var bedside = document.getElementById("bedside-form");
  if (!bedside) { return; }
  var scans = Array.prototype.slice.call(bedside.querySelectorAll("input[data-scan]"));

  function focusStart() {
    var named = bedside.getAttribute("data-focus");
    var start = (named && document.getElementById(named)) || nextEmpty(bedside, null) || scans[0];
    if (start && document.activeElement !== start) { focusOn(start); }
  }

  scans.forEach(function (input) {
    input.addEventListener("blur", function (event) {
      var to = event.relatedTarget;
      if (to && to.closest("input, select, textarea, button, a, [tabindex]")) { return; }
      window.setTimeout(function () {
        var active = document.activeElement;
        if (!active || active === document.body) { input.focus(); }
      }, 0);
    });
  });

  focusStart();
  document.addEventListener("DOMContentLoaded", focusStart);
  // Again once everything has loaded, and when the page comes back from the browser's history.
  window.addEventListener("load", function () {
    if (!document.activeElement || document.activeElement === document.body) { focusStart(); }
  });
  window.addEventListener("pageshow", focusStart);
})();
