// Reads the page's scheduling markup (docs/scheduling-markup.md) when the popup asks.
// It only reads the DOM: the page's scripts are never run, and nothing is sent anywhere.
// A classic script (content scripts cannot be modules); the popup does everything else.
(function () {
  "use strict";
  var TYPE = "application/vnd.syncd.scheduling+json";
  var MAX_JSON = 16 * 1024;
  var LIMITS = { email: 320, name: 200, correlation_id: 128, summary: 1024 };

  function text(value, limit, field, notes) {
    if (value === undefined || value === null || value === "") return "";
    if (typeof value !== "string") {
      notes.push(field + " is not text; ignored");
      return "";
    }
    var trimmed = value.trim();
    if (trimmed.length > limit) {
      notes.push(field + " is longer than " + limit + " characters; ignored");
      return "";
    }
    return trimmed;
  }

  function normalise(raw, notes) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      notes.push("the markup is not an object");
      return null;
    }
    if (String(raw.version) !== "1") {
      notes.push("unknown markup version " + JSON.stringify(raw.version === undefined ? null : raw.version));
      return null;
    }
    var recipient = raw.recipient && typeof raw.recipient === "object" ? raw.recipient : {};
    var event = raw.event && typeof raw.event === "object" ? raw.event : {};
    var email = text(recipient.email, LIMITS.email, "recipient.email", notes);
    if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) {
      notes.push("recipient.email is not an email address; ignored");
      email = "";
    }
    var duration = null;
    if (event.duration_minutes !== undefined && event.duration_minutes !== "") {
      var minutes = Number(event.duration_minutes);
      if (Number.isInteger(minutes) && minutes >= 5 && minutes <= 480) duration = minutes;
      else notes.push("event.duration_minutes is not a whole number from 5 to 480; ignored");
    }
    var kind = raw.link_kind === "reusable" ? "reusable" : "single_use";
    if (raw.link_kind !== undefined && raw.link_kind !== "reusable" && raw.link_kind !== "single_use") {
      notes.push("link_kind must be single_use or reusable; single_use is used");
    }
    return {
      recipient: { email: email, name: text(recipient.name, LIMITS.name, "recipient.name", notes) },
      correlation_id: text(raw.correlation_id, LIMITS.correlation_id, "correlation_id", notes),
      event: { summary: text(event.summary, LIMITS.summary, "event.summary", notes), duration_minutes: duration },
      link_kind: kind
    };
  }

  function fromScript(notes) {
    var element = document.querySelector('script[type="' + TYPE + '"]');
    if (!element) return null;
    var body = element.textContent || "";
    if (body.length > MAX_JSON) {
      notes.push("the markup is larger than 16 KiB; ignored");
      return null;
    }
    try {
      return normalise(JSON.parse(body), notes);
    } catch (error) {
      notes.push("the markup is not valid JSON");
      return null;
    }
  }

  function fromAttributes(notes) {
    var element = document.querySelector("[data-syncd-recipient-email]");
    if (!element) return null;
    var read = function (name) { return element.getAttribute("data-syncd-" + name); };
    return normalise(
      {
        version: read("version"),
        recipient: { email: read("recipient-email"), name: read("recipient-name") },
        correlation_id: read("correlation-id"),
        event: { summary: read("event-summary"), duration_minutes: read("event-duration-minutes") },
        link_kind: read("link-kind") || undefined
      },
      notes
    );
  }

  function readMarkup() {
    var notes = [];
    var found = fromScript(notes);
    if (!found) found = fromAttributes(notes);
    return { found: Boolean(found), markup: found, notes: notes, page: { title: document.title, url: location.href } };
  }

  chrome.runtime.onMessage.addListener(function (message, sender, reply) {
    if (message && message.type === "syncd:read-markup") reply(readMarkup());
  });
})();
