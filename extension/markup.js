// The scheduling markup a page carries (docs/scheduling-markup.md), checked and
// normalised. Pure functions: the content script hands over the raw text or attributes
// it read from the DOM, nothing here touches the page, so Node tests it too.

export const MARKUP_TYPE = "application/vnd.syncd.scheduling+json";
export const ATTRIBUTE_MARKER = "data-syncd-scheduling";
export const SUPPORTED_VERSION = 1;
export const LIMITS = Object.freeze({
  jsonBytes: 16 * 1024,
  email: 320,
  name: 200,
  summary: 200,
  correlationId: 128,
  minDuration: 5,
  maxDuration: 1440,
});
export const LINK_KINDS = Object.freeze(["single_use", "reusable"]);

// The data-syncd-* attributes, as element.dataset names them, and their JSON paths.
const ATTRIBUTES = Object.freeze({
  syncdVersion: ["version"],
  syncdRecipientEmail: ["recipient", "email"],
  syncdRecipientName: ["recipient", "name"],
  syncdCorrelationId: ["correlation_id"],
  syncdEventSummary: ["event", "summary"],
  syncdEventDurationMinutes: ["event", "duration_minutes"],
  syncdLinkKind: ["link_kind"],
});

const CONTROL = /[\u0000-\u001f\u007f]/;
const EMAIL = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;

class MarkupError extends Error {}

/**
 * What the content script found → `{status, markup?, note?}`.
 * `found` is `{scripts: [text, ...], elements: [dataset, ...]}`; `status` is
 * `"found"` (with `markup`), `"none"` (no markup on the page) or `"ignored"` (with a
 * `note` saying why, for the popup).
 */
export function readMarkup(found) {
  const scripts = Array.isArray(found?.scripts) ? found.scripts : [];
  const elements = Array.isArray(found?.elements) ? found.elements : [];
  const count = scripts.length + elements.length;
  if (count === 0) return { status: "none" };
  if (count > 1) {
    return ignored(`the page has ${count} scheduling markup elements; exactly one is read`);
  }
  try {
    const raw = scripts.length === 1 ? parseJsonText(scripts[0]) : fromDataset(elements[0]);
    return { status: "found", markup: normalise(raw) };
  } catch (error) {
    if (error instanceof MarkupError) return ignored(error.message);
    throw error;
  }
}

function ignored(reason) {
  return { status: "ignored", note: `Scheduling markup ignored: ${reason}.` };
}

function parseJsonText(text) {
  if (typeof text !== "string") throw new MarkupError("the script element has no text");
  if (new TextEncoder().encode(text).length > LIMITS.jsonBytes) {
    throw new MarkupError(`the JSON is over ${LIMITS.jsonBytes} bytes`);
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MarkupError("the script element is not valid JSON");
  }
  if (!isObject(value)) throw new MarkupError("the JSON is not an object");
  return value;
}

function fromDataset(dataset) {
  const raw = {};
  for (const [key, path] of Object.entries(ATTRIBUTES)) {
    if (!dataset || !Object.hasOwn(dataset, key)) continue;
    let value = String(dataset[key]);
    if (key === "syncdVersion" || key === "syncdEventDurationMinutes") {
      value = /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : value;
    }
    let into = raw;
    for (const step of path.slice(0, -1)) into = into[step] ??= {};
    into[path[path.length - 1]] = value;
  }
  return raw;
}

function normalise(raw) {
  if (raw.version !== SUPPORTED_VERSION) {
    throw new MarkupError(`version must be ${SUPPORTED_VERSION}`);
  }
  const recipient = section(raw, "recipient");
  const event = section(raw, "event");
  const email = text(recipient.email, "recipient.email", LIMITS.email);
  if (email === undefined) throw new MarkupError("recipient.email is missing");
  if (!EMAIL.test(email)) throw new MarkupError("recipient.email is not an email address");
  const markup = {
    version: SUPPORTED_VERSION,
    recipient: { email, name: text(recipient.name, "recipient.name", LIMITS.name) ?? "" },
    correlation_id: text(raw.correlation_id, "correlation_id", LIMITS.correlationId) ?? null,
    event: {
      summary: text(event.summary, "event.summary", LIMITS.summary) ?? null,
      duration_minutes: duration(event.duration_minutes),
    },
    link_kind: linkKind(raw.link_kind),
  };
  return markup;
}

function section(raw, name) {
  const value = raw[name];
  if (value === undefined) return {};
  if (!isObject(value)) throw new MarkupError(`${name} is not an object`);
  return value;
}

function text(value, field, limit) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new MarkupError(`${field} is not a string`);
  const trimmed = value.trim();
  if (trimmed.length === 0) return undefined;
  if (trimmed.length > limit) throw new MarkupError(`${field} is over ${limit} characters`);
  if (CONTROL.test(trimmed)) throw new MarkupError(`${field} has control characters`);
  return trimmed;
}

function duration(value) {
  if (value === undefined || value === null) return null;
  const { minDuration: low, maxDuration: high } = LIMITS;
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new MarkupError(`event.duration_minutes must be a whole number from ${low} to ${high}`);
  }
  return value;
}

function linkKind(value) {
  if (value === undefined || value === null || value === "") return "single_use";
  if (!LINK_KINDS.includes(value)) {
    throw new MarkupError(`link_kind must be ${LINK_KINDS.join(" or ")}`);
  }
  return value;
}

function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An email (and name) typed into the popup, checked as markup would be. */
export function typedRecipient(email, name) {
  try {
    const markup = normalise({ version: SUPPORTED_VERSION, recipient: { email, name } });
    return { status: "found", markup };
  } catch (error) {
    if (error instanceof MarkupError) return { status: "ignored", note: `${error.message}.` };
    throw error;
  }
}
