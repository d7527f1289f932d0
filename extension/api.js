// syncd's personalized-link API (docs/api.md, "Personalized links"), called with the
// person's extension token.

export class ApiError extends Error {}

async function call(settings, method, path, body) {
  let response;
  try {
    response = await fetch(settings.serverUrl + path, {
      method,
      headers: {
        Authorization: `Bearer ${settings.token}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      redirect: "error",
    });
  } catch {
    throw new ApiError(`Cannot reach ${settings.serverUrl}.`);
  }
  const answer = await response.json().catch(() => null);
  if (response.status === 401) {
    throw new ApiError("The server refused the extension token (revoked?). Check the options.");
  }
  if (!response.ok) throw new ApiError(describe(response.status, answer));
  return answer;
}

function describe(status, answer) {
  const errors = answer?.errors;
  if (errors && typeof errors === "object") {
    const parts = Object.entries(errors).flatMap(([field, problems]) =>
      (Array.isArray(problems) ? problems : []).map(
        (problem) => `${field}: ${problem.description ?? problem.key ?? "invalid"}`,
      ),
    );
    if (parts.length) return parts.join("; ");
  }
  return answer?.message ?? `The server answered ${status}.`;
}

/** The person's link templates: `[{template_id, name, duration_minutes}]`. */
export async function listTemplates(settings) {
  const answer = await call(settings, "GET", "/v1/personalized_links/templates");
  return Array.isArray(answer?.link_templates) ? answer.link_templates : [];
}

/** A new personalized link for `markup`'s recipient from `templateId`. */
export async function createLink(settings, templateId, markup) {
  const body = {
    template_id: templateId,
    recipient: { email: markup.recipient.email, name: markup.recipient.name },
    link_kind: markup.link_kind,
    source: "extension",
  };
  if (markup.correlation_id) body.correlation_id = markup.correlation_id;
  if (markup.event.summary) body.event = { summary: markup.event.summary };
  const answer = await call(settings, "POST", "/v1/personalized_links", body);
  const link = answer?.personalized_link;
  if (!link?.url) throw new ApiError("The server's answer has no link.");
  return link;
}
