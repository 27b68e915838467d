// Buttons that ask before a destructive action: <button data-confirm-click="Really?">.
// A form-level data-confirm (static/js/app.js) would also ask for the form's harmless buttons.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-confirm-click]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm-click"))) {
      event.preventDefault();
    }
  }, true);
})();
