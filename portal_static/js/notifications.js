// Notifications: e-mails to the owner when the bot needs them, and webhooks (signed HTTPS
// POSTs) for integrators: endpoints, their secret (shown once), recent deliveries, resend.
import { api, poll } from "./api.js";
import { chrome, el, showError, when } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
const STATE = { PENDING: "waiting", DELIVERED: "delivered", FAILED: "failed, retrying", DEAD: "gave up", GONE: "not sent (endpoint off)" };
let secretShown = null;  // {endpoint, secret} right after creating or rotating

function mailCard(doc) {
  const box = el("input", { type: "checkbox", id: "mail-alerts", checked: doc.alerts.email,
    onchange: async (e) => {
      try { await api("/portal/tenant/current/alerts", { method: "PUT", body: { email: e.target.checked } }); await refresh(); }
      catch (error) { showError(alerts, error); }
    } });
  return el("section", { class: "card", "aria-labelledby": "h-mail" }, el("h2", { id: "h-mail", text: "E-mails" }),
    el("p", { class: "inline" }, el("label", { for: "mail-alerts" }, box, " E-mail me when my bot needs me (a code to scan, logged out, not answering) and when it is back")),
    el("p", { class: "muted", text: "At most one e-mail per reason per hour." }));
}

function deliveries(endpoint) {
  if (!endpoint.deliveries.length) return el("p", { class: "muted", text: "Nothing sent yet." });
  return el("table", { class: "deliveries" },
    el("thead", {}, el("tr", {}, ...["When", "Event", "Result", "Tries", "Answer", ""].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, endpoint.deliveries.map((d) => el("tr", { "data-delivery": d.eventId },
      el("td", { text: new Date(d.at).toLocaleString() }), el("td", { text: d.type }),
      el("td", { text: STATE[d.state] + (d.nextRetryAt ? `, next ${when(d.nextRetryAt)}` : "") }),
      el("td", { text: String(d.attempts) }),
      el("td", { text: d.lastCode ? `HTTP ${d.lastCode}` : d.lastError || "" }),
      el("td", {}, el("button", { class: "secondary", type: "button", text: "Resend", "aria-label": `resend ${d.type} ${d.eventId}`,
        onclick: () => act(`/portal/tenant/current/webhooks/${endpoint.id}/deliveries/${d.id}/resend`) }))))));
}

function endpointCard(endpoint) {
  const secret = secretShown?.endpoint === endpoint.id
    ? el("div", { class: "banner warn", id: "secret", role: "status" }, "Signing secret (copy it now, it is not shown again): ",
        el("code", { text: secretShown.secret })) : null;
  return el("section", { class: "card endpoint", "data-endpoint": endpoint.id },
    el("h3", { text: endpoint.url }),
    el("p", { class: "muted", text: `${endpoint.enabled ? "On" : `Off: ${endpoint.disabledReason || "disabled"}`} · ${endpoint.events.join(", ")}` }),
    secret,
    el("p", {},
      endpoint.enabled ? null : el("button", { type: "button", text: "Turn on", onclick: () => act(`/portal/tenant/current/webhooks/${endpoint.id}/enable`) }), " ",
      el("button", { type: "button", class: "secondary", text: "New secret", onclick: async () => {
        try { const { secret: s } = await api(`/portal/tenant/current/webhooks/${endpoint.id}/secret`, { method: "POST" });
          secretShown = { endpoint: endpoint.id, secret: s }; await refresh(); } catch (error) { showError(alerts, error); } } }), " ",
      el("button", { type: "button", class: "secondary", text: "Remove", onclick: () => act(`/portal/tenant/current/webhooks/${endpoint.id}`, "DELETE") })),
    deliveries(endpoint));
}

function addForm(types) {
  const form = el("form", { id: "add-webhook", class: "card", novalidate: true },
    el("h2", { text: "Add a webhook" }),
    el("label", { for: "hook-url", text: "HTTPS address" }),
    el("input", { id: "hook-url", name: "url", type: "url", placeholder: "https://example.com/wafleet", required: true }),
    el("fieldset", {}, el("legend", { text: "Events" }), types.map((t) => el("label", { class: "inline" },
      el("input", { type: "checkbox", name: "events", value: t, checked: t === "status.changed" }), ` ${t}`))),
    el("p", { class: "field-error", id: "hook-error", role: "alert" }),
    el("button", { type: "submit", text: "Add" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const created = await api("/portal/tenant/current/webhooks", { method: "POST", body: { url: data.get("url"), events: data.getAll("events") } });
      secretShown = { endpoint: created.endpoint.id, secret: created.secret };
      await refresh();
    } catch (error) {
      if (error.status === 400) document.getElementById("hook-error").textContent = error.message;
      else showError(alerts, error);
    }
  });
  return form;
}

async function act(path, method = "POST") {
  try { await api(path, { method }); await refresh(); } catch (error) { showError(alerts, error); }
}

async function refresh() {
  try {
    const doc = await api("/portal/tenant/current/webhooks");
    const typing = document.activeElement?.id === "hook-url";
    if (typing) return;  // do not wipe an address being typed
    content.replaceChildren(mailCard(doc),
      el("section", { "aria-labelledby": "h-hooks" }, el("h2", { id: "h-hooks", text: "Webhooks" }),
        el("p", { class: "muted" }, "Each event is a signed POST (", el("code", { text: "Wafleet-Signature" }), "; see the README for checking it). Failed deliveries are retried for 24 hours."),
        doc.endpoints.map(endpointCard)),
      addForm(doc.eventTypes));
    alerts.replaceChildren();
  } catch (error) { showError(alerts, error); }
}

poll(refresh, 10_000);
