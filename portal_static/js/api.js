// The portal's only way to the API: bearer token, JSON errors, ETag-aware GETs.
const TOKEN_KEY = "wafleet.token";
const etags = new Map();

export function token() { return sessionStorage.getItem(TOKEN_KEY); }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value); }
export function signOut() { sessionStorage.removeItem(TOKEN_KEY); location.href = "/index.html"; }

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
  try {
    response = await fetch(`/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { error: { code: "offline", message: "Cannot reach wafleet. Check your connection; we keep trying." } });
  }
  if (response.status === 401) { signOut(); throw new ApiError(401, {}); }
  if (response.status === 304 && cached) return { ...cached.data, notModified: true };
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  const etag = response.headers.get("ETag");
  if (conditional && etag) etags.set(path, { etag, data });
  return data;
}

// Poll `fn` every `ms`; pause while the tab is hidden, resume (at once) when it is shown.
export function poll(fn, ms) {
  let timer = null;
  const tick = async () => {
    clearTimeout(timer);
    if (document.hidden) return;
    try { await fn(); } finally { if (!document.hidden) timer = setTimeout(tick, ms); }
  };
  document.addEventListener("visibilitychange", () => { if (!document.hidden) tick(); else clearTimeout(timer); });
  tick();
  return () => clearTimeout(timer);
}
