// The portal's only way to the API: bearer token, JSON errors, ETag-aware GETs, server clock.
const TOKEN_KEY = "wafleet.token";
const etags = new Map();

// The ID token lives in localStorage, as Cognito's own client libraries keep it: every tab
// and reload of this origin shares one sign-in until the token expires.
function expiry(value) {
  try {
    const part = value.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4))).exp * 1000;
  } catch { return 0; }
}
export function token() {
  const value = localStorage.getItem(TOKEN_KEY);
  if (value && expiry(value) > Date.now()) return value;
  if (value) localStorage.removeItem(TOKEN_KEY);
  return null;
}
export function setToken(value) { localStorage.setItem(TOKEN_KEY, value); }
export function signOut() { localStorage.removeItem(TOKEN_KEY); location.href = "/index.html"; }

// How far the server's clock is ahead of this one (ms), from the X-Server-Time header that
// every polled response (200 or 304) carries; countdowns use serverNow(), never Date.now().
let offsetMs = 0;
export function serverNow() { return Date.now() + offsetMs; }

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `request failed (${status})`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}

export async function api(path, { method = "GET", body, conditional = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const cached = etags.get(path);
  if (conditional && cached) headers["If-None-Match"] = cached.etag;
  let response;
  const sent = Date.now();
  try {
    response = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: "offline", message: "Cannot reach wafleet. Check your connection; we keep trying." } });
  }
  const server = Number(response.headers.get("X-Server-Time"));
  if (server) offsetMs = server - (sent + Date.now()) / 2;
  if (response.status === 304 && cached) return { ...cached.data, notModified: true };
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  const etag = response.headers.get("ETag");
  if (conditional && etag) etags.set(path, { etag, data });
  return data;
}

// Poll `fn` every `ms`; pause while the tab is hidden, resume (at once) when it is shown.
// `now()` on the returned handle polls at once (and restarts the interval).
export function poll(fn, ms) {
  let timer = null;
  const tick = async () => {
    clearTimeout(timer);
    if (document.hidden) return;
    try { await fn(); } finally { if (!document.hidden) { clearTimeout(timer); timer = setTimeout(tick, ms); } }
  };
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); else clearTimeout(timer); });
  tick();
  return { stop: () => clearTimeout(timer), now: tick };
}
