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
