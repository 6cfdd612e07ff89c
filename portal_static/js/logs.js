// Messages: newest first, numbers masked by the API, paging with the API's cursor.
import { api } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
const cursors = [null];

async function load(index) {
  try {
    const query = new URLSearchParams({ limit: "25" });
    if (cursors[index]) query.set("cursor", cursors[index]);
    const page = await api(`/portal/tenant/current/logs?${query}`);
    cursors[index + 1] = page.nextCursor;
    const rows = page.items.map((m) => el("tr", {},
      el("td", { text: new Date(m.at).toLocaleString() }),
      el("td", { text: m.direction === "IN" ? "Received" : "Sent" }),
      el("td", { text: m.direction === "IN" ? m.from : m.to }),
      el("td", { text: m.text }),
      el("td", { text: m.why ? `${m.stateText}: ${m.why}` : m.stateText || "" })));
    content.replaceChildren(
      page.items.length ? el("table", { id: "logs" },
        el("caption", { class: "sr-only", text: "Messages, newest first" }),
        el("thead", {}, el("tr", {}, ...["Time", "Direction", "Number", "Message", "What happened"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows)) : el("p", { class: "muted", text: "No messages yet." }),
      el("p", {},
        el("button", { class: "secondary", text: "Newer", disabled: index === 0, onclick: () => load(index - 1) }), " ",
        el("button", { class: "secondary", text: "Older", disabled: !page.nextCursor, onclick: () => load(index + 1) })));
  } catch (error) { showError(alerts, error); }
}
load(0);
