// Small DOM helpers and the shared page chrome (navigation by role, sign-out).
import { api, serverNow, signOut, token } from "./api.js";

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

// "12 s", "4 min", "3 h": a duration in the unit a person reads.
export function span(ms) {
  const seconds = Math.round(Math.abs(ms) / 1000);
  return seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`;
}

// A timestamp with how long ago it was, or how soon it will be (against the server's clock).
export function when(iso) {
  if (!iso) return "never";
  const date = new Date(iso);
  const delta = date.getTime() - serverNow();
  const rel = delta > 500 ? `in ${span(delta)}` : `${span(delta)} ago`;
  return `${date.toLocaleString()} (${rel})`;
}

// A time of day for something coming soon: "10:32:05 (in 40 s)".
export function at(iso) {
  const date = new Date(iso);
  const delta = date.getTime() - serverNow();
  return `${date.toLocaleTimeString()} (${delta > 500 ? `in ${span(delta)}` : "any moment now"})`;
}

// The page for a sign-in that ended (401) or an account without access (403).
function stopPage(title, text, withSignOut) {
  if (withSignOut === false) localStorage.removeItem("wafleet.token");
  document.querySelector("header.top")?.remove();
  document.getElementById("main").replaceChildren(
    el("h1", { text: title }),
    el("div", { class: "banner warn", role: "alert", id: "signed-out", text }),
    el("p", {}, withSignOut
      ? el("a", { href: "#", text: "Sign out", onclick: (e) => { e.preventDefault(); signOut(); } })
      : el("a", { href: "/index.html", text: "Sign in again" })));
}

export function showError(target, error) {
  if (error.status === 401) {
    stopPage("You are signed out", "Your sign-in has ended. Sign in again to continue.", false);
    return halt();
  }
  if (error.status === 403) {
    stopPage("No access", "This account cannot open this page. Ask your wafleet operator for access.", true);
    return halt();
  }
  target.replaceChildren(el("div", { class: "banner bad", role: "alert", text: error.message }));
  return null;
}

const PAGES = [
  ["status.html", "Status", "tenant"], ["whatsapp.html", "WhatsApp", "tenant"],
  ["logs.html", "Messages", "tenant"], ["history.html", "History", "tenant"],
  ["replies.html", "Replies", "tenant"], ["setup.html", "Setup", "tenant"],
  ["notifications.html", "Notifications", "tenant"],
  ["admin.html", "Fleet", "admin"],
];

// Leaving the page: stop this page's script without an error (the browser navigates away).
function halt() { return new Promise(() => {}); }

// Every signed-in page starts here: no token -> sign-in; nav by role; returns who is signed in.
export async function chrome() {
  if (!token()) { location.href = "/index.html"; return halt(); }
  let me;
  for (;;) {
    try { me = await api("/portal/me"); break; } catch (error) {
      await showError(document.getElementById("alerts") || document.body, error);
      await new Promise((resolve) => setTimeout(resolve, 5_000));  // offline: keep trying
    }
  }
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
  labelCells(document);
  new MutationObserver(() => labelCells(document)).observe(document.getElementById("main") || document.body,
    { childList: true, subtree: true });
  return me;
}

// On a phone a table reflows into one card per row (app.css): each cell carries its column's
// name, taken from the table's own header.
function labelCells(root) {
  for (const table of root.querySelectorAll("table")) {
    const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    if (!names.length) continue;
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (names[i] && cell.dataset.label !== names[i]) cell.dataset.label = names[i];
      });
    }
  }
}
