// QR page: polls every 3 s, shows the code with its age and a countdown, redirects on CONNECTED.
import { api, poll } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
let expiresAt = null;
let shownAt = null;

function render(doc) {
  if (doc.state === "CONNECTED") { location.href = "/status.html?linked=1"; return; }
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
      doc.attempt ? el("p", { class: "muted", text: `Code ${doc.attempt} of ${doc.attemptsMax}` }) : null)));
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
