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
  // --- Announcements and focus ----------------------------------------------------------------
  // Two visually hidden live regions in base.html: #live-status (polite, role=status) and
  // #live-alert (assertive, role=alert). Screen readers speak the text put into them; the region is
  // emptied first, so the same words twice in a row are spoken twice.
  function tidy(text) { return (text || "").replace(/\s+/g, " ").trim(); }
  function announce(text, urgent) {
    var region = document.getElementById(urgent ? "live-alert" : "live-status");
    text = tidy(text);
    if (!region || !text) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }
  function liveText(name, fallback) {
    var region = document.getElementById("live-alert");
    return (region && region.dataset[name]) || fallback;
  }
  // Django's messages (templates/partials/messages.html) and the ones htmx appends to #messages.
  function announceAlerts(alerts) {
    var polite = [], urgent = [];
    alerts.forEach(function (alert) {
      (alert.classList.contains("alert-danger") ? urgent : polite).push(tidy(alert.textContent));
    });
    if (urgent.length) { announce(urgent.concat(polite).join(" "), true); } else { announce(polite.join(" "), false); }
  }
  function focusElement(element) {
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
  }
  // The control a person types into for a field: Tom Select hides the <select> behind its own input.
  function controlFor(field) {
    var tom = field.id && document.getElementById(field.id + "-ts-control");
    return tom || field;
  }
  function labelFor(field) {
    // Tom Select moves a select's <label> to its own input (controlFor).
    var label = (field.labels && field.labels[0]) || (controlFor(field).labels || [])[0];
    if (!label) {
      var fieldset = field.closest("fieldset");
      label = fieldset && fieldset.querySelector("legend");
    }
    return label ? tidy(label.textContent).replace(/\*$/, "") : "";
  }
  function errorsFor(field) {
    return (field.getAttribute("aria-describedby") || "").split(/\s+/).map(function (id) {
      var described = id && document.getElementById(id);
      return described && described.classList.contains("invalid-feedback") ? tidy(described.textContent) : "";
    }).filter(Boolean).join(" ");
  }
  // A form sent back with errors: focus its first invalid field and say what is wrong with it.
  // Returns false when the region holds no error.
  function focusFirstError(region) {
    var shown = function (element) { return element.getClientRects().length > 0; };
    var field = Array.prototype.find.call(region.querySelectorAll("[aria-invalid=true], .is-invalid"), function (f) {
      return shown(controlFor(f));
    });
    // A form's own errors (crispy's block, or Django's errorlist in an alert), not any red notice.
    var summary = Array.prototype.find.call(
      region.querySelectorAll("form .alert-block.alert-danger, form .alert-danger .errorlist.nonfield"), shown);
    summary = summary && summary.closest(".alert");
    if (!field && !summary) { return false; }
    var words = [liveText("invalidText", "Not saved: please correct the marked fields.")];
    if (summary) { words.push(tidy(summary.textContent)); }
    if (field) {
      words.push(labelFor(field) + ": " + errorsFor(field));
      focusElement(controlFor(field));
    } else {
      focusElement(summary);
    }
    announce(words.join(" "), true);
    return true;
  }
  // A table wider than its box scrolls sideways: keyboard users must be able to reach it (tabindex)
  // and a screen reader to say what it is (a region named by its caption or its section's heading).
  function markScrollingTables() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute("tabindex")) {
        var section = box.closest("section, article, main");
        var heading = box.querySelector("caption") || (section && section.querySelector("h1, h2, h3, h4"));
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", tidy(heading ? heading.textContent : document.title));
        box.dataset.scrollRegion = "true";
      } else if (!scrolls && box.dataset.scrollRegion) {
        ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (name) { box.removeAttribute(name); });
      }
    });
  }
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(markScrollingTables, 150);
  });
  document.body.addEventListener("htmx:load", markScrollingTables);
  document.addEventListener("DOMContentLoaded", function () {
    markScrollingTables();
    var alerts = document.querySelectorAll("#messages .alert");
    var main = document.getElementById("main");
    if (!(main && focusFirstError(main)) && alerts.length) { announceAlerts(alerts); }
  });
  // htmx: a swap replaces what had focus. After a form's swap, focus goes to its first error or to its
  // result (an element marked data-swap-focus, else the swapped region), and the outcome is announced.
  var pending = null;
  // A form sent: what the live regions said about the last one is over.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!(event.detail.elt instanceof HTMLFormElement)) { return; }
    ["live-status", "live-alert"].forEach(function (id) {
      var region = document.getElementById(id);
      if (region) { region.textContent = ""; }
    });
  });
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var box = document.getElementById("messages");
    pending = {
      xhr: event.detail.xhr,
      target: event.detail.target,
      targetId: event.detail.target && event.detail.target.id,
      fromForm: event.detail.requestConfig && event.detail.requestConfig.elt instanceof HTMLFormElement,
      alertsBefore: box ? box.querySelectorAll(".alert").length : 0,
    };
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (!pending || event.detail.xhr !== pending.xhr) { return; }
    var swap = pending;
    pending = null;
    var region = swap.target && swap.target.isConnected ? swap.target : document.getElementById(swap.targetId);
    var box = document.getElementById("messages");
    var added = box ? Array.prototype.slice.call(box.querySelectorAll(".alert"), swap.alertsBefore) : [];
    if (region && swap.fromForm && focusFirstError(region)) { return; }
    if (added.length) { announceAlerts(added); }
    if (region && swap.fromForm) { focusElement(region.querySelector("[data-swap-focus]") || region); }
  });
  // Show and announce server errors instead of failing silently; focus stays where it was.
  function reportError(text) {
    var box = document.getElementById("messages");
    if (box) {
      var alert = document.createElement("div");
      alert.className = "alert alert-danger";
      alert.textContent = text;
      box.appendChild(alert);
    }
    announce(text, true);
  }
  document.body.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    var text = (box && box.dataset.errorText) || "Something went wrong.";
    reportError(text + " (" + event.detail.xhr.status + ")");
  });
  document.body.addEventListener("htmx:sendError", function () {
    reportError(liveText("offlineText", "The server could not be reached. Please try again."));
  });
})();
