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

// A region that scrolls sideways (a timeline, a wide table on a phone) takes the keyboard focus, so it can be
// scrolled with the arrow keys as with a finger (WCAG 2.1.1), and says what it holds. Only while it overflows:
// at a width where everything shows, it stays out of the Tab order.
(function () {
  var SCROLLS = /^(auto|scroll)$/;
  function nameOf(el) {
    var own = el.querySelector("caption, figcaption, svg title");
    var section = el.closest("section, article");
    var heading = section && section.querySelector("h1, h2, h3");
    return ((own || heading || {}).textContent || "").trim();
  }
  function mark() {
    Array.prototype.forEach.call(document.querySelectorAll("main div, main table, main figure, main pre"), function (el) {
      var overflows = SCROLLS.test(getComputedStyle(el).overflowX) && el.scrollWidth > el.clientWidth + 1;
      var marked = el.hasAttribute("data-scroll-focus");
      if (overflows && !marked && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
        if (el.tagName !== "TABLE" && !el.hasAttribute("role")) {
          el.setAttribute("data-scroll-focus", "region");
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", (nameOf(el) + " (scrolls sideways)").trim());
        }
      } else if (!overflows && marked) {
        if (el.getAttribute("data-scroll-focus") === "region") { el.removeAttribute("role"); el.removeAttribute("aria-label"); }
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("load", mark);
  var pending;
  window.addEventListener("resize", function () { clearTimeout(pending); pending = setTimeout(mark, 150); });
})();

// The server ends a page session unused for the idle limit (SPEC §4). A screen left open on a ward would still show
// what it showed: once the limit has passed since this page was served, go to the sign-in page, which says why.
(function () {
  var seconds = parseInt(document.body && document.body.getAttribute("data-idle-sign-out"), 10);
  if (!seconds) { return; }
  window.setTimeout(function () {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }, (seconds + 5) * 1000);
})();
