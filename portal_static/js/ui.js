// Small DOM helpers and the shared page chrome (navigation by role, sign-out).
import { api, signOut, token } from "./api.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const TONES = {
  ACTIVE: "ok", RUNNING: "ok", CONNECTED: "ok", APPROVED: "info",
  QR_PENDING: "warn", QR_READY: "warn", STARTING: "info", PENDING: "info", PAUSED: "warn",
  NEW: "info", STOPPED: "warn", DISCONNECTED: "bad", ERROR: "bad", REJECTED: "bad",
};
export function badge(status, label) {
  return el("span", { class: `badge ${TONES[status] || "info"}`, text: label ? `${label}: ${status}` : status });
}

export function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const ago = seconds < 60 ? `${Math.max(seconds, 0)} s ago` : seconds < 3600 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
  return `${date.toLocaleString()} (${ago})`;
}

export function showError(target, error) {
  target.replaceChildren(el("div", { class: "banner bad", role: "alert", text: error.message }));
}

const PAGES = [
  ["status.html", "Status", "tenant"], ["whatsapp.html", "WhatsApp", "tenant"],
  ["logs.html", "Messages", "tenant"], ["history.html", "History", "tenant"],
  ["setup.html", "Setup", "tenant"], ["admin.html", "Fleet", "admin"],
];

// Leaving the page: stop this page's script without an error (the browser navigates away).
function halt() { return new Promise(() => {}); }

// Every signed-in page starts here: no token -> sign-in; nav by role; returns who is signed in.
export async function chrome() {
  if (!token()) { location.href = "/index.html"; return halt(); }
  const me = await api("/portal/me");
  const here = location.pathname.split("/").pop() || "status.html";
  const page = PAGES.find(([href]) => href === here);
  // Each role has its own pages: send the other role home instead of asking the API for 403s.
  if (page && page[2] === "admin" && me.role !== "admin") { location.replace("/status.html"); return halt(); }
  if (page && page[2] === "tenant" && !me.tenantId) { location.replace("/admin.html"); return halt(); }
  const links = PAGES.filter(([, , role]) => role === "tenant" ? me.tenantId : me.role === "admin")
    .map(([href, label]) => el("a", { href, text: label, "aria-current": href === here ? "page" : null }));
  const header = el("header", { class: "top" },
    el("span", { class: "brand", text: "wafleet" }),
    el("nav", { "aria-label": "Main" }, links),
    el("span", { class: "who" }, `${me.email || me.userId} · `,
      el("a", { href: "#", text: "Sign out", onclick: (e) => { e.preventDefault(); signOut(); } })));
  document.body.prepend(header);
  return me;
}
