// History: a timeline picture of the last 24 h (time in each worker state) and the table.
import { api } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
const COLORS = { RUNNING: "#1f9d55", STARTING: "#3b82f6", STOPPED: "#9aa4b2", ERROR: "#d64545" };
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function timeline(items, now) {
  const start = now - 24 * 3600 * 1000;
  const chart = svg("svg", { viewBox: "0 0 1000 70", class: "timeline", role: "img", "aria-labelledby": "tl-title" });
  const title = svg("title", { id: "tl-title" });
  const ordered = [...items].reverse();
  let state = ordered.length ? ordered[0].from.worker : "STOPPED";
  let from = start;
  const spans = [];
  for (const h of ordered) {
    const at = Math.max(new Date(h.at).getTime(), start);
    spans.push([from, at, state]);
    state = h.to.worker; from = at;
  }
  spans.push([from, now, state]);
  const totals = {};
  spans.forEach(([a, b, s], i) => {
    if (b <= a) return;
    totals[s] = (totals[s] || 0) + (b - a);
    // The current state stays visible even when it began seconds ago.
    const width = Math.max(((b - a) / (now - start)) * 1000, i === spans.length - 1 ? 6 : 0.5);
    chart.append(svg("rect", { x: Math.min(((a - start) / (now - start)) * 1000, 1000 - width), y: 10, height: 30, width, fill: COLORS[s] || "#666" }));
  });
  title.textContent = "Worker state over the last 24 hours: " + Object.entries(totals).map(([s, ms]) => `${s} ${(ms / 3600000).toFixed(1)} h`).join(", ");
  chart.prepend(title);
  for (const [i, label] of ["24 h ago", "12 h ago", "now"].entries()) {
    const text = svg("text", { x: [0, 500, 1000][i], y: 60, "font-size": 12, "text-anchor": ["start", "middle", "end"][i], fill: "#4f5967" });
    text.textContent = label; chart.append(text);
  }
  const swatch = (state) => {
    const box = svg("svg", { width: 12, height: 12, "aria-hidden": "true", class: "swatch" });
    box.append(svg("rect", { width: 12, height: 12, fill: COLORS[state] || "#666" }));
    return box;
  };
  const legend = el("p", { class: "muted legend" }, Object.entries(totals).map(([s, ms]) =>
    el("span", { class: "legend-item" }, swatch(s), ` ${s}: ${(ms / 3600000).toFixed(1)} h`)));
  return el("div", { class: "card" }, el("h2", { text: "Last 24 hours" }), chart, legend);
}

try {
  const now = Date.now();
  const since = new Date(now - 24 * 3600 * 1000).toISOString();
  const page = await api(`/portal/tenant/current/history?limit=500&since=${encodeURIComponent(since)}`);
  content.replaceChildren(timeline(page.items, now),
    page.items.length ? el("table", { id: "history" },
      el("caption", { class: "sr-only", text: "Status changes, newest first" }),
      el("thead", {}, el("tr", {}, ...["Time", "Event", "Worker", "Session", "Bot", "By", "Detail"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, page.items.map((h) => el("tr", {},
        el("td", { text: new Date(h.at).toLocaleString() }), el("td", { text: h.event }),
        el("td", { text: `${h.from.worker} → ${h.to.worker}` }), el("td", { text: `${h.from.session} → ${h.to.session}` }),
        el("td", { text: `${h.from.tenant} → ${h.to.tenant}` }), el("td", { text: h.actor }), el("td", { text: h.detail || "" })))))
      : el("p", { class: "muted", text: "No status changes in the last 24 hours." }));
} catch (error) { showError(alerts, error); }
