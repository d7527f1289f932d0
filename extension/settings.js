// Where the extension keeps its settings (chrome.storage.local): the syncd server's
// address and the person's extension token. Shared by the options page and the popup.

const KEYS = ["serverUrl", "token"];

/** The server's origin-and-path without a trailing slash, or an Error's message. */
export function normaliseServerUrl(text) {
  let url;
  try {
    url = new URL(String(text).trim());
  } catch {
    throw new Error("The server address is not a URL.");
  }
  if (url.protocol !== "https:" && !isLoopback(url.hostname)) {
    throw new Error("The server address must use https (http only for 127.0.0.1 or localhost).");
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new Error("The server address has no user, query or fragment.");
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}

/** The host permission pattern the server needs (asked for when it is saved). */
export function originPattern(serverUrl) {
  return `${new URL(serverUrl).origin}/*`;
}

function isLoopback(hostname) {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

export async function loadSettings() {
  const stored = await chrome.storage.local.get(KEYS);
  return { serverUrl: stored.serverUrl ?? "", token: stored.token ?? "" };
}

export async function saveSettings(serverUrl, token) {
  await chrome.storage.local.set({ serverUrl, token });
}
