// History: how the bot has been since it was created (or over the last 24 h), in words, and
// each change as a sentence. The raw statuses are in the "Technical details" disclosure.
import { api, serverNow } from "./api.js";
import { chrome, el, showError, span } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
// The bot's status as its owner reads it (the tenant dimension of the transition table).
const WORDS = { ACTIVE: "Answering", QR_PENDING: "Waiting to be linked", PAUSED: "Paused", ERROR: "Not answering", NEW: "Not started yet" };
const COLORS = { ACTIVE: "#1f9d55", QR_PENDING: "#d97706", PAUSED: "#9aa4b2", ERROR: "#d64545", NEW: "#3b82f6" };
const BY = { tenant: "you", operator: "an operator", worker: "the bot", reaper: "automatic check", launcher: "automatic" };
const SVG = "http://www.w3.org/2000/svg";
const DAY = 24 * 3600 * 1000;

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function timeline(items, start, now, created) {
  const chart = svg("svg", { viewBox: "0 0 1000 70", class: "timeline", role: "img", "aria-labelledby": "tl-title" });
  const title = svg("title", { id: "tl-title" });
  const ordered = [...items].reverse();
  let state = ordered.length ? ordered[0].from.tenant : "NEW";
  let from = start;
  const spans = [];
  for (const h of ordered) {
    const at = Math.max(new Date(h.at).getTime(), start);
    spans.push([from, at, state]);
    state = h.to.tenant; from = at;
  }
  spans.push([from, now, state]);
  const totals = {};
  const whole = Math.max(now - start, 1);
  spans.forEach(([a, b, s], i) => {
    if (b <= a) return;
    totals[s] = (totals[s] || 0) + (b - a);
    // The current state stays visible even when it began seconds ago.
    const width = Math.max(((b - a) / whole) * 1000, i === spans.length - 1 ? 6 : 0.5);
    chart.append(svg("rect", { x: Math.min(((a - start) / whole) * 1000, 1000 - width), y: 10, height: 30, width, fill: COLORS[s] || "#666" }));
  });
  const heading = created ? `Since it was created, ${span(now - start)} ago` : "Last 24 hours";
  title.textContent = `${heading}: ` + Object.entries(totals).map(([s, ms]) => `${WORDS[s] || s} ${span(ms)}`).join(", ");
  chart.prepend(title);
  for (const [i, label] of [created ? "created" : "24 h ago", "now"].entries()) {
    const text = svg("text", { x: [0, 1000][i], y: 60, "font-size": 12, "text-anchor": ["start", "end"][i], fill: "#4f5967" });
    text.textContent = label; chart.append(text);
  }
  const swatch = (s) => {
    const box = svg("svg", { width: 12, height: 12, "aria-hidden": "true", class: "swatch" });
    box.append(svg("rect", { width: 12, height: 12, fill: COLORS[s] || "#666" }));
    return box;
  };
  const legend = el("p", { class: "muted legend", id: "legend" }, Object.entries(totals).map(([s, ms]) =>
    el("span", { class: "legend-item" }, swatch(s), ` ${WORDS[s] || s}: ${span(ms)}`)));
  return el("div", { class: "card" }, el("h2", { text: heading }), chart, legend);
}

function sentences(items) {
  return el("table", { id: "history" },
    el("caption", { class: "sr-only", text: "What happened, newest first" }),
    el("thead", {}, el("tr", {}, ...["Time", "What happened", "By", "Why"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, items.map((h) => el("tr", {},
      el("td", { text: new Date(h.at).toLocaleString() }), el("td", { text: h.sentence }),
      el("td", { text: BY[h.actor] || h.actor }), el("td", { text: h.actor === "worker" ? h.detail || "" : "" })))));
}

function technical(items) {
  return el("details", { id: "details" }, el("summary", { text: "Technical details" }),
    el("table", {}, el("thead", {}, el("tr", {}, ...["Time", "Event", "Worker", "Session", "Bot", "Actor", "Detail"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, items.map((h) => el("tr", {},
        el("td", { text: new Date(h.at).toLocaleString() }), el("td", { text: h.event }),
        el("td", { text: `${h.from.worker} → ${h.to.worker}` }), el("td", { text: `${h.from.session} → ${h.to.session}` }),
        el("td", { text: `${h.from.tenant} → ${h.to.tenant}` }), el("td", { text: h.actor }), el("td", { text: h.detail || "" }))))));
}

try {
  const status = await api("/portal/tenant/current/status");
  const now = serverNow();
  const created = status.tenant.createdAt ? new Date(status.tenant.createdAt).getTime() : null;
  const start = created && now - created < DAY ? created : now - DAY;
  const page = await api(`/portal/tenant/current/history?limit=500&since=${encodeURIComponent(new Date(start).toISOString())}`);
  content.replaceChildren(timeline(page.items, start, now, start === created),
    page.items.length ? sentences(page.items) : el("p", { class: "muted", text: "Nothing has changed yet." }),
    page.items.length ? technical(page.items) : null);
} catch (error) { showError(alerts, error); }
