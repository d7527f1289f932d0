// The extension's settings and its two calls to syncd's API (docs/api.md,
// "Personalized links"), authenticated with the person's extension token.

export async function loadSettings() {
  const stored = await chrome.storage.local.get(["serverUrl", "token"]);
  return { serverUrl: (stored.serverUrl || "").replace(/\/+$/, ""), token: stored.token || "" };
}

export async function saveSettings(serverUrl, token) {
  await chrome.storage.local.set({ serverUrl: serverUrl.trim().replace(/\/+$/, ""), token: token.trim() });
}

async function call(settings, method, path, body) {
  const response = await fetch(settings.serverUrl + path, {
    method,
    headers: {
      Authorization: "Bearer " + settings.token,
      ...(body ? { "Content-Type": "application/json" } : {})
    },
    body: body ? JSON.stringify(body) : undefined
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch (error) {
    answer = null;
  }
  if (!response.ok) throw new Error(describe(response.status, answer));
  return answer;
}

function describe(status, answer) {
  if (status === 401) return "syncd refused the token: make a new one in Your Profile → Extension tokens.";
  if (answer && answer.errors) {
    return Object.entries(answer.errors)
      .map(([field, errors]) => field + ": " + errors.map((e) => e.description).join(", "))
      .join("; ");
  }
  return "syncd answered " + status + ".";
}

export async function listTemplates(settings) {
  return call(settings, "GET", "/v1/personalized_links/templates");
}

export async function createLink(settings, fields) {
  const answer = await call(settings, "POST", "/v1/personalized_links", { ...fields, source: "extension" });
  return answer.personalized_link;
}
