// The project's own behaviour. Loaded with a CSP nonce; no inline handlers anywhere.
(function () {
  "use strict";
  // Forms that ask before a destructive action: <form data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
  // <select data-fills-currency="ID"> whose options carry data-currency (an engagement's provider):
  // choosing one puts its currency into the select ID, unless the person chose another currency there.
  function suggestedCurrency(select) {
    var option = select.selectedOptions[0];
    return option ? option.dataset.currency || "" : "";
  }
  document.querySelectorAll("select[data-fills-currency]").forEach(function (select) {
    select.dataset.currencyShown = suggestedCurrency(select);
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.fillsCurrency) { return; }
    var target = document.getElementById(select.dataset.fillsCurrency);
    var currency = suggestedCurrency(select);
    if (target && currency && (target.value === "" || target.value === select.dataset.currencyShown)) {
      if (target.tomselect) { target.tomselect.setValue(currency, true); } else { target.value = currency; }
    }
    select.dataset.currencyShown = currency;
  });
  // htmx: ask the same question for hx-confirm is built in; show server errors instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    if (!box) { return; }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.textContent = (box.dataset.errorText || "Something went wrong.") + " (" + event.detail.xhr.status + ")";
    box.appendChild(alert);
  });
})();
