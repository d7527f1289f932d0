// The options page: the syncd server address and the extension token, kept in
// chrome.storage.local. Saving asks for the one host permission the server needs.

import { loadSettings, normaliseServerUrl, originPattern, saveSettings } from "./settings.js";

const $ = (id) => document.getElementById(id);

async function save(event) {
  event.preventDefault();
  let serverUrl;
  try {
    serverUrl = normaliseServerUrl($("server").value);
  } catch (error) {
    $("status").textContent = error.message;
    return;
  }
  const token = $("token").value.trim();
  const origins = [originPattern(serverUrl)];
  const granted =
    (await chrome.permissions.contains({ origins })) ||
    (await chrome.permissions.request({ origins }));
  if (!granted) {
    $("status").textContent = `Not saved: the extension needs access to ${origins[0]}.`;
    return;
  }
  await saveSettings(serverUrl, token);
  $("server").value = serverUrl;
  $("status").textContent = "Saved.";
}

async function main() {
  const settings = await loadSettings();
  $("server").value = settings.serverUrl;
  $("token").value = settings.token;
  $("options").addEventListener("submit", save);
}

main();
