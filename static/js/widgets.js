// Searchable selects (outsourcing/widgets.py): Tom Select on every <select data-widget="tom-select">,
// on page load and on whatever htmx swaps in. Loaded only on pages that have one.
(function () {
  "use strict";
  function noResults(select) {
    return function () {
      var div = document.createElement("div");
      div.className = "no-results";
      div.textContent = select.dataset.noResults || "";
      return div;
    };
  }
  function enhance(select) {
    if (select.tomselect || typeof window.TomSelect !== "function") { return; }
    var settings = {
      maxOptions: null,
      allowEmptyOption: !select.multiple,
      render: { no_results: noResults(select) },
      // The dropdown stays inside the form's stacking context; Bootstrap draws the rest.
      plugins: {}
    };
    if (select.multiple) {
      settings.plugins.remove_button = { title: select.dataset.removeLabel || "" };
      settings.closeAfterSelect = false;
      settings.hidePlaceholder = true;
      // Ready for the next value: the search text goes once a value is picked.
      settings.onItemAdd = function () { this.setTextboxValue(""); this.refreshOptions(false); };
    }
    new window.TomSelect(select, settings);
    // Tom Select moves the field's <label> to its own combobox and keeps the native select only
    // (visually hidden, tabindex -1) to submit the value: out of the accessibility tree, it is not
    // a second, unlabelled control (axe-core: select-name) nor a second match for the label.
    select.setAttribute("aria-hidden", "true");
  }
  function enhanceAll(root) {
    if (!root || !root.querySelectorAll) { return; }
    if (root.matches && root.matches('select[data-widget="tom-select"]')) { enhance(root); }
    root.querySelectorAll('select[data-widget="tom-select"]').forEach(enhance);
  }
  enhanceAll(document);
  // htmx fires htmx:load for each element it swaps in (and once for the body).
  document.addEventListener("htmx:load", function (event) { enhanceAll(event.target); });
})();
