// The popup: reads the active tab's scheduling markup (content.js, injected with
// activeTab), lists the person's templates, creates the personalized link and copies it.
// `popup.html?tab=<id>` names the tab to read (the popup opened as a page, in tests).

import { ApiError, createLink, listTemplates } from "./api.js";
import { readMarkup, typedRecipient } from "./markup.js";
import { loadSettings, originPattern } from "./settings.js";

const $ = (id) => document.getElementById(id);
let detected = null; // the page's markup, when it had usable markup

async function sourceTabId() {
  const named = new URLSearchParams(location.search).get("tab");
  if (named !== null && /^\d+$/.test(named)) return Number(named);
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

async function pageMarkup() {
  const tabId = await sourceTabId();
  if (tabId === undefined) return { status: "none" };
  try {
    const [injection] = await chrome.scripting.executeScript({
      target: { tabId },
      files: ["content.js"],
    });
    return readMarkup(injection?.result);
  } catch {
    return { status: "none", note: "This page cannot be read; type the recipient's email." };
  }
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function showDetected(markup) {
  $("recipient-name").textContent = markup.recipient.name;
  $("recipient-email").textContent = `<${markup.recipient.email}>`;
  $("detected-summary").textContent = markup.event.summary ?? "";
  const kind = markup.link_kind === "reusable" ? "Reusable link" : "One-time link";
  $("detected-kind").textContent = kind;
  $("detected").hidden = false;
}

function fillTemplates(templates, durationMinutes) {
  const select = $("template");
  select.replaceChildren();
  for (const template of templates) {
    const option = document.createElement("option");
    option.value = template.template_id;
    option.textContent = `${template.name} (${template.duration_minutes} min)`;
    select.append(option);
  }
  if (durationMinutes !== null) {
    const match = templates.find((template) => template.duration_minutes === durationMinutes);
    if (match) select.value = match.template_id;
  }
  $("create").disabled = templates.length === 0;
  if (templates.length === 0) show($("problem"), "You have no link templates yet (Your Profile).");
}

async function copy(url) {
  try {
    await navigator.clipboard.writeText(url);
    return "Copied to the clipboard.";
  } catch {
    return "Copy the link from the box above.";
  }
}

async function create(event, settings) {
  event.preventDefault();
  show($("problem"), "");
  const chosen = detected
    ? { status: "found", markup: detected }
    : typedRecipient($("email").value, $("name").value);
  if (chosen.status !== "found") {
    show($("problem"), chosen.note);
    return;
  }
  if (!$("template").value) {
    show($("problem"), "Choose a template.");
    return;
  }
  $("create").disabled = true;
  try {
    const link = await createLink(settings, $("template").value, chosen.markup);
    $("link").value = link.url;
    $("result").hidden = false;
    $("copied").textContent = await copy(link.url);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    show($("problem"), error.message);
  } finally {
    $("create").disabled = false;
  }
}

async function main() {
  $("open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
  const found = await pageMarkup();
  if (found.status === "found") {
    detected = found.markup;
    showDetected(detected);
  } else {
    $("typed").hidden = false;
    show($("note"), found.note ?? "");
  }
  const settings = await loadSettings();
  const ready =
    settings.serverUrl &&
    settings.token &&
    (await chrome.permissions.contains({ origins: [originPattern(settings.serverUrl)] }));
  if (!ready) {
    $("setup").hidden = false;
    return;
  }
  $("link-form").addEventListener("submit", (event) => create(event, settings));
  try {
    fillTemplates(await listTemplates(settings), detected?.event.duration_minutes ?? null);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    $("create").disabled = true;
    show($("problem"), error.message);
  }
}

main();
