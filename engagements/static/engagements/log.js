// The message log form: choosing a direction suggests the usual kind (CSP: no inline handlers).
(function () {
  "use strict";
  var KIND_FOR = { "in": "reply", "note": "other" };
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLSelectElement) || field.name !== "direction") { return; }
    var form = field.closest("[data-message-form]");
    var kind = form && form.querySelector("select[name=kind]");
    if (!kind) { return; }
    kind.value = KIND_FOR[field.value] || form.dataset.outKind || "request";
  });
})();
