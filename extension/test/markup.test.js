// The markup parser (markup.js) as docs/scheduling-markup.md specifies it.
// Run: node --test extension/test/ (tests/unit/test_extension_markup.py does).
import assert from "node:assert/strict";
import { test } from "node:test";

import { LIMITS, readMarkup, typedRecipient } from "../markup.js";

const FULL = {
  version: 1,
  recipient: { email: "cara@example.com", name: "Cara Candidate" },
  correlation_id: "crm-42",
  event: { summary: "Interview with Acme", duration_minutes: 45 },
  link_kind: "reusable",
};

function json(value) {
  return readMarkup({ scripts: [JSON.stringify(value)], elements: [] });
}

function withEvent(event) {
  return json({ ...FULL, event: { ...FULL.event, ...event } });
}

test("a full JSON markup is read as written", () => {
  assert.deepEqual(json(FULL), { status: "found", markup: FULL });
});

test("the data-syncd attributes carry the same fields", () => {
  const dataset = {
    syncdScheduling: "",
    syncdVersion: "1",
    syncdRecipientEmail: "cara@example.com",
    syncdRecipientName: "Cara Candidate",
    syncdCorrelationId: "crm-42",
    syncdEventSummary: "Interview with Acme",
    syncdEventDurationMinutes: "45",
    syncdLinkKind: "reusable",
  };
  assert.deepEqual(readMarkup({ scripts: [], elements: [dataset] }), {
    status: "found",
    markup: FULL,
  });
});

test("only the email is required; the rest has defaults", () => {
  const result = json({ version: 1, recipient: { email: "cara@example.com" } });
  assert.deepEqual(result.markup, {
    version: 1,
    recipient: { email: "cara@example.com", name: "" },
    correlation_id: null,
    event: { summary: null, duration_minutes: null },
    link_kind: "single_use",
  });
});

test("unknown keys are ignored", () => {
  const result = json({ ...FULL, colour: "red", recipient: { ...FULL.recipient, phone: "1" } });
  assert.deepEqual(result, { status: "found", markup: FULL });
});

test("a page without markup has none, and no note", () => {
  assert.deepEqual(readMarkup({ scripts: [], elements: [] }), { status: "none" });
});

test("two markup elements are both ignored, with a note", () => {
  const result = readMarkup({ scripts: [JSON.stringify(FULL)], elements: [{}] });
  assert.equal(result.status, "ignored");
  assert.match(result.note, /2 scheduling markup elements/);
});

test("text that is not JSON is ignored with a note", () => {
  const result = readMarkup({ scripts: ["{version: 1"], elements: [] });
  assert.equal(result.status, "ignored");
  assert.match(result.note, /not valid JSON/);
});

test("JSON that is not an object is ignored", () => {
  assert.match(json([FULL]).note, /not an object/);
});

test("JSON over 16 KB is ignored before it is parsed", () => {
  const padded = JSON.stringify({ ...FULL, padding: "x".repeat(LIMITS.jsonBytes) });
  const result = readMarkup({ scripts: [padded], elements: [] });
  assert.match(result.note, /over 16384 bytes/);
});

test("another version is ignored", () => {
  assert.match(json({ ...FULL, version: 2 }).note, /version must be 1/);
  assert.match(json({ ...FULL, version: "1" }).note, /version must be 1/);
});

test("a missing or malformed email is ignored", () => {
  assert.match(json({ version: 1 }).note, /recipient.email is missing/);
  assert.match(json({ ...FULL, recipient: { email: "cara" } }).note, /not an email address/);
  assert.match(json({ ...FULL, recipient: { email: 7 } }).note, /not a string/);
});

test("each text field has its cap", () => {
  const long = (n) => "a".repeat(n);
  const email = `${long(LIMITS.email)}@example.com`;
  assert.match(json({ ...FULL, recipient: { email } }).note, /recipient.email is over 320/);
  const name = long(LIMITS.name + 1);
  assert.match(json({ ...FULL, recipient: { ...FULL.recipient, name } }).note, /over 200/);
  assert.match(withEvent({ summary: long(LIMITS.summary + 1) }).note, /event.summary is over 200/);
  const correlation = long(LIMITS.correlationId + 1);
  assert.match(json({ ...FULL, correlation_id: correlation }).note, /correlation_id is over 128/);
  assert.equal(json({ ...FULL, correlation_id: long(128) }).status, "found");
});

test("control characters in a text field are refused", () => {
  assert.match(withEvent({ summary: "Hi\u0007there" }).note, /control characters/);
});

test("the duration is a whole number of minutes from 5 to 1440", () => {
  assert.equal(withEvent({ duration_minutes: 5 }).status, "found");
  assert.equal(withEvent({ duration_minutes: 1440 }).status, "found");
  for (const bad of [4, 1441, 30.5, "30"]) {
    assert.match(withEvent({ duration_minutes: bad }).note, /from 5 to 1440/, String(bad));
  }
});

test("a duration attribute that is not digits is refused", () => {
  const dataset = { syncdVersion: "1", syncdRecipientEmail: "c@example.com" };
  const result = readMarkup({ elements: [{ ...dataset, syncdEventDurationMinutes: "1e2" }] });
  assert.match(result.note, /from 5 to 1440/);
});

test("link_kind is single_use or reusable", () => {
  assert.match(json({ ...FULL, link_kind: "forever" }).note, /single_use or reusable/);
});

test("recipient and event must be objects", () => {
  assert.match(json({ ...FULL, recipient: "cara@example.com" }).note, /recipient is not an object/);
  assert.match(json({ ...FULL, event: [] }).note, /event is not an object/);
});

test("text is trimmed and blank optional text counts as absent", () => {
  const result = json({ ...FULL, recipient: { email: " cara@example.com ", name: "  " } });
  assert.deepEqual(result.markup.recipient, { email: "cara@example.com", name: "" });
});

test("an email typed into the popup is checked as markup would be", () => {
  assert.equal(typedRecipient("cara@example.com", "Cara").markup.recipient.name, "Cara");
  assert.deepEqual(typedRecipient("cara", ""), {
    status: "ignored",
    note: "recipient.email is not an email address.",
  });
});
