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

  // Booking page: show the times in the browser's zone unless the invitee chose one.
  function browserZoneForSlots() {
    var form = document.querySelector("[data-zone-auto]");
    if (!form || !window.Intl) return;
    var params = new URLSearchParams(window.location.search);
    if (params.has("tz")) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!zone) return;
    params.set("tz", zone);
    window.location.replace(window.location.pathname + "?" + params.toString());
  }

  // New account in the authorization flow: start it in the browser's time zone.
  function fillBrowserZone() {
    var field = document.querySelector("[data-browser-zone]");
    if (!field || !window.Intl) return;
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  }

  document.addEventListener("DOMContentLoaded", suggestZone);
  document.addEventListener("DOMContentLoaded", fillBrowserZone);
  document.addEventListener("DOMContentLoaded", browserZoneForSlots);
})();
