// Live updates of the status page: each committed transition from the
// node's own /events stream updates the row of its check (state, since,
// the votes that decided it) and the summary line. Without this script
// the page is the same, only refreshed by its own reload.
"use strict";
(function () {
  if (!window.EventSource) { return; }
  var names = { up: "up", down: "down" };
  function summary() {
    var rows = document.querySelectorAll("tr.check");
    var el = document.getElementById("summary");
    if (!el || rows.length === 0) { return; }
    var down = 0, unknown = 0;
    rows.forEach(function (r) {
      var s = r.getAttribute("data-state");
      if (s === "down") { down += 1; } else if (s !== "up") { unknown += 1; }
    });
    el.textContent = down === 0 && unknown === 0
      ? "All " + rows.length + " checks up."
      : down + " of " + rows.length + " checks down, " + unknown + " unknown.";
  }
  var source = new EventSource("/events");
  source.addEventListener("transition", function (msg) {
    var e;
    try { e = JSON.parse(msg.data); } catch (_) { return; }
    var rows = document.querySelectorAll("tr.check");
    rows.forEach(function (row) {
      if (row.getAttribute("data-id") !== e.check_id) { return; }
      row.setAttribute("data-state", e.to);
      var span = row.querySelector("span.state");
      if (span) {
        span.className = "state state-" + (names[e.to] || "unknown");
        span.textContent = String(e.to).toUpperCase();
      }
      var since = row.querySelector("td.since");
      if (since) { since.textContent = e.at; }
      var cells = row.querySelectorAll("td");
      if (cells.length > 3) { cells[3].textContent = e.evidence; }
    });
    summary();
  });
})();
