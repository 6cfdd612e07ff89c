// Setup request: template and WhatsApp number, validated here and by the API.
import { api } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");

// A setup request's status in words (the technical name is in the title, for operators).
const SAID = {
  PENDING: ["info", "Waiting for review: an operator looks at it soon."],
  APPROVED: ["info", "Approved: an operator starts your bot shortly."],
  ACTIVE: ["ok", "Done: your bot is set up."],
  REJECTED: ["bad", "Declined."],
};

function field(id, label, input, hint) {
  return [el("label", { for: id, text: label }), hint ? el("p", { class: "muted", id: `${id}-hint`, text: hint }) : null,
    input, el("p", { class: "field-error", id: `${id}-error`, role: "alert" })];
}

// Before the bot starts the first time, the owner confirms what it answers (or edits it).
function checkReplies(status) {
  if (status.replies?.confirmed) return el("p", { class: "muted", id: "replies-step", text: `Your replies are saved (version ${status.replies.version}).` });
  return el("div", { class: "card", id: "replies-step" }, el("h2", { text: "Before your bot starts: your replies" }),
    el("p", { text: "Your bot starts with a starting point for your type of business, which states no fact about it (no hours, no prices). Check it, write your own answers and opening hours, and save." }),
    el("p", {}, el("a", { class: "button", href: "replies.html", text: "Check your replies" })));
}

async function show() {
  const [{ setupRequest }, status] = await Promise.all([
    api("/portal/tenant/current/setup-requests"), api("/portal/tenant/current/status")]);
  const open = setupRequest && ["PENDING", "APPROVED"].includes(setupRequest.status);
  const current = setupRequest ? el("div", { class: "card", id: "current-request" },
    el("h2", { text: "Your request" }), el("p", { class: `badge wrap ${SAID[setupRequest.status]?.[0] || "info"}`, id: "request-status", title: setupRequest.status, text: SAID[setupRequest.status]?.[1] || setupRequest.status }),
    el("p", { text: `${setupRequest.templateType.toLowerCase()} replies for ${setupRequest.whatsappNumber}` }),
    setupRequest.reason ? el("p", { text: `Reason: ${setupRequest.reason}` }) : null) : null;
  if (open) { content.replaceChildren(current, checkReplies(status), el("p", { class: "muted", text: "We will let you know here once it is decided." })); return; }
  const form = el("form", { class: "card", novalidate: true, id: "setup-form" },
    ...field("templateType", "Type of business", el("select", { id: "templateType", name: "templateType", required: true },
      el("option", { value: "", text: "Choose…" }), el("option", { value: "RESTAURANT", text: "Restaurant" }),
      el("option", { value: "SALON", text: "Salon" }), el("option", { value: "SHOP", text: "Shop" }))),
    ...field("whatsappNumber", "WhatsApp number", el("input", { id: "whatsappNumber", name: "whatsappNumber", type: "tel", autocomplete: "tel", placeholder: "+447700900123", required: true, "aria-describedby": "whatsappNumber-hint whatsappNumber-error" }), "The number your customers write to: the phone you will link to the bot. International format, starting with + and the country code."),
    ...field("businessName", "Business name (optional)", el("input", { id: "businessName", name: "businessName", maxlength: "64" })),
    ...field("notes", "Notes (optional)", el("textarea", { id: "notes", name: "notes", maxlength: "500", rows: "3" })),
    el("p", {}, el("button", { type: "submit", text: "Send request" })));
  form.addEventListener("submit", submit);
  content.replaceChildren(...[current, form, checkReplies(status)].filter(Boolean));
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  form.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  const data = Object.fromEntries(new FormData(form));
  const problems = {};
  if (!data.templateType) problems.templateType = "Choose the type of your business.";
  if (!/^\+[1-9][0-9 ()-]{6,20}$/.test(data.whatsappNumber.trim())) problems.whatsappNumber = "Enter the number in international format, e.g. +447700900123.";
  for (const [name, message] of Object.entries(problems)) document.getElementById(`${name}-error`).textContent = message;
  if (Object.keys(problems).length) { document.getElementById(Object.keys(problems)[0]).focus(); return; }
  try {
    await api("/portal/tenant/current/setup-requests", { method: "POST", body: data });
    await show();
  } catch (error) {
    if (error.field && document.getElementById(`${error.field}-error`)) {
      document.getElementById(`${error.field}-error`).textContent = error.message;
      document.getElementById(error.field).focus();
    } else showError(alerts, error);
  }
}

show().catch((error) => showError(alerts, error));
