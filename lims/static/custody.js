// Post-thaw time left, counted down in the open page (the ward, a bag, the nurse's home). The server writes the
// text as it was when the page was drawn (what a reader without JavaScript sees); this keeps it true every 30 s,
// in the same words and levels as views.time_left: "2 h 14 min left", highlighted under an hour, EXPIRED once past.
(function () {
  var HOUR = 60 * 60 * 1000;
  var LEVELS = ["ok", "soon", "expired"];

  function reading(left) {
    if (left <= 0) { return {text: "EXPIRED", level: "expired"}; }
    var minutes = Math.floor(left / 60000);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    var text = hours ? hours + " h " + minutes + " min left"
                     : (minutes ? minutes + " min left" : "under 1 min left");
    return {text: text, level: left < HOUR ? "soon" : "ok"};
  }

  function tick() {
    var now = Date.now();
    var times = document.querySelectorAll("time[data-expires-at]");
    Array.prototype.forEach.call(times, function (el) {
      var expires = Date.parse(el.getAttribute("data-expires-at"));
      if (isNaN(expires)) { return; }
      var r = reading(expires - now);
      if (el.textContent !== r.text) { el.textContent = r.text; }
      LEVELS.forEach(function (level) { el.classList.toggle(level, level === r.level); });
    });
  }

  if (window.custodyCountdown) { return; }  // the script may be included by more than one part of a page
  window.custodyCountdown = window.setInterval(tick, 30000);
  tick();
  window.addEventListener("pageshow", tick);  // back from the browser's history: the page is older than it looks
})();
