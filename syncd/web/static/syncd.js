// syncd's pages: small progressive enhancements (the pages work without them).
// Served from /static so the Content-Security-Policy can forbid inline script.
(function () {
  "use strict";

  // Your Profile: suggest the browser's own time zone next to the time zone field.
  function suggestZone() {
    var hint = document.querySelector("[data-zone-suggestion]");
    var input = document.getElementById("timezone");
    if (!hint || !input || !window.Intl) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone || zone === input.value) return;
    hint.querySelector("[data-zone-name]").textContent = zone;
    hint.hidden = false;
    hint.querySelector("[data-use-zone]").addEventListener("click", function () {
      input.value = zone;
      input.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", suggestZone);
})();
