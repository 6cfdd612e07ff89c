// QR page: polls every 3 s, shows the code with its age and a countdown, redirects on CONNECTED.
import { api, poll } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
let expiresAt = null;
let shownAt = null;

function switcher(doc) {
  // Link by typing an 8-character code on the phone instead of scanning.
  if (doc.kind === "pairing" || doc.linkPhone) {
    return el("button", { type: "button", id: "use-qr", text: "Scan a QR code instead",
      onclick: async () => { await api("/portal/tenant/current/link-code", { method: "DELETE" }); } });
  }
  const phone = el("input", { id: "link-phone", type: "tel", placeholder: "+4915112345678",
    "aria-label": "Your WhatsApp number" });
  return el("form", { id: "link-by-code", class: "inline" },
    el("label", { for: "link-phone", text: "Cannot scan? Link with your phone number: " }), phone,
    el("button", { type: "submit", text: "Get a code" }));
}

function renderCode(doc) {
  content.replaceChildren(el("div", { class: "card qr-box" },
    el("p", { id: "pairing-code", class: "pairing-code", text: doc.code }),
    el("div", {},
      el("ol", {}, el("li", { text: "Open WhatsApp on your phone." }),
        el("li", { text: "Tap Settings → Linked devices → Link a device → Link with phone number instead." }),
        el("li", { text: "Type this code." })),
      el("p", { id: "qr-meta", class: "muted", "aria-live": "polite" }),
      doc.attempt ? el("p", { class: "muted", text: `Code ${doc.attempt} of ${doc.attemptsMax}` }) : null,
      switcher(doc))));
}

content.addEventListener("submit", async (event) => {
  event.preventDefault();
  const phone = document.getElementById("link-phone")?.value || "";
  try {
    await api("/portal/tenant/current/link-code", { method: "POST", body: { phone } });
    alerts.replaceChildren();
  } catch (error) { showError(alerts, error); }
});

let shownKey = null;

function render(doc) {
  if (doc.state === "CONNECTED") { location.href = "/status.html?linked=1"; return; }
  // Re-draw only when something changed, so a number being typed is not wiped by the poll.
  const key = JSON.stringify([doc.state, doc.kind, doc.code, doc.qr, doc.linkPhone, doc.workerStatus, doc.expiresAt]);
  if (key === shownKey) { tick(); return; }
  shownKey = key;
  if (doc.code) {
    expiresAt = doc.expiresAt ? new Date(doc.expiresAt) : null;
    shownAt = new Date(Date.now() - (doc.ageSeconds || 0) * 1000);
    renderCode(doc);
    tick();
    return;
  }
  if (!doc.qr) {
    const why = doc.workerStatus === "STOPPED" || doc.workerStatus === "ERROR"
      ? "Your bot's worker is not running; an operator will start it after your setup request is approved."
      : "Waiting for WhatsApp to show a QR code…";
    content.replaceChildren(el("div", { class: "card", id: "qr-waiting" }, el("p", { text: why })));
    return;
  }
  expiresAt = doc.expiresAt ? new Date(doc.expiresAt) : null;
  shownAt = new Date(Date.now() - (doc.ageSeconds || 0) * 1000);
  content.replaceChildren(el("div", { class: "card qr-box" },
    el("img", { id: "qr", src: doc.qr, alt: "QR code to link WhatsApp: open WhatsApp on your phone, Settings, Linked devices, Link a device, and scan it" }),
    el("div", {},
      el("ol", {}, el("li", { text: "Open WhatsApp on your phone." }), el("li", { text: "Tap Settings → Linked devices → Link a device." }), el("li", { text: "Point your phone at this code." })),
      el("p", { id: "qr-meta", class: "muted", "aria-live": "polite" }),
      doc.attempt ? el("p", { class: "muted", text: `Code ${doc.attempt} of ${doc.attemptsMax}` }) : null,
      switcher(doc))));
  tick();
}

function tick() {
  const meta = document.getElementById("qr-meta");
  if (!meta || !expiresAt) return;
  const left = Math.round((expiresAt - Date.now()) / 1000);
  const age = Math.round((Date.now() - shownAt) / 1000);
  meta.textContent = left > 0 ? `Shown ${age} s ago · valid for ${left} more s` : "This code has expired; a new one is on its way.";
}
setInterval(tick, 1000);

poll(async () => {
  try { render(await api("/portal/tenant/current/qr", { conditional: true })); alerts.replaceChildren(); }
  catch (error) { showError(alerts, error); }
}, 3_000);
