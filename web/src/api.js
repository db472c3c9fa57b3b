// The JSON API client: cookie sign-in with the CSRF header on every mutation, one transparent
// refresh on a 401, errors as ApiError { status, code, message }, and uploads through
// XMLHttpRequest for their progress events.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function csrfToken() {
  const name = location.protocol === "https:" ? "__Host-burstflare_csrf=" : "burstflare_csrf=";
  const cookie = document.cookie.split("; ").find((c) => c.startsWith(name));
  return cookie ? cookie.slice(name.length) : "";
}

function headers(method, json) {
  const h = {};
  if (json) h["content-type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") h["x-burstflare-csrf"] = csrfToken();
  return h;
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  if (type.startsWith("application/json")) {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, body.code || "error", body.error || response.statusText);
    return body;
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, "error", text || response.statusText);
  return text;
}

let refreshing = null;
/** Trades the refresh cookie for new access cookies (once at a time); false when signed out. */
async function refresh() {
  if (!refreshing) {
    refreshing = fetch("/api/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: headers("POST", true),
      body: "{}",
    })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

const AUTH_ROUTES = ["/api/auth/login", "/api/auth/register", "/api/auth/refresh"];

/** Calls the API; `body` (if any) is sent as JSON. Resolves to the parsed JSON (or text). */
export async function api(method, path, body) {
  const send = () =>
    fetch(path, {
      method,
      credentials: "same-origin",
      headers: headers(method, body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await send();
  if (response.status === 401 && !AUTH_ROUTES.includes(path) && (await refresh())) {
    response = await send();
  }
  return parse(response);
}

/** PUTs `file` to `url` (an upload grant's URL), reporting progress as a fraction 0..1. */
export function upload(url, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("content-type", contentType);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body.code || "error", body.error || "Upload failed"));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload was interrupted")));
    xhr.send(file);
  });
}

/** `/api/...` with `{name}` placeholders filled in order, each value URL-encoded. */
export function path(template, ...values) {
  let i = 0;
  return template.replace(/\{[^}]+\}/g, () => encodeURIComponent(values[i++] ?? ""));
}
