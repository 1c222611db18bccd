// Keeps the SLA countdowns ticking between page loads. The wording and colours follow
// bot/console/tickets.py; the server's clock is the reference (data-now), not the PC's.
(function () {
  "use strict";
  var skew = Date.parse(document.body.dataset.now) - Date.now() || 0;
  function span(seconds) {
    var s = Math.abs(Math.trunc(seconds)), d = Math.floor(s / 86400),
        h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + " g " + h + " h";
    return h ? h + " h " + String(m).padStart(2, "0") + " min" : m + " min";
  }
  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = (Date.parse(el.dataset.due) - now) / 1000;
      var warned = el.dataset.warn && Date.parse(el.dataset.warn) <= now;
      var colour = el.dataset.breached === "1" || left <= 0 ? "red"
        : left < 3600 || warned ? "amber" : "green";
      el.classList.remove("sla-green", "sla-amber", "sla-red");
      el.classList.add("sla-" + colour);
      el.querySelector(".sla-text").textContent =
        left > 0 ? "tra " + span(left) : "scaduta da " + span(left);
    });
  }
  tick();
  setInterval(tick, 15000);
})();
