// Status: polls every 10 s with ETag; badges, last seen, last error, the next step.
import { api, poll } from "./api.js";
import { badge, chrome, el, showError, when } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");

const NEXT = {
  NEW: ["Send a setup request so we can prepare your bot.", "setup.html", "Set up your bot"],
  QR_PENDING: ["Scan the QR code with WhatsApp on your phone.", "whatsapp.html", "Show the QR code"],
  ACTIVE: ["You're all set! Your bot answers your customers.", null, null],
  PAUSED: ["Your bot is paused: it stays linked but does not reply.", null, null],
  ERROR: ["Your bot is not answering right now. We are on it; the details are below.", null, null],
};

function render(doc) {
  const { tenant, session, worker, setupRequest } = doc;
  const [text, href, label] = NEXT[tenant.status] || ["", null, null];
  const action = tenant.status === "PAUSED"
    ? el("button", { text: "Resume replies", onclick: () => change("resume") })
    : ["ACTIVE", "QR_PENDING", "ERROR"].includes(tenant.status)
      ? el("button", { class: "secondary", text: "Pause replies", onclick: () => change("pause") }) : null;
  content.replaceChildren(
    el("div", { class: `banner ${tenant.status === "ACTIVE" ? "ok" : tenant.status === "ERROR" ? "bad" : "warn"}`, id: "next-step" },
      el("strong", { text: tenant.status === "ACTIVE" ? "You're all set! " : "Next step: " }), text.replace("You're all set! ", ""),
      href ? el("span", {}, " ", el("a", { href, text: label })) : null),
    el("div", { class: "grid" },
      el("section", { class: "card", "aria-labelledby": "h-tenant" }, el("h2", { id: "h-tenant", text: tenant.name }),
        el("p", {}, badge(tenant.status, "Bot")), el("p", { class: "muted", text: tenant.phone || "no WhatsApp number yet" }), action),
      el("section", { class: "card", "aria-labelledby": "h-session" }, el("h2", { id: "h-session", text: "WhatsApp" }),
        el("p", {}, badge(session.state, "Session")), el("p", { class: "muted", text: `Last seen ${when(session.lastSeenAt)}` })),
      el("section", { class: "card", "aria-labelledby": "h-worker" }, el("h2", { id: "h-worker", text: "Worker" }),
        el("p", {}, badge(worker.status, "Worker"), worker.stale ? el("span", { class: "badge bad", text: " no heartbeat" }) : null),
        el("p", { class: "muted", text: `Heartbeat ${when(worker.heartbeatAt)}` }),
        worker.reconnect.attempts ? el("p", { text: `Reconnecting: attempt ${worker.reconnect.attempts}, next try ${when(worker.reconnect.nextRetryAt)}` }) : null,
        worker.lastError ? el("p", { id: "last-error" }, el("strong", { text: "Last error: " }), worker.lastError) : null)),
    el("section", { class: "card", "aria-labelledby": "h-setup" }, el("h2", { id: "h-setup", text: "Setup request" }),
      setupRequest ? el("p", {}, badge(setupRequest.status), ` ${setupRequest.templateType || ""}`) : el("p", {}, "None yet. ", el("a", { href: "setup.html", text: "Send one" }))));
}

async function refresh() {
  try {
    const doc = await api("/portal/tenant/current/status", { conditional: true });
    alerts.replaceChildren();
    render(doc);
  } catch (error) { showError(alerts, error); }
}

async function change(action) {
  try { render(await api(`/portal/tenant/current/${action}`, { method: "POST" })); }
  catch (error) { showError(alerts, error); }
}

poll(refresh, 10_000);
