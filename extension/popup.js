// The popup: asks the page's content script for the scheduling markup, offers the
// person's templates, makes the link through syncd's API and copies it.
// Opened as a tab (tests), it reads the page named by ?tab=<id>.
import { createLink, listTemplates, loadSettings } from "./api.js";

const $ = (id) => document.getElementById(id);

async function sourceTab() {
  const named = new URLSearchParams(location.search).get("tab");
  if (named) return Number(named);
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

async function readMarkup(tabId) {
  if (tabId === null) return { found: false, notes: [] };
  try {
    const answer = await chrome.tabs.sendMessage(tabId, { type: "syncd:read-markup" });
    return answer || { found: false, notes: [] };
  } catch (error) {
    return { found: false, notes: [], unreadable: true };
  }
}

function showNotes(notes) {
  const list = $("notes");
  list.replaceChildren();
  for (const note of notes) {
    const item = document.createElement("li");
    item.textContent = "The page's scheduling markup could not be fully read: " + note + ".";
    list.append(item);
  }
}

function prefill(result) {
  const detected = $("detected");
  if (result.found) {
    const who = result.markup.recipient;
    detected.textContent = "Detected on this page: " + (who.name ? who.name + " <" + who.email + ">" : who.email || "no email");
    $("email").value = who.email;
    $("name").value = who.name;
    $("summary").value = result.markup.event.summary;
    $("correlation").value = result.markup.correlation_id;
    document.querySelector(`input[name=kind][value=${result.markup.link_kind}]`).checked = true;
  } else {
    detected.textContent = result.unreadable
      ? "This page cannot be read; type the recipient's email."
      : "No scheduling markup on this page; type the recipient's email.";
  }
  showNotes(result.notes || []);
}

function offerTemplates(templates, duration) {
  const select = $("template");
  select.replaceChildren();
  for (const template of templates) {
    const option = document.createElement("option");
    option.value = template.template_id;
    option.textContent = template.name + " (" + template.duration_minutes + " min)";
    if (duration && template.duration_minutes === duration) option.selected = true;
    select.append(option);
  }
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (error) {
    $("link-url").select();
    return document.execCommand("copy");
  }
}

async function main() {
  const settings = await loadSettings();
  if (!settings.serverUrl || !settings.token) {
    $("setup").hidden = false;
    return;
  }
  const result = await readMarkup(await sourceTab());
  let answer;
  try {
    answer = await listTemplates(settings);
  } catch (error) {
    $("status").textContent = error.message;
    return;
  }
  if (!answer.link_templates.length) {
    $("status").textContent = "Make a link template first: Your Profile → Scheduling links.";
    return;
  }
  offerTemplates(answer.link_templates, result.found ? result.markup.event.duration_minutes : null);
  prefill(result);
  $("link-form").hidden = false;
  $("link-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("status").textContent = "Making the link…";
    const fields = {
      template_id: $("template").value,
      recipient: { email: $("email").value.trim(), name: $("name").value.trim() },
      link_kind: document.querySelector("input[name=kind]:checked").value
    };
    if ($("summary").value.trim()) fields.event = { summary: $("summary").value.trim() };
    if ($("correlation").value.trim()) fields.correlation_id = $("correlation").value.trim();
    try {
      const link = await createLink(settings, fields);
      $("link-url").value = link.url;
      $("result").hidden = false;
      const copied = await copy(link.url);
      $("status").textContent = copied ? "The link is made and copied." : "The link is made: copy it.";
    } catch (error) {
      $("status").textContent = "Not made: " + error.message;
    }
  });
  $("copy").addEventListener("click", () => copy($("link-url").value));
}

main();
