// The simulated WhatsApp Web page. It honours the same DOM contract as the real site's parts
// the worker reads: QR container with data-ref, chat list rows with unread badges, message
// bubbles with ids, compose box, "phone not connected" banner, "Use here" dialog, logged-out
// screen. The browser profile (localStorage) is what keeps a device linked, as on the real site.

const app = document.getElementById("app");
let deviceId = localStorage.getItem("wa-device");
if (!deviceId) {
  deviceId = crypto.randomUUID();
  localStorage.setItem("wa-device", deviceId);
}
const q = `device=${encodeURIComponent(deviceId)}`;
let qrTimer = null;
let openPeer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  return response.json();
}

async function boot() {
  clearTimeout(qrTimer);
  const state = await api(`/sim/api/boot?${q}`);
  if (state.screen === "qr") return renderQr();
  if (state.screen === "logged_out") return renderLoggedOut();
  renderMain(state);
}

function renderQr() {
  openPeer = null;
  const box = el("div", { class: "qr", "data-testid": "qrcode" });
  app.replaceChildren(el("div", { class: "landing" },
    el("h1", { text: "Use WhatsApp on your computer" }),
    el("p", { text: "Open WhatsApp on your phone, tap Linked devices and scan this code." }),
    box));
  loadQr(box);
}

async function loadQr(box) {
  const qr = await api(`/sim/api/qr?${q}`);
  if (qr.expired) {
    box.removeAttribute("data-ref");
    box.replaceChildren(el("button", {
      "data-testid": "qr-reload", text: "Click to reload QR code",
      onclick: async () => { await api(`/sim/api/qr/reload?${q}`, { method: "POST" }); renderQr(); },
    }));
    return;
  }
  box.setAttribute("data-ref", qr.payload);
  box.replaceChildren(el("img", { src: qr.image, alt: "Scan me!" }));
  qrTimer = setTimeout(() => loadQr(box), qr.refreshInMs);
}

function renderLoggedOut() {
  openPeer = null;
  app.replaceChildren(el("div", { class: "landing", "data-testid": "logged-out" },
    el("h1", { text: "You've been logged out" }),
    el("button", {
      "data-testid": "qr-reload", text: "Log in again",
      onclick: async () => { await api(`/sim/api/qr/reload?${q}`, { method: "POST" }); renderQr(); },
    })));
}

function renderMain(state) {
  const side = el("div", { id: "side" }, el("header", { text: state.phone }),
    el("div", { id: "pane-side", role: "grid", "aria-label": "Chat list" }));
  const main = el("div", { id: "main" },
    el("header", { id: "conversation-header", text: "" }),
    el("div", { id: "conversation" }),
    el("footer", {},
      el("div", { role: "textbox", contenteditable: "true", title: "Type a message", "data-testid": "compose" }),
      el("button", { "aria-label": "Send", "data-testid": "send", text: "Send", onclick: sendCurrent })));
  app.replaceChildren(el("div", { id: "app-main" }, side, main));
  setOnline(state.online);
  if (state.conflict) showConflict();
  renderChats(state.chats);
}

function renderChats(chats) {
  const pane = document.getElementById("pane-side");
  if (!pane) return;
  pane.replaceChildren(...chats.map((c) => el("div", {
    role: "row", class: "chat", "data-chat": c.peer, tabindex: "0",
    onclick: () => openChat(c.peer),
  }, el("span", { class: "chat-title", text: c.peer }),
    c.unread ? el("span", { class: "unread", "data-testid": "unread", "aria-label": `${c.unread} unread message${c.unread > 1 ? "s" : ""}`, text: String(c.unread) }) : null)));
  if (openPeer && chats.some((c) => c.peer === openPeer && c.unread)) openChat(openPeer);
}

async function openChat(peer) {
  openPeer = peer;
  const messages = await api(`/sim/api/chat?${q}&peer=${encodeURIComponent(peer)}`);
  if (openPeer !== peer) return;
  document.getElementById("conversation-header").textContent = peer;
  const conversation = document.getElementById("conversation");
  conversation.setAttribute("data-chat", peer);
  conversation.replaceChildren(...messages.map(bubble));
}

function bubble(m) {
  return el("div", { class: m.direction === "in" ? "message-in" : "message-out", "data-id": m.id, "data-peer": m.peer },
    el("span", { class: "text", text: m.text }));
}

async function sendCurrent() {
  const box = document.querySelector("[data-testid=compose]");
  const text = box.innerText.replace(/\n$/, "");
  if (!openPeer || !text.trim()) return;
  const peer = openPeer;
  const sent = await api(`/sim/api/send?${q}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ peer, text }),
  });
  if (sent.error) return;
  box.replaceChildren();
  if (openPeer === peer) {
    document.getElementById("conversation").append(bubble({ id: sent.id, direction: "out", text, peer }));
  }
}

function setOnline(online) {
  const existing = document.querySelector("[data-testid=alert-phone]");
  if (online && existing) existing.remove();
  if (!online && !existing) {
    document.getElementById("side")?.prepend(el("div", { role: "alert", "data-testid": "alert-phone", text: "Phone not connected. Make sure your phone has an active internet connection." }));
  }
}

function showConflict() {
  if (document.querySelector("[data-testid=conflict-dialog]")) return;
  app.append(el("div", { role: "dialog", "data-testid": "conflict-dialog" },
    el("p", { text: "WhatsApp is open on another computer or browser. Click \"Use here\" to use WhatsApp in this window." }),
    el("button", { "data-testid": "use-here", text: "Use here", onclick: () => api(`/sim/api/use-here?${q}`, { method: "POST" }) })));
}

const events = new EventSource(`/sim/api/stream?${q}`);
events.onmessage = (message) => {
  const event = JSON.parse(message.data);
  if (event.type === "linked") boot();
  else if (event.type === "chats") renderChats(event.chats);
  else if (event.type === "offline") setOnline(false);
  else if (event.type === "online") setOnline(true);
  else if (event.type === "logged_out") { clearTimeout(qrTimer); renderLoggedOut(); }
  else if (event.type === "conflict") showConflict();
  else if (event.type === "resolved") document.querySelector("[data-testid=conflict-dialog]")?.remove();
  else if (event.type === "crash") { for (;;) { /* a hung tab: the renderer never answers again */ } }
};

boot();
