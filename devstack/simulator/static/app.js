// What a person sees on the simulated WhatsApp Web: the code to scan (or type), then the
// chats. Like the real site's UI, it renders WhatsApp's own modules; nothing reads this DOM.
window.addEventListener("DOMContentLoaded", () => {
  const app = document.getElementById("app");
  const mod = (id) => window.__simRequire(id);

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function renderCode(sim) {
    const idle = mod("WAWebSocketModel").Socket.state === "UNPAIRED_IDLE";
    const pairing = sim.linkMode() === "pairing" ? sim.pairing : null;
    app.replaceChildren(el("div", { class: "landing" },
      el("h1", { text: "Use WhatsApp on your computer" }),
      pairing
        ? el("p", { class: "pairing", text: `Enter this code on your phone: ${pairing.code}` })
        : el("p", { text: "Open WhatsApp on your phone, tap Linked devices and scan this code." }),
      !pairing && !idle && sim.qr ? el("img", { src: sim.qr.image, alt: "QR code" }) : null,
      idle ? el("p", { text: "Click to reload QR code" }) : null));
  }

  function renderMain() {
    const chats = mod("WAWebChatCollection").ChatCollection.getModelsArray();
    const stream = mod("WAWebStreamModel").Stream;
    const online = mod("WAWebNetworkStatus").default.online;
    app.replaceChildren(el("div", { id: "app-main" },
      el("header", { text: `Stream ${stream.mode}${online ? "" : " (offline)"}` }),
      el("ul", {}, ...chats.map((c) => el("li", { text: c.formattedTitle })))));
  }

  function render() {
    const sim = mod("SimApp");
    if (mod("WAWebUserPrefsMeUser").getMaybeMePnUser()) renderMain();
    else renderCode(sim);
  }

  window.__simStarted.then(() => {
    if (!window.Debug) return; // refused: no WhatsApp here
    mod("SimApp").onChange(render);
    render();
  }).catch(console.error);
});
