// selfgate cash desk: the "Print" button of a receipt, and a cheque's number and bank shown
// (and required) only when the mode is a cheque. The forms work without it.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (b) {
    if (b.dataset.bound) { return; }
    b.dataset.bound = "1";
    b.addEventListener("click", function () { window.print(); });
  });
  function sync(select) {
    var cheque = select.value === "cheque";
    select.form.querySelectorAll("[data-cheque]").forEach(function (label) {
      label.hidden = !cheque;
      label.querySelectorAll("input").forEach(function (i) { i.required = cheque; });
    });
  }
  document.querySelectorAll("select[name=mode]").forEach(function (select) {
    if (select.dataset.bound) { return; }
    select.dataset.bound = "1";
    sync(select);
    select.addEventListener("change", function () { sync(select); });
  });
})();
