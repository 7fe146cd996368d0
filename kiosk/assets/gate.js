// selfgate gate screen: shows each decision of this gate for a few seconds, then idles.
(function () {
  "use strict";
  var root = document.getElementById("gate");
  var gate = root.dataset.gate;
  var lang = root.dataset.lang;
  var SHOW_MS = 4000;
  var timer = null;

  function text(id, value) { document.getElementById(id).textContent = value || ""; }

  function tick() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    text("clock", pad(d.getHours()) + ":" + pad(d.getMinutes()));
  }
  tick();
  setInterval(tick, 10000);

  function show(v) {
    root.className = v.pass ? "pass" : "deny";
    text("mark", v.pass ? "✓" : "✕");
    text("first", v.first_name);
    text("class", v.class);
    text("message", v.message);
    text("meals", v.meals_left);
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { root.className = "idle"; }, SHOW_MS);
  }

  function connect() {
    var es = new EventSource("/gate/" + encodeURIComponent(gate) + "/events?lang=" + lang);
    es.addEventListener("decision", function (e) { show(JSON.parse(e.data)); });
    // Marks the screen as listening (what a test, or a technician, can check).
    es.onopen = function () { root.dataset.connected = "1"; };
    es.onerror = function () {
      delete root.dataset.connected;
      if (es.readyState === EventSource.CLOSED) { setTimeout(connect, 3000); }
    };
  }
  connect();
})();
