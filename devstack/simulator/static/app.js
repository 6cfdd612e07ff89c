// What a person sees on the simulated WhatsApp Web: the code to scan (or type), then the
// chats. It is a consumer of the page's `WPP`, like the worker; nothing reads this DOM.
const app = document.getElementById("app");

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function renderCode() {
  const qr = window.__simQr;
  const pairing = window.__simPairing;
  app.replaceChildren(el("div", { class: "landing" },
    el("h1", { text: "Use WhatsApp on your computer" }),
    el("p", { text: "Open WhatsApp on your phone, tap Linked devices and scan this code." }),
    qr ? el("img", { src: qr.image, alt: "QR code" }) : el("p", { text: "Click to reload QR code" }),
    pairing ? el("p", { class: "pairing", text: `Or enter this code on your phone: ${pairing.code}` }) : null));
}

async function renderMain() {
  const chats = await WPP.chat.list();
  const stream = WPP.conn.getStreamData();
  app.replaceChildren(el("div", { id: "app-main" },
    el("header", { text: `Stream ${stream.mode}${WPP.conn.isOnline() ? "" : " (offline)"}` }),
    el("ul", {}, ...chats.map((c) => el("li", { text: c.id._serialized })))));
}

async function start() {
  await window.__simStarted;
  if (!window.WPP || window.WPP.version !== "simulator") return;
  const refresh = () => (WPP.conn.isMainReady() ? renderMain() : renderCode());
  for (const name of ["conn.auth_code_change", "conn.link_code_change", "conn.main_ready",
    "conn.stream_mode_changed", "conn.online", "conn.logout", "chat.new_message"]) {
    WPP.on(name, () => refresh().catch(console.error));
  }
  await refresh();
}

start().catch(console.error);
