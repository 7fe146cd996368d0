// selfgate staff screen: the live feed and counts, from the server's event stream (/events).
(function () {
  "use strict";
  var feed = document.getElementById("feed");
  var live = document.getElementById("live");
  if (!feed || !window.EventSource) { return; }
  var MAX_ROWS = 40;

  function text(el, value) { if (el) { el.textContent = value; } }

  function cell(tr, cls, value) {
    var td = document.createElement("td");
    if (cls) { td.className = cls; }
    td.textContent = value;
    tr.appendChild(td);
    return td;
  }

  function addRow(item) {
    var tr = document.createElement("tr");
    tr.className = (item.money ? "money" : item.pass ? "pass" : "deny") + " fresh";
    if (item.seq !== null && item.seq !== undefined) { tr.dataset.seq = item.gate + "/" + item.seq; }
    cell(tr, "time", item.time);
    var name = cell(tr, "name", "");
    if (item.person !== null && item.person !== undefined) {
      var a = document.createElement("a");
      a.href = "/person/" + item.person;
      a.textContent = item.name;
      name.appendChild(a);
    } else {
      name.textContent = item.name;
    }
    cell(tr, "", item.class);
    var v = cell(tr, "verdict", "");
    var tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = item.money ? feed.dataset.money : item.pass ? feed.dataset.pass : feed.dataset.deny;
    v.appendChild(tag);
    cell(tr, "reason", item.label);
    feed.insertBefore(tr, feed.firstChild);
    while (feed.rows.length > MAX_ROWS) { feed.deleteRow(feed.rows.length - 1); }
    var empty = document.getElementById("feed-empty");
    if (empty) { empty.remove(); }
  }

  function setCounts(s) {
    var denied = 0;
    s.denied.forEach(function (d) { denied += d[2]; });
    var values = { expected: s.expected, served: s.served, denied: denied, to_come: s.to_come };
    document.querySelectorAll("[data-count]").forEach(function (el) {
      var v = values[el.dataset.count];
      if (v !== undefined) { el.textContent = v; }
    });
    document.querySelectorAll("[data-summary]").forEach(function (el) {
      if (el.dataset.summary === "now") { el.textContent = s.now; }
      if (el.dataset.summary === "service") { el.textContent = s.service || el.dataset.none; }
    });
    var list = document.getElementById("denied");
    if (list) {
      list.textContent = "";
      s.denied.forEach(function (d) {
        var li = document.createElement("li");
        var span = document.createElement("span");
        span.textContent = d[1];
        var b = document.createElement("b");
        b.textContent = d[2];
        li.appendChild(span);
        li.appendChild(b);
        list.appendChild(li);
      });
    }
    var alerts = document.getElementById("alerts");
    if (alerts) {
      alerts.textContent = "";
      s.alerts.forEach(function (a) {
        var p = document.createElement("p");
        p.className = "alert alert-" + a.kind;
        p.textContent = a.text;
        alerts.appendChild(p);
      });
    }
  }

  function connect() {
    var es = new EventSource("/events");
    es.onopen = function () {
      live.className = "live on";
      live.textContent = live.dataset.on;
    };
    es.addEventListener("passage", function (e) {
      var m = JSON.parse(e.data);
      if (m.item) { addRow(m.item); }
      setCounts(m.summary);
    });
    es.addEventListener("resync", function () { window.location.reload(); });
    es.onerror = function () {
      live.className = "live off";
      live.textContent = live.dataset.off;
      // The browser retries by itself; a closed stream (logged out) is retried here.
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 3000); }
    };
  }
  connect();

  // Counts and alerts also change without a passage (a reader going offline, the clock):
  // refresh them now and then.
  setInterval(function () {
    fetch("/api/summary", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { setCounts(s); } })
      .catch(function () {});
  }, 15000);
})();
