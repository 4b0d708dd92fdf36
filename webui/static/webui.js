// memstream web view: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // The time control applies as soon as a date, clock or checkbox changes.
  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () {
      if (field.type === "date" && field.value === "") return;
      if (field.form.requestSubmit) field.form.requestSubmit(); else field.form.submit();
    });
  });
  // "/" focuses the search box, as on most sites.
  document.addEventListener("keydown", function (event) {
    var box = document.querySelector("form.search input[type=search]");
    var typing = /^(INPUT|SELECT|TEXTAREA)$/.test((event.target || {}).tagName || "");
    if (box && event.key === "/" && !typing) { event.preventDefault(); box.focus(); }
  });
  // A chat_time is shown as sent; hovering it shows the same moment in local time.
  document.querySelectorAll(".chat-time").forEach(function (el) {
    var when = new Date(el.textContent.trim());
    if (!isNaN(when)) el.title = when.toLocaleString();
  });
})();
