// hookd dashboard: local times, live rows, live jobs. Pages work without it.
"use strict";
(function () {
  var fmt = new Intl.DateTimeFormat(undefined, {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"});
  var hm = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit"});
  // Times are sent in UTC; show them in the viewer's zone, UTC on hover.
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      if (t.dataset.local) return;
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d)) return;
      t.textContent = (t.dataset.fmt === "hm" ? hm : fmt).format(d);
      t.dataset.local = "1";
    });
  }
  localize(document);

  // Events page: new deliveries arrive as rows (server-sent events).
  var table = document.querySelector("table[data-stream]");
  if (table && window.EventSource) {
    var rows = document.getElementById("rows");
    var live = document.getElementById("live");
    var url = table.dataset.stream + (table.dataset.stream.indexOf("?") < 0 ? "?" : "&") + "after=" + table.dataset.after;
    var es = new EventSource(url);
    es.addEventListener("open", function () { live.hidden = false; live.textContent = "Live: new deliveries at the top, states as they change."; });
    es.addEventListener("error", function () { live.textContent = "Live updates paused; reconnecting…"; });
    // A row shown is replaced (new state); a new one goes in id order.
    es.addEventListener("row", function (e) {
      var tmp = document.createElement("tbody");
      tmp.innerHTML = e.data;
      var tr = tmp.firstElementChild;
      if (!tr) return;
      localize(tr);
      var old = rows.querySelector('tr[data-id="' + tr.dataset.id + '"]');
      if (old) {
        if (old.classList.contains("new")) tr.classList.add("new");
        rows.replaceChild(tr, old);
        return;
      }
      tr.classList.add("new");
      var at = rows.firstElementChild, id = Number(tr.dataset.id);
      while (at && Number(at.dataset.id) > id) at = at.nextElementSibling;
      rows.insertBefore(tr, at);
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
      while (rows.children.length > 500) rows.lastElementChild.remove();
    });
  }

  // Event page: while a job is queued or running, read it again.
  if (document.querySelector("[data-live]")) {
    setTimeout(function () { location.reload(); }, 1500);
  }
})();
