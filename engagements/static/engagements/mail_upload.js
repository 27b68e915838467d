// Mail upload: send the form with XMLHttpRequest to show how far a large file has gone up,
// then follow to the import's progress page. Without this script the form posts as usual.
// CSP: no inline code or styles; widths are set through the CSSOM (element.style), which it allows.
(function () {
  "use strict";

  function show(bar, percent) {
    var value = Math.max(0, Math.min(100, Math.floor(percent)));
    var meter = bar.closest("[role=progressbar]");
    bar.style.width = value + "%";
    bar.dataset.percent = String(value);
    if (meter) { meter.setAttribute("aria-valuenow", String(value)); }
  }

  // Bars drawn by the server carry their value in data-percent: the page and every htmx swap.
  function paint(root) {
    root.querySelectorAll(".progress-bar[data-percent]").forEach(function (bar) {
      show(bar, Number(bar.dataset.percent) || 0);
    });
  }
  paint(document);
  document.body.addEventListener("htmx:load", function (event) { paint(event.target); });

  function fail(form, messages) {
    var box = form.querySelector("[data-upload-errors]");
    box.textContent = "";
    messages.forEach(function (text) {
      var line = document.createElement("div");
      line.textContent = text;
      box.appendChild(line);
    });
    box.classList.remove("d-none");
    form.querySelector("[data-upload-progress]").classList.add("d-none");
    form.querySelector("button[type=submit]").disabled = false;
  }

  function tooLarge(form, input) {
    var limit = Number(form.dataset.maxBytes) || 0;
    var names = [];
    Array.prototype.forEach.call(input.files || [], function (file) {
      if (limit && file.size > limit) { names.push(form.dataset.textTooLarge + " " + file.name); }
    });
    return names;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // app.js may have cancelled it (a confirmation answered "no").
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-mail-upload") || event.defaultPrevented) { return; }
    if (!window.FormData || !window.XMLHttpRequest) { return; }
    var input = form.querySelector("input[type=file]");
    var wrapper = form.querySelector("[data-upload-progress]");
    var bar = wrapper.querySelector(".progress-bar");
    var text = wrapper.querySelector("[data-upload-text]");
    if (!input || !input.files || !input.files.length) { return; }  // the server says what is missing
    event.preventDefault();

    var refused = tooLarge(form, input);
    if (refused.length) { fail(form, refused); return; }

    form.querySelector("[data-upload-errors]").classList.add("d-none");
    form.querySelector("button[type=submit]").disabled = true;
    wrapper.classList.remove("d-none");
    show(bar, 0);
    text.textContent = form.dataset.textUploading;

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action") || window.location.href);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (progress) {
      if (!progress.lengthComputable) { return; }
      var percent = 100 * progress.loaded / progress.total;
      show(bar, percent);
      text.textContent = form.dataset.textUploading + " " + Math.floor(percent) + " %";
    });
    xhr.upload.addEventListener("load", function () {
      show(bar, 100);
      text.textContent = form.dataset.textProcessing;
    });
    xhr.addEventListener("load", function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = null; }
      if (xhr.status === 200 && answer && answer.url) {
        window.location.assign(answer.url);
      } else if (answer && answer.errors && answer.errors.length) {
        fail(form, answer.errors);
      } else {
        fail(form, [form.dataset.textFailed + " (" + xhr.status + ")"]);
      }
    });
    xhr.addEventListener("error", function () { fail(form, [form.dataset.textFailed]); });
    xhr.addEventListener("abort", function () { fail(form, [form.dataset.textFailed]); });
    xhr.send(new FormData(form));
  });
})();
