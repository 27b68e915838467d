// Bulk actions: "select all on this page" and how many rows are ticked.
// The rows' checkboxes point at their bulk form (form="ID"); without this file the
// form still works: tick rows, choose an action, submit.
(function () {
  "use strict";
  function rows(form) {
    return Array.prototype.slice.call(
      document.querySelectorAll('input[type="checkbox"][form="' + form.id + '"]:not([data-bulk-all])')
    );
  }
  function update(form) {
    var boxes = rows(form);
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    // On a phone the actions wait folded until a row is ticked (static/css/app.css).
    form.classList.toggle("bulk-none", ticked === 0);
    var count = form.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = (ticked ? form.dataset.countText : form.dataset.noneText).replace("{n}", ticked);
    }
    document.querySelectorAll('[data-bulk-all="' + form.id + '"]').forEach(function (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
  }
  document.querySelectorAll("form[data-bulk]").forEach(function (form) {
    document.querySelectorAll('[data-bulk-all="' + form.id + '"]').forEach(function (all) {
      var wrapper = all.closest(".d-none");
      if (wrapper) { wrapper.classList.remove("d-none"); }
      all.addEventListener("change", function () {
        rows(form).forEach(function (box) { box.checked = all.checked; });
        update(form);
      });
    });
    update(form);
  });
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.form && box.form.hasAttribute("data-bulk") && !box.dataset.bulkAll) {
      update(box.form);
    }
  });
  // A row swapped by htmx after a single action: count again.
  document.body.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("form[data-bulk]").forEach(update);
  });
})();
