// Admin: fleet (filter, stale highlighted), setup requests to decide, worker start/stop/restart,
// the worker hosts (tenants, room, memory; drain), and who may sign in (demote, remove: access
// ends within 30 s).
import { api, poll } from "./api.js";
import { badge, chrome, el, showError, when } from "./ui.js";

const me = await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
const filter = el("select", { id: "status-filter", onchange: () => refresh() },
  ...["", "NEW", "QR_PENDING", "ACTIVE", "PAUSED", "ERROR"].map((s) => el("option", { value: s, text: s || "All" })));
const fleet = el("div", { id: "fleet" });
const queue = el("div", { id: "queue" });
const people = el("div", { id: "users" });
const machines = el("div", { id: "hosts" });
content.replaceChildren(
  el("section", { class: "card", "aria-labelledby": "h-queue" }, el("h2", { id: "h-queue", text: "Setup requests waiting" }), queue),
  el("section", { class: "card", "aria-labelledby": "h-fleet" }, el("h2", { id: "h-fleet", text: "Tenants" }),
    el("label", { for: "status-filter", text: "Show tenants with status" }), filter, fleet),
  el("section", { class: "card", "aria-labelledby": "h-hosts" }, el("h2", { id: "h-hosts", text: "Worker hosts" }), machines),
  el("section", { class: "card", "aria-labelledby": "h-users" }, el("h2", { id: "h-users", text: "People who can sign in" }), people));

async function act(path, body, method = "POST") {
  try { await api(path, { method, body }); } catch (error) { showError(alerts, error); return; }
  await refresh();
  alerts.replaceChildren(el("div", { class: "banner ok", role: "status", text: "Done." }));
}

async function refreshUsers(me) {
  const { items } = await api("/admin/users");
  people.replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, ...["E-mail", "Role", "Tenant", ""].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, items.map((u) => el("tr", { "data-user": u.email },
      el("td", { text: u.email }), el("td", { text: u.role === "admin" ? "Operator" : "Tenant owner" }),
      el("td", { text: u.tenantId || "" }),
      el("td", { class: "actions" }, u.id === me ? el("span", { class: "muted", text: "you" }) : [
        u.role === "admin" && u.tenantId === null ? el("button", { class: "secondary", text: "Demote",
          "aria-label": `demote ${u.email}`,
          onclick: () => { const tenantId = prompt(`Tenant id ${u.email} should own instead`); if (tenantId) act(`/admin/users/${u.id}/role`, { role: "tenant", tenantId }); } }) : null,
        u.role === "tenant" ? el("button", { class: "secondary", text: "Make operator", "aria-label": `make ${u.email} an operator`,
          onclick: () => act(`/admin/users/${u.id}/role`, { role: "admin" }) }) : null, " ",
        el("button", { class: "secondary", text: "Remove", "aria-label": `remove ${u.email}`,
          onclick: () => { if (confirm(`Remove ${u.email}? They lose access within 30 seconds.`)) act(`/admin/users/${u.id}`, undefined, "DELETE"); } }),
      ]))))));
}

const mb = (value) => (value == null ? "–" : `${Math.round(value)} MB`);

async function refreshHosts(names) {
  const { items } = await api("/admin/hosts");
  machines.replaceChildren(items.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["Host", "Status", "Tenants (browser memory)", "Room", "Memory", "Heartbeat", ""].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, items.map((h) => el("tr", { class: h.live ? null : "stale", "data-host": h.id },
      el("td", { text: h.id }),
      el("td", {}, badge(h.status), h.live ? null : el("span", { class: "badge bad", text: "silent" }),
        h.reason ? el("div", { class: "muted", text: h.reason }) : null),
      el("td", {}, h.tenants.length ? el("ul", { class: "plain" }, h.tenants.map((t) =>
        el("li", { text: `${names.get(t.id) || t.id} (${mb(t.pssMb)})` }))) : el("span", { class: "muted", text: "none" })),
      el("td", { text: `${h.assigned} of ${h.capacity}` }),
      el("td", { text: h.limitMb ? `${mb(h.pssMb)} of ${mb(h.limitMb)}` : mb(h.pssMb) }),
      el("td", { text: when(h.heartbeatAt) }),
      el("td", { class: "actions" }, h.status === "RUNNING" || h.status === "STARTING" ? el("button", {
        class: "secondary", text: "Drain", "aria-label": `drain host ${h.id}`,
        onclick: () => { if (confirm(`Drain ${h.id}? Its tenants move to other hosts (no new code), then it stops.`)) act(`/admin/hosts/${h.id}/drain`); } }) : null)))))
    : el("p", { class: "muted", text: "No hosts: each tenant runs in a task of its own, or none is running." }));
}

// Every page of the fleet (the API pages with nextCursor; a filter never hides anyone).
async function allTenants() {
  const items = [];
  let cursor = null;
  for (let pages = 0; pages < 100; pages += 1) {
    const query = new URLSearchParams({ limit: "200" });
    if (filter.value) query.set("status", filter.value);
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/admin/tenants?${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return { items };
}

async function refresh() {
  try {
    const [requests, tenants] = await Promise.all([
      api("/admin/setup-requests?status=PENDING"),
      allTenants(),
    ]);
    queue.replaceChildren(requests.items.length ? el("table", {},
      el("thead", {}, el("tr", {}, ...["Tenant", "Template", "Number", "Sent", ""].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, requests.items.map((r) => el("tr", { "data-request": r.id },
        el("td", { text: r.businessName || r.tenantId }), el("td", { text: r.templateType }), el("td", { text: r.whatsappNumber }),
        el("td", { text: new Date(r.createdAt).toLocaleString() }),
        el("td", {}, el("button", { text: "Approve", onclick: () => act(`/admin/setup-requests/${r.id}/approve`) }), " ",
          el("button", { class: "secondary", text: "Reject", onclick: () => {
            // The owner reads this reason on the status page: the admin writes it.
            const reason = prompt("Why is this request rejected? The owner reads this.", "");
            if (reason !== null) act(`/admin/setup-requests/${r.id}/reject`, reason.trim() ? { reason: reason.trim() } : {});
          } }))))))
      : el("p", { class: "muted", text: "Nothing to decide." }));
    fleet.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, ...["Tenant", "Bot", "Session", "Worker", "Heartbeat", "WhatsApp Web", "Last error", "Actions"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, tenants.items.map((t) => el("tr", { class: t.stale ? "stale" : null, "data-tenant": t.id },
        el("td", {}, el("strong", { text: t.name }), el("br"), el("span", { class: "muted", text: t.host ? `${t.id} on ${t.host}` : t.id }),
          t.browserMb ? el("p", { class: "muted usage", text: `browser ${t.browserMb} MB${t.browserCpu != null ? `, ${Math.round(t.browserCpu * 100)} % of a core` : ""}` }) : null,
          t.canary ? el("p", { class: "canary", text: canaryWords(t.canary) }) : null,
          t.canaryOf ? el("p", { class: "muted canary", text: `answers the canary of ${t.canaryOf}` }) : null),
        el("td", {}, badge(t.status)), el("td", {}, badge(t.session)),
        el("td", {}, badge(t.worker), t.stale ? el("span", { class: "badge bad", text: "stale" }) : null),
        el("td", { text: when(t.heartbeatAt) }),
        el("td", { class: "wa-version" }, ...waWords(t.whatsappWeb || {})),
        el("td", {}, t.linkedNumber
          ? el("span", { class: "badge warn wrap", text: `linked to ${t.linkedNumber}, not ${t.phone}: not answering` })
          : null, t.lastError || ""),
        el("td", { class: "actions" }, ...["start", "stop", "restart"].map((a) => el("button", { class: a === "start" ? null : "secondary", text: a[0].toUpperCase() + a.slice(1), "aria-label": `${a} worker of ${t.name}`, onclick: () => act(`/admin/tenants/${t.id}/worker/${a}`) })),
          t.canary
            ? el("button", { class: "secondary", text: "Stop canary", "aria-label": `stop the canary of ${t.name}`, onclick: () => act(`/admin/tenants/${t.id}/canary`, undefined, "DELETE") })
            : el("button", { class: "secondary", text: "Make canary", "aria-label": `make ${t.name} a canary`, onclick: () => {
              // The peer is another tenant of the platform: the canary writes to its number.
              const peer = prompt(`Which tenant does ${t.name} write to every few minutes? Its id:`, "");
              if (peer && peer.trim()) act(`/admin/tenants/${t.id}/canary`, { peer: peer.trim() }, "PUT");
            } }),
          t.whatsappWeb && t.whatsappWeb.pinned
            ? el("button", { class: "secondary", text: "Unpin version", "aria-label": `unpin the WhatsApp Web version of ${t.name}`, onclick: () => act(`/admin/tenants/${t.id}/wa-version`, undefined, "DELETE") })
            : el("button", { class: "secondary", text: "Pin version", "aria-label": `pin the WhatsApp Web version of ${t.name}`, onclick: () => {
              // A version of @wppconnect/wa-version (uv run wafleet wa-version list): the
              // browser serves its page from its next launch.
              const version = prompt(`Which WhatsApp Web version should ${t.name} run? (e.g. 2.3000.1048032155-alpha)`, "");
              if (version && version.trim()) act(`/admin/tenants/${t.id}/wa-version`, { version: version.trim() }, "PUT");
            } }),
          t.linkedNumber ? el("button", { text: "Confirm number", "aria-label": `confirm ${t.linkedNumber} for ${t.name}`, onclick: () => {
            if (confirm(`Make ${t.linkedNumber} the number of ${t.name}? The bot answers for it from then on.`)) act(`/admin/tenants/${t.id}/confirm-number`);
          } }) : null))))));
    await refreshHosts(new Map(tenants.items.map((t) => [t.id, t.name])));
    await refreshUsers(me.userId);
  } catch (error) { showError(alerts, error); }
}

// Which WhatsApp Web the browser opened, against what the tenant is pinned to.
function waWords(w) {
  const words = [];
  if (w.served) words.push(el("span", { text: w.served === "live" ? "live site" : w.served }));
  else words.push(el("span", { class: "muted", text: "not launched yet" }));
  if (w.pinned && w.pinned !== w.served && !w.refused) {
    words.push(el("p", { class: "muted", text: `pinned to ${w.pinned}: from the next launch` }));
  } else if (w.pinned) {
    words.push(el("p", { class: "muted", text: "pinned for this tenant" }));
  }
  if (w.refused) words.push(el("p", {}, el("span", { class: "badge warn wrap", text: `pin not served: ${w.refused}` })));
  return words;
}

// A canary's last probe in words: the operator's first look when WhatsApp Web changed.
function canaryWords(c) {
  if (!c.at) return `Canary → ${c.peer}: no probe yet`;
  const last = c.ok ? `answered in ${c.roundTripMs} ms` : "not answered";
  const streak = c.failsInARow > 1 ? ` (${c.failsInARow} failures in a row)` : "";
  return `Canary → ${c.peer}: ${last}, ${when(c.at)}${streak}`;
}

poll(refresh, 10_000);
