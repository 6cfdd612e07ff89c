// Replies: the owner's own answers, hours and away message, saved in versions, with a live
// preview computed by the API with the worker's own function (chalicelib/domain/rules.py).
import { api } from "./api.js";
import { chrome, el, showError } from "./ui.js";

await chrome();
const content = document.getElementById("content");
const alerts = document.getElementById("alerts");
const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
let version = 0;

function field(id, label, input, hint) {
  return [el("label", { for: id, text: label }), hint ? el("p", { class: "muted", text: hint }) : null,
    input, el("p", { class: "field-error", id: `${id}-error`, role: "alert" })];
}

const FILE_TYPES = ["image/jpeg", "image/png", "application/pdf"];
const MAX_FILE = 5 * 1024 * 1024;

// The file an answer carries: uploaded by this page straight to storage (a presigned POST
// the API hands out); the API checks it by its content when the replies are saved.
function attachment(row, media) {
  row.dataset.media = media ? JSON.stringify(media) : "";
  const shown = row.querySelector(".attachment");
  shown.replaceChildren(...(media ? [el("span", { class: "file-name", text: `Sends ${media.name} with this answer. ` }),
    el("button", { type: "button", class: "secondary", text: "Remove file", onclick: () => attachment(row, null) })] : []));
}

async function upload(event) {
  const input = event.target;
  const row = input.closest("fieldset");
  const error = row.querySelector(".file-error");
  const file = input.files[0];
  error.textContent = "";
  if (!file) return;
  if (!FILE_TYPES.includes(file.type)) { error.textContent = "Choose a JPEG, PNG or PDF."; return; }
  if (file.size > MAX_FILE) { error.textContent = "Choose a file of at most 5 MB."; return; }
  try {
    const post = await api("/portal/tenant/current/replies/media", { method: "POST", body: { name: file.name, type: file.type, size: file.size } });
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append("file", file);
    const sent = await fetch(post.url, { method: "POST", body: form });
    if (!sent.ok) throw new Error(`the upload was refused (${sent.status})`);
    attachment(row, { id: post.id, name: post.name, type: file.type, size: file.size });
    input.value = "";
  } catch (problem) { error.textContent = `Not uploaded: ${problem.message}`; }
}

function topicRow(topic, n) {
  const row = el("fieldset", { class: "topic" }, el("legend", { text: `Topic ${n + 1}` }),
    ...field(`topics.${n}.keywords`, "Words that select it (comma separated)",
      el("input", { id: `topics.${n}.keywords`, class: "keywords", value: (topic.keywords || []).join(", ") })),
    ...field(`topics.${n}.answer`, "Your answer",
      el("textarea", { id: `topics.${n}.answer`, class: "answer", rows: "3", maxlength: "1000" }, topic.answer || "")),
    el("label", { for: `topics.${n}.file`, text: "A picture or PDF sent with it (optional: JPEG, PNG or PDF, up to 5 MB)" }),
    el("input", { type: "file", id: `topics.${n}.file`, accept: FILE_TYPES.join(","), onchange: upload }),
    el("p", { class: "attachment" }),
    el("p", { class: "field-error file-error", id: `topics.${n}.media-error`, role: "alert" }),
    el("button", { type: "button", class: "secondary", text: "Remove topic", onclick: (e) => { e.target.closest("fieldset").remove(); } }));
  attachment(row, topic.media);
  return row;
}

// A day the owner has not set yet starts open 09:00-18:00 in the form: nothing is saved (or
// said to a customer) until they tick "I want the bot to know my opening hours" and save.
function dayRow([day, name], span, saved) {
  return el("p", { class: "inline day" }, el("span", { class: "day-name", text: name }),
    el("label", { class: "inline" }, el("input", { type: "checkbox", id: `closed-${day}`, checked: saved && !span }), "closed"),
    el("input", { type: "time", id: `open-${day}`, "aria-label": `${name} opens`, value: span ? span[0] : "09:00" }),
    el("input", { type: "time", id: `close-${day}`, "aria-label": `${name} closes`, value: span ? span[1] : "18:00" }));
}

function collect() {
  const value = (id) => document.getElementById(id).value.trim() || null;
  const useHours = document.getElementById("use-hours").checked;
  const hours = useHours ? Object.fromEntries(DAYS.map(([day]) => [day,
    document.getElementById(`closed-${day}`).checked ? null : [value(`open-${day}`), value(`close-${day}`)]])) : null;
  const topics = [...document.querySelectorAll("fieldset.topic")].map((row) => ({
    keywords: row.querySelector(".keywords").value.split(",").map((w) => w.trim()).filter(Boolean),
    answer: row.querySelector(".answer").value.trim(),
    ...(row.dataset.media ? { media: JSON.parse(row.dataset.media) } : {}),
  }));
  const neverAnswer = document.getElementById("neverAnswer").value.split("\n").map((n) => n.trim()).filter(Boolean);
  const links = document.getElementById("links").value.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
    const at = line.lastIndexOf(" ");
    return at > 0 ? { label: line.slice(0, at).trim(), url: line.slice(at + 1) } : { label: "", url: line };
  });
  const words = (id) => { const list = (value(id) || "").split(",").map((w) => w.trim()).filter(Boolean); return list.length ? list : null; };
  return { timeZone: value("timeZone") || "UTC", hours, exceptions: useHours ? exceptions() : null, address: value("address"), topics,
    businessName: value("businessName"), links, silentWhenUnmatched: document.getElementById("silentWhenUnmatched").checked,
    takeoverHours: Number(value("takeoverHours") || 12), hourlyLimit: Number(value("hourlyLimit") || 10),
    stopWords: words("stopWords"), startWords: words("startWords"),
    greeting: value("greeting"), greetingDays: Number(value("greetingDays") || 7), away: value("away"), fallback: value("fallback"), neverAnswer };
}

// "2026-12-24 09:00-13:00" or "2026-12-25 closed", one per line; a line that is neither goes
// to the API as it is, which names it in its error.
function exceptions() {
  const lines = document.getElementById("exceptions").value.split("\n").map((l) => l.trim()).filter(Boolean);
  return Object.fromEntries(lines.map((line) => {
    const m = line.match(/^(\S+)\s+(?:(closed)|(\d\d:\d\d)\s*-\s*(\d\d:\d\d))$/i);
    return m ? [m[1], m[2] ? null : [m[3], m[4]]] : [line, null];
  }));
}

function exceptionLines(given) {
  return Object.entries(given || {}).map(([day, span]) => `${day} ${span ? `${span[0]}-${span[1]}` : "closed"}`).join("\n");
}

function show(doc) {
  version = doc.version;
  const rules = doc.rules || doc.starting;
  const hours = rules.hours || {};
  const topics = el("div", { id: "topics" }, ...(rules.topics || []).map(topicRow));
  const form = el("form", { class: "card", id: "replies-form", novalidate: true },
    el("p", { class: "muted", id: "replies-state", text: doc.rules
      ? `Version ${doc.version}. Your bot answers with it from the next message on.`
      : "Not saved yet: your bot answers with this starting point, which states no fact about your business. Check it, write your own answers and save to confirm them." }),
    el("h2", { text: "Your business" }),
    ...field("businessName", "Its name in answers, for {name} (empty: the name in your setup)",
      el("input", { id: "businessName", maxlength: "64", value: rules.businessName || "" })),
    ...field("links", "Links, for {links} (one per line: a name, then the address, e.g. Book online https://…)",
      el("textarea", { id: "links", rows: "2" }, (rules.links || []).map((l) => `${l.label} ${l.url}`).join("\n"))),
    el("h2", { text: "Your answers" }),
    el("p", { class: "muted", text: "In answers you can write {name}, {address}, {hours_today}, {next_open} and {links}." }),
    topics,
    el("button", { type: "button", class: "secondary", text: "Add a topic", onclick: () => topics.append(topicRow({}, topics.children.length)) }),
    ...field("fallback", "When no topic matches (empty: the menu of your topics)",
      el("textarea", { id: "fallback", rows: "2", maxlength: "1000" }, rules.fallback || "")),
    el("p", {}, el("label", { class: "inline" }, el("input", { type: "checkbox", id: "silentWhenUnmatched", checked: Boolean(rules.silentWhenUnmatched) }), "Say nothing when no topic matches")),
    ...field("greeting", "Greeting, before the first answer to a customer (optional)",
      el("textarea", { id: "greeting", rows: "2", maxlength: "1000" }, rules.greeting || "")),
    ...field("greetingDays", "Greet the same customer again after this many days",
      el("input", { id: "greetingDays", type: "number", min: "1", max: "365", value: String(rules.greetingDays || 7) })),
    el("h2", { text: "Opening hours" }),
    ...field("timeZone", "Time zone", el("input", { id: "timeZone", value: rules.timeZone || "UTC", placeholder: "Europe/Berlin" })),
    el("p", {}, el("label", { class: "inline" }, el("input", { type: "checkbox", id: "use-hours", checked: Boolean(rules.hours) }), "I want the bot to know my opening hours")),
    el("div", { id: "hours" }, ...DAYS.map((d) => dayRow(d, hours[d[0]], Boolean(rules.hours)))),
    el("p", { class: "field-error", id: "hours-error", role: "alert" }),
    ...field("exceptions", "Days unlike their weekday, such as holidays (one per line: 2026-12-24 09:00-13:00, or 2026-12-25 closed)",
      el("textarea", { id: "exceptions", rows: "2", placeholder: "2026-12-25 closed" }, exceptionLines(rules.exceptions))),
    ...field("away", "Away message, sent once to each customer who writes while you are closed; after it, only a topic they ask for is answered (optional)",
      el("textarea", { id: "away", rows: "2", maxlength: "1000" }, rules.away || "")),
    ...field("address", "Address (optional, for {address})", el("input", { id: "address", value: rules.address || "" })),
    el("h2", { text: "Chats" }),
    ...field("takeoverHours", "When you write in a chat from your phone, the bot stays silent there for (hours)",
      el("input", { id: "takeoverHours", type: "number", min: "1", max: "168", value: String(rules.takeoverHours || 12) })),
    ...field("hourlyLimit", "At most this many automatic replies to one customer an hour (stops two bots talking forever)",
      el("input", { id: "hourlyLimit", type: "number", min: "1", max: "60", value: String(rules.hourlyLimit || 10) })),
    ...field("stopWords", "Words that stop automatic replies to a customer (comma separated)",
      el("input", { id: "stopWords", value: (rules.stopWords || []).join(", ") })),
    ...field("startWords", "Words that start them again", el("input", { id: "startWords", value: (rules.startWords || []).join(", ") })),
    el("h2", { text: "Never answer" }),
    ...field("neverAnswer", "These numbers get no automatic reply: friends, family, suppliers (one per line)",
      el("textarea", { id: "neverAnswer", rows: "3" }, (rules.neverAnswer || []).join("\n"))),
    el("p", {}, el("button", { type: "submit", text: "Save" })));
  form.addEventListener("submit", save);
  const preview = el("form", { class: "card", id: "preview-form" }, el("h2", { text: "Try it" }),
    ...field("preview-text", "A customer writes", el("input", { id: "preview-text", placeholder: "What are your prices?" })),
    ...field("preview-at", "When (this device's clock; empty: now)", el("input", { id: "preview-at", type: "datetime-local" })),
    ...field("preview-from", "From (a customer's number; empty: someone new)", el("input", { id: "preview-from", type: "tel", placeholder: "+4915112345678" })),
    el("p", {}, el("button", { type: "submit", text: "Show the answer" })),
    el("div", { id: "preview-answer", "aria-live": "polite" }));
  preview.addEventListener("submit", tryIt);
  const versions = el("section", { class: "card", id: "versions" }, el("h2", { text: "Earlier versions" }),
    doc.versions.length ? el("ul", {}, doc.versions.map((v) => el("li", {},
      `Version ${v.version}, ${new Date(v.at).toLocaleString()} by ${v.by} `,
      v.version === doc.version ? el("span", { class: "muted", text: "(in use)" })
        : el("button", { type: "button", class: "secondary", text: "Restore", "aria-label": `restore version ${v.version}`, onclick: () => restore(v.version) }))))
      : el("p", { class: "muted", text: "None yet." }));
  content.replaceChildren(form, preview, versions);
}

function showProblem(error) {
  const target = error.field && (document.getElementById(`${error.field}-error`) || document.getElementById(`${error.field.split(".")[0]}-error`));
  if (target) { target.textContent = error.message; target.scrollIntoView({ block: "center" }); }
  else showError(alerts, error);
}

async function save(event) {
  event.preventDefault();
  document.querySelectorAll(".field-error").forEach((p) => { p.textContent = ""; });
  try {
    show(await api("/portal/tenant/current/replies", { method: "PUT", body: { rules: collect(), baseVersion: version } }));
    alerts.replaceChildren(el("div", { class: "banner ok", role: "status", id: "saved", text: `Saved as version ${version}.` }));
  } catch (error) { showProblem(error); }
}

async function tryIt(event) {
  event.preventDefault();
  const at = document.getElementById("preview-at").value;
  const from = document.getElementById("preview-from").value.trim();
  try {
    const answer = await api("/portal/tenant/current/replies/preview", { method: "POST", body: {
      text: document.getElementById("preview-text").value, rules: collect(),
      ...(at ? { at: new Date(at).toISOString() } : {}), ...(from ? { from } : {}) } });
    document.getElementById("preview-answer").replaceChildren(...[
      answer.media ? el("p", { id: "preview-file", text: `With the file ${answer.media.name}` }) : null,
      answer.text === null ? el("p", { id: "preview-reply", text: "The bot stays silent." })
        : el("blockquote", { id: "preview-reply", text: answer.text }),
      el("p", { class: "muted", id: "preview-why", text: `Why: ${answer.why}` })].filter(Boolean));
  } catch (error) { showProblem(error); }
}

async function restore(number) {
  try { show(await api("/portal/tenant/current/replies/restore", { method: "POST", body: { version: number } })); }
  catch (error) { showError(alerts, error); }
}

try { show(await api("/portal/tenant/current/replies")); } catch (error) { showError(alerts, error); }
