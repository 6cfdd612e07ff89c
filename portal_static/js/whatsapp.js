// Linking page: the QR to scan (or the pairing code to type). Never shows a code the phone
// would reject: the countdown runs against the server's clock, the code is hidden the moment
// it expires, and the next one is fetched at that moment (the 3 s poll is the fallback).
// Ages are computed here from the code's timestamps, which a 304 cannot make stale.
import { api, poll, serverNow } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
// Stop showing a code this long before it expires: a scan takes a moment, and the expiry is
// counted from when the page got the code, which on a busy host can be a second or more after
// WhatsApp's server started its validity (a CI run saw a code shown 1.01 s too long with 1 s).
const MARGIN_MS = 2_000;
let current = null;  // the document on screen
let shownKey = null;
let chasing = null;  // timer fetching the next code after one expired

function switcher(doc) {
  // Link by typing an 8-character code on the phone instead of scanning.
  if (doc.kind === "pairing" || doc.linkPhone) {
    return el("button", { type: "button", id: "use-qr", text: "Scan a QR code instead",
      onclick: async () => { await api("/portal/tenant/current/link-code", { method: "DELETE" }); refresh.now(); } });
  }
  // Only ever for the business's approved number: WhatsApp prompts that phone.
  return el("form", { id: "link-by-code", class: "inline" },
    el("span", { text: "Cannot scan? " }),
    el("button", { type: "submit", text: "Get a code to type on your phone" }));
}

content.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api("/portal/tenant/current/link-code", { method: "POST", body: {} });
    alerts.replaceChildren();
    refresh.now();
  } catch (error) { showError(alerts, error); }
});

const leftMs = (doc) => new Date(doc.expiresAt).getTime() - serverNow();
const usable = (doc) => Boolean((doc.qr || doc.code) && doc.expiresAt && leftMs(doc) > MARGIN_MS);

function steps(doc) {
  const last = doc.code
    ? [el("li", { text: "Tap Settings → Linked devices → Link a device → Link with phone number instead." }), el("li", { text: "Type this code." })]
    : [el("li", { text: "Tap Settings → Linked devices → Link a device." }), el("li", { text: "Point your phone at this code." })];
  return el("ol", {}, el("li", { text: "Open WhatsApp on your phone." }), last);
}

function showCode(doc) {
  const shown = doc.code
    ? el("p", { id: "pairing-code", class: "pairing-code", text: doc.code })
    : el("img", { id: "qr", src: doc.qr, alt: "QR code to link WhatsApp: open WhatsApp on your phone, Settings, Linked devices, Link a device, and scan it" });
  content.replaceChildren(el("div", { class: "card qr-box" }, shown,
    el("div", {}, steps(doc),
      el("p", { id: "qr-meta", class: "muted", "aria-live": "polite" }),
      doc.attempt ? el("p", { class: "muted", text: `Code ${doc.attempt} of ${doc.attemptsMax}` }) : null,
      switcher(doc))));
}

function showWaiting(doc, text) {
  content.replaceChildren(el("div", { class: "card", id: "qr-waiting" },
    el("p", { class: "code-gone", text }), doc ? switcher(doc) : null));
}

function render(doc) {
  if (doc.state === "CONNECTED") { location.href = "/status.html?linked=1"; return; }
  current = doc;
  const code = usable(doc);
  // Re-draw only when something changed, so a number being typed is not wiped by the poll.
  const key = JSON.stringify([doc.state, doc.kind, code && (doc.code || doc.qr), doc.linkPhone, doc.explain?.headline]);
  if (key === shownKey) { tick(); return; }
  shownKey = key;
  if (code) { showCode(doc); tick(); return; }
  if (doc.state === "QR_READY" && doc.expiresAt) { showWaiting(doc, "That code has expired. A new code is coming…"); chase(); return; }
  if (doc.kind === "pairing" && doc.workerStatus === "RUNNING") { showWaiting(doc, "Asking WhatsApp for a code…"); return; }
  if (doc.state === "QR_READY") { showWaiting(doc, "Asking WhatsApp for a QR code…"); return; }
  showWaiting(null, `${doc.explain.headline}. ${doc.explain.next}`);
}

// After a code expires, ask for the next one every 250 ms for a few seconds.
function chase() {
  if (chasing) return;
  const until = Date.now() + 5_000;
  const step = async () => {
    await refresh.now();
    if (current && !usable(current) && current.state === "QR_READY" && Date.now() < until) chasing = setTimeout(step, 250);
    else chasing = null;
  };
  chasing = setTimeout(step, 0);
}

function tick() {
  if (!current || !document.getElementById("qr-meta")) return;
  const left = leftMs(current);
  if (left <= MARGIN_MS) { shownKey = null; render(current); return; }  // hide it now
  const age = Math.max(0, Math.round((serverNow() - new Date(current.generatedAt).getTime()) / 1000));
  document.getElementById("qr-meta").textContent =
    `Shown ${age} s ago · valid for ${Math.ceil((left - MARGIN_MS) / 1000)} more s`;
}
setInterval(tick, 200);

const refresh = poll(async () => {
  try { render(await api("/portal/tenant/current/qr", { conditional: true })); alerts.replaceChildren(); }
  catch (error) { showError(alerts, error); }
}, 3_000);
