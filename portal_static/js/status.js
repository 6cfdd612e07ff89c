// Status: polls every 10 s with ETag. The words come from the API's `explain` (one table,
// chalicelib/domain/words.py): what is going on, who has to act, what happens next and when.
// Technical statuses only in the "details" disclosure.
import { api, poll } from "./api.js";
import { at, badge, chrome, el, showError, when } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");

const WHO = {
  nobody: "Nothing for you to do.",
  owner: "This needs you.",
  operator: "This is up to our operators; nothing for you to do.",
};

function banner(explain) {
  return el("div", { class: `banner ${explain.tone}`, id: "next-step" },
    el("strong", { id: "headline", text: explain.headline }), " ", explain.next,
    explain.at ? el("span", { id: "next-at" }, ` Next: ${at(explain.at)}.`) : null,
    el("p", { id: "who", class: "who-acts", text: WHO[explain.who] }),
    explain.action ? el("p", {}, el("a", { href: explain.action.href, class: "button", text: explain.action.label })) : null);
}

function details(doc) {
  const { session, worker } = doc;
  return el("details", { id: "details" }, el("summary", { text: "Technical details" }),
    el("ul", {},
      el("li", {}, badge(doc.tenant.status, "Bot")),
      el("li", {}, badge(session.state, "WhatsApp session"), ` · last seen ${when(session.lastSeenAt)}`),
      el("li", {}, badge(worker.status, "Worker"), ` · heartbeat ${when(worker.heartbeatAt)}`,
        worker.stale ? " (no heartbeat lately)" : ""),
      worker.reconnect.attempts ? el("li", { text: `Reconnect attempt ${worker.reconnect.attempts}, next try ${when(worker.reconnect.nextRetryAt)}` }) : null,
      worker.nextRestartAt ? el("li", { text: `Automatic restart ${when(worker.nextRestartAt)}` }) : null,
      worker.lastError ? el("li", { id: "last-error" }, "Last error: ", worker.lastError) : null));
}

function render(doc) {
  const { tenant, session, setupRequest } = doc;
  const linkedBefore = tenant.status === "ACTIVE" || (tenant.status === "ERROR" && session.lastSeenAt);
  const action = tenant.status === "PAUSED"
    ? el("button", { text: "Resume replies", onclick: () => change("resume") })
    : linkedBefore ? el("button", { class: "secondary", text: "Pause replies", onclick: () => change("pause") }) : null;
  content.replaceChildren(
    banner(doc.explain),
    el("section", { class: "card", "aria-labelledby": "h-tenant" }, el("h2", { id: "h-tenant", text: tenant.name }),
      el("p", { class: "muted", text: tenant.phone ? `WhatsApp number ${tenant.phone}` : "No WhatsApp number yet" }),
      setupRequest ? null : el("p", {}, "No setup request yet. ", el("a", { href: "setup.html", text: "Send one" })),
      setupRequest && doc.replies && !doc.replies.confirmed ? el("p", { id: "check-replies" },
        "Your bot answers with a starting point that states no fact about your business. ",
        el("a", { href: "replies.html", text: "Check your replies and save them" })) : null,
      action));
  document.getElementById("more").replaceChildren(details(doc));
}

async function refresh() {
  try {
    render(await api("/portal/tenant/current/status", { conditional: true }));
    alerts.replaceChildren();
  } catch (error) {
    if (error.status === 0) {
      // Never leave an old "all set" on screen when we cannot tell.
      content.replaceChildren(el("div", { class: "banner warn", id: "next-step" },
        el("strong", { id: "headline", text: "We cannot tell how your bot is doing right now." }),
        " This page cannot reach wafleet; it tries again every 10 s."));
    }
    showError(alerts, error);
  }
}

// The figures below the headline: read once a minute (a week of messages is a bigger read).
const plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;

function renderSummary(doc) {
  const { answered, lastReply, lastProblem } = doc;
  const atLeast = answered.more ? "at least " : "";
  const items = [
    el("li", { id: "answered", text: `Answered ${plural(answered.last24h, "message")} in the last 24 hours, ${atLeast}${plural(answered.last7d, "message")} in the last 7 days.` }),
    el("li", { id: "last-reply" }, lastReply
      ? [`Last reply ${when(lastReply.at)}: `, el("q", { text: (lastReply.text || "").split("\n")[0] })]
      : "No reply sent yet."),
    el("li", { id: "last-problem", text: lastProblem
      ? `Last problem ${when(lastProblem.at)}: ${lastProblem.sentence}. ${lastProblem.endedAt ? `Answering again since ${when(lastProblem.endedAt)}.` : "Not over yet."}`
      : "No problems so far." }),
  ];
  document.getElementById("summary-list").replaceChildren(...items);
  document.getElementById("summary").hidden = false;
}

poll(async () => {
  try { renderSummary(await api("/portal/tenant/current/summary", { conditional: true })); }
  catch (error) { showError(alerts, error); }
}, 60_000);

async function change(action) {
  try { render(await api(`/portal/tenant/current/${action}`, { method: "POST" })); }
  catch (error) { showError(alerts, error); }
}

poll(refresh, 10_000);
