// Options: the syncd server's address and the person's extension token, checked
// against the server before they are kept.
import { listTemplates, loadSettings, saveSettings } from "./api.js";

const form = document.getElementById("options");
const server = document.getElementById("server-url");
const token = document.getElementById("token");
const status = document.getElementById("status");

loadSettings().then((settings) => {
  server.value = settings.serverUrl;
  token.value = settings.token;
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "Checking…";
  try {
    const answer = await listTemplates({ serverUrl: server.value.trim().replace(/\/+$/, ""), token: token.value.trim() });
    await saveSettings(server.value, token.value);
    status.textContent = "Saved. Signed in as " + answer.account.email + " with " + answer.link_templates.length + " template(s).";
  } catch (error) {
    status.textContent = "Not saved: " + error.message;
  }
});
