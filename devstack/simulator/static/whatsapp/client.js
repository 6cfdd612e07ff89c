// The simulated WhatsApp Web, part 4: the client itself. It keeps this browser's login (a
// non-extractable device key and the link keys, in IndexedDB; who I am, in localStorage),
// talks to the simulator server (the phone and WhatsApp's servers), and moves the WAWeb*
// modules' state the way the real client does: stream modes, codes, chats and messages.
// These modules' ids do not start with "WA", so wa-js never looks at them
// (src/loader/index.ts keeps only /^(?:use)?WA/).
(() => {
  const d = window.__simDefine;
  const VERSION = "2.3000.1045000000";

  d("SimServer", [], (g, require, rd, rl, module, exports) => {
    let token = "";

    async function call(path, options = {}) {
      const sep = path.includes("?") ? "&" : "?";
      const response = await fetch(`${path}${sep}token=${encodeURIComponent(token)}`, {
        ...options,
        headers: options.body ? { "Content-Type": "application/json" } : {},
      });
      const value = await response.json();
      if (!response.ok) {
        throw Object.assign(new Error(value.error || response.statusText), { status: response.status });
      }
      return value;
    }

    exports.get = (path) => call(path);
    exports.post = (path, body) => call(path, { method: "POST", body: JSON.stringify(body || {}) });
    exports.setToken = (value) => { token = value; };
    exports.events = (onEvent) => {
      const source = new EventSource(`/sim/api/stream?token=${encodeURIComponent(token)}`);
      source.onmessage = (message) => onEvent(JSON.parse(message.data));
      return source;
    };
  });

  d("SimApp", ["SimServer"], (g, require, rd, rl, module, exports) => {
    const server = require("SimServer");
    const mod = (id) => require(id);
    const Stream = () => mod("WAWebStreamModel").Stream;
    const Socket = () => mod("WAWebSocketModel").Socket;
    const Conn = () => mod("WAWebConnModel").Conn;
    const Cmd = () => mod("WAWebCmd").Cmd;
    const Network = () => mod("WAWebNetworkStatus").default;
    const Me = () => mod("WAWebUserPrefsMeUser");
    const Chats = () => mod("WAWebChatCollection").ChatCollection;
    const Msgs = () => mod("WAWebMsgCollection").MsgCollection;
    const wid = (id) => mod("WAWebWidFactory").createWid(id);
    const MsgKey = () => mod("WAWebMsgKey").default;
    const b64 = (buffer) => mod("WAWebBase64").encodeB64(buffer);

    let keys = null;
    let codeTimer = null;
    let linkMode = "qr"; // "qr" or "pairing": what the landing screen shows
    const unsent = new Map(); // message key -> the send that is waiting for the socket
    const listeners = new Set();

    exports.VERSION = VERSION;
    exports.keys = () => keys;
    exports.linkMode = () => linkMode;
    exports.onChange = (fn) => listeners.add(fn);
    const changed = () => { for (const fn of listeners) fn(); };

    // --- the login in this browser: IndexedDB, as WhatsApp keeps it ------------------------

    function idb(mode, fn) {
      return new Promise((resolve, reject) => {
        const open = indexedDB.open("wawc", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("keys");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction("keys", mode);
          const request = fn(tx.objectStore("keys"));
          tx.oncomplete = () => { open.result.close(); resolve(request.result); };
          tx.onerror = () => reject(tx.error);
        };
      });
    }

    async function loadKeys() {
      let saved = await idb("readonly", (store) => store.get("device"));
      if (!saved) {
        const random = (n) => crypto.getRandomValues(new Uint8Array(n)).buffer;
        saved = {
          // The login: a signing key the page can use but never export (a copy of cookies or
          // local storage does not carry it; only the profile does).
          identity: await crypto.subtle.generateKey(
            { name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]),
          noise: { staticKeyPair: { pubKey: random(32), privKey: random(32) } },
          signal: { registrationId: 1 + Math.floor(Math.random() * 16380),
            identityKeyPair: { pubKey: random(33), privKey: random(32) } },
          adv: b64(random(32)),
        };
        await idb("readwrite", (store) => store.put(saved, "device"));
      }
      return saved;
    }

    async function forgetDevice() {
      await idb("readwrite", (store) => store.delete("device"));
      Me().clearMe();
    }

    async function openSession() {
      const { nonce } = await server.get("/sim/api/hello");
      const signature = await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" }, keys.identity.privateKey, new TextEncoder().encode(nonce));
      const publicKey = b64(await crypto.subtle.exportKey("spki", keys.identity.publicKey));
      const session = await server.post("/sim/api/session", {
        publicKey, nonce, signature: b64(signature),
        // What getAuthCode spells into the QR code beside the ref: the phone checks them.
        noise: b64(keys.noise.staticKeyPair.pubKey),
        identity: b64(keys.signal.identityKeyPair.pubKey),
        adv: keys.adv,
      });
      server.setToken(session.token);
    }

    // --- start ----------------------------------------------------------------------------

    function automated() {
      const brands = (navigator.userAgentData && navigator.userAgentData.brands) || [];
      return navigator.webdriver || /HeadlessChrome/.test(navigator.userAgent)
        || brands.some((b) => /Headless/i.test(b.brand));
    }

    exports.start = async () => {
      if (automated()) {
        await new Promise((resolve) => window.addEventListener("DOMContentLoaded", resolve));
        document.body.textContent = "WhatsApp works with Google Chrome 85+";
        return;
      }
      window.Debug = { VERSION }; // WhatsApp's main bundle has started (wa-js isMainInit)
      // Like the real site: it installs its service worker and asks whether it is out of date
      // (WPPConnect blocks both for a pinned version: src/controllers/browser.ts).
      navigator.serviceWorker?.register("/serviceworker.js").catch(() => null);
      fetch(`/check-update?version=${VERSION}&platform=web`).catch(() => null);
      Stream().set({ info: "OPENING" });
      keys = await loadKeys();
      await openSession();
      server.events(onServerEvent);
      const boot = await server.get("/sim/api/boot");
      if (boot.linked) {
        Me().setMe(boot.me, boot.lid);
        await resume(boot);
      } else if (Me().getMaybeMePnUser()) {
        await loggedOut(boot.logoutReason || "unknown_companion"); // unlinked while closed
      } else {
        await showCodes();
      }
      changed();
    };

    async function resume(boot) {
      Stream().set({ mode: "SYNCING", info: "RESUMING" });
      Conn().set({ connected: true, wid: wid(boot.me), ref: null });
      await syncChats();
      Socket().set({ state: "CONNECTED", stream: "CONNECTED", hasSynced: true });
      Network().online = !!boot.online;
      if (!Cmd().isMainLoaded) Cmd().mainLoaded();
      if (boot.needsUpdate) Stream().needsUpdate = true;
      if (boot.stream === "CONFLICT") {
        Socket().state = "CONFLICT";
        Stream().set({ mode: "CONFLICT", info: "NORMAL" });
        return;
      }
      Stream().set(boot.online ? { mode: "MAIN", info: "NORMAL" } : { mode: "OFFLINE", info: "OFFLINE" });
      await pullTraffic();
      await flushUnsent();
    }

    // --- linking: QR codes, then pairing codes on request ----------------------------------

    async function showCodes() {
      Socket().set({ state: "UNPAIRED", stream: "DISCONNECTED" });
      Stream().set({ mode: "QR", info: "NORMAL" });
      Network().online = true;
      await showRef(await server.get("/sim/api/qr"));
    }

    async function showRef(view) {
      clearTimeout(codeTimer);
      if (view.linked || linkMode !== "qr") return;
      if (view.idle) {
        Conn().ref = null;
        Socket().state = "UNPAIRED_IDLE"; // wa-js: conn.qrcode_idle
        changed();
        return;
      }
      Conn().set({ ref: view.ref, refTTL: view.expiresAt });
      exports.qr = view;
      changed();
      codeTimer = setTimeout(() => server.get("/sim/api/qr").then(showRef).catch(console.error),
        Math.max(view.expiresAt - view.now, 20));
    }

    exports.refreshQr = () => {
      if (Me().getMaybeMePnUser()) return;
      linkMode = "qr";
      exports.pairing = null;
      Socket().state = "UNPAIRED";
      server.post("/sim/api/qr/refresh").then(showRef).catch(console.error);
    };

    exports.startPairing = async () => {
      if (linkMode === "pairing") return;
      linkMode = "pairing";
      clearTimeout(codeTimer);
      Conn().ref = null; // the QR is no longer shown
    };

    exports.pairingCode = async (phone) => {
      const view = await server.post("/sim/api/pairing", { phone });
      const events = mod("WAWebLinkDeviceEvents").WAWebLinkDeviceEvents;
      clearTimeout(codeTimer);
      if (view.idle) {
        events.triggerForceManualRefresh();
        throw new Error("no pairing code available");
      }
      exports.pairing = view;
      changed();
      // When this code expires, WhatsApp asks for the next (wa-js counts and stops at six).
      codeTimer = setTimeout(() => events.triggerRefreshAltLinkingCode(),
        Math.max(view.expiresAt - view.now, 20));
      return view.code;
    };

    // --- chats and messages ---------------------------------------------------------------

    function ensureChat(id) {
      return Chats().get(id) || Chats().add({ id: wid(id), t: 0, unreadCount: 0 });
    }

    function attributesOf(w, isNewMsg) {
      const me = Me().getMaybeMePnUser();
      const chat = wid(w.chat);
      if (w.pn) mod("WAWebLidPnCache").lidPnCache.remember(w.chat, `${w.pn}@c.us`);
      const media = ["image", "video", "document", "audio", "ptt", "sticker"].includes(w.type);
      return {
        id: new (MsgKey())({ fromMe: w.fromMe, remote: chat, id: w.id,
          participant: w.author ? wid(w.author) : undefined }),
        t: w.t,
        from: w.fromMe ? me : chat,
        to: w.fromMe ? chat : me,
        author: w.author ? wid(w.author) : undefined,
        self: w.fromMe ? "out" : "in",
        ack: w.ack,
        isNewMsg,
        type: w.type,
        subtype: w.subtype || null,
        // A media message's body is its thumbnail; what the sender wrote is the caption.
        body: media ? "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGBwkI" : w.body,
        caption: media ? w.caption : undefined,
        mimetype: w.mimetype,
        filename: w.filename,
        notifyName: w.notifyName,
      };
    }

    function store(msg) {
      const chat = ensureChat(msg.id.remote.toString());
      Msgs().add(msg);
      chat.msgs.add(msg);
      if ((msg.t || 0) >= (chat.t || 0)) chat.set({ t: msg.t, lastReceivedKey: msg.id });
      Chats().sort();
      return chat;
    }

    function receive(w, isNewMsg) {
      const attributes = attributesOf(w, isNewMsg);
      if (Msgs().get(attributes.id)) return;
      const { Msg } = mod("WAWebMsgModel");
      if (isNewMsg && !w.fromMe) {
        // Messages arrive encrypted: first a "ciphertext" stub, decrypted a moment later
        // (wa-js src/chat/events/registerNewMessageEvent.ts waits for change:type).
        const msg = new Msg({ ...attributes, type: "ciphertext", body: undefined, caption: undefined });
        const chat = store(msg);
        chat.unreadCount = (chat.unreadCount || 0) + 1;
        setTimeout(() => msg.set({ body: attributes.body, caption: attributes.caption,
          mimetype: attributes.mimetype, filename: attributes.filename, type: attributes.type }));
      } else {
        store(new Msg(attributes));
      }
      changed();
    }

    // The history sync: every chat with its newest message, none of them new.
    async function syncChats() {
      for (const row of await server.get("/sim/api/chats")) {
        const chat = ensureChat(row.id);
        chat.set({ t: row.t, unreadCount: row.unread });
        if (row.last) receive(row.last, false);
      }
    }

    async function pullTraffic() {
      if (!Me().getMaybeMePnUser()) return;
      for (const w of await server.get("/sim/api/pending")) receive(w, true);
    }

    exports.send = async (chat, data) => {
      const { Msg } = mod("WAWebMsgModel");
      const msg = new Msg({ ...data, ack: 0 });
      store(msg);
      changed();
      return [Promise.resolve(msg), deliver(chat, msg)];
    };

    async function deliver(chat, msg) {
      const body = {
        chat: chat.id.toString(), id: msg.id.id, fromMe: msg.id.fromMe, type: msg.type,
        body: msg.type === "chat" ? msg.body : undefined, caption: msg.caption,
        mimetype: msg.mimetype, filename: msg.filename, size: msg.size, filehash: msg.filehash,
      };
      try {
        const sent = await server.post("/sim/api/send", body);
        unsent.delete(msg.id.toString());
        msg.updateAck(sent.ack);
        return { messageSendResult: "OK" };
      } catch (error) {
        if (error.status >= 400 && error.status < 500 && error.status !== 409) {
          return { messageSendResult: "ERROR_INVALID", error: String(error.message) };
        }
        // The socket is away (conflict, network): WhatsApp keeps the message and sends it
        // when the connection is back.
        unsent.set(msg.id.toString(), [chat, msg]);
        return { messageSendResult: "ERROR_NETWORK" };
      }
    }

    async function flushUnsent() {
      for (const [chat, msg] of [...unsent.values()]) await deliver(chat, msg);
    }

    exports.seen = (chat) => server.post("/sim/api/seen", { chat: chat.id.toString() });
    exports.presence = (chat, state) => server.post("/sim/api/presence", { chat: chat.id.toString(), state });

    exports.messagesAround = async ({ anchor, count, direction }) => {
      const query = new URLSearchParams({
        chat: anchor.remote.toString(), id: anchor.id, fromMe: String(anchor.fromMe),
        count: String(Number.isFinite(count) ? count : -1), direction: direction || "before",
      });
      const rows = await server.get(`/sim/api/messages?${query}`);
      return { messages: rows.map((w) => attributesOf(w, false)), status: 200 };
    };

    exports.messageByKey = async (chat, key) => {
      const query = new URLSearchParams({
        chat: chat.id.toString(), id: key.id, fromMe: String(key.fromMe),
      });
      const { message } = await server.get(`/sim/api/message?${query}`);
      return message ? attributesOf(message, false) : null;
    };

    exports.groupMetadata = async (id) => {
      const query = new URLSearchParams({ id: String(id) });
      return { ...(await server.get(`/sim/api/group?${query}`)), id: wid(String(id)) };
    };

    exports.takeOver = () => server.post("/sim/api/takeover").catch(console.error);
    exports.logOut = () => server.post("/sim/api/logout").catch(console.error);

    // --- what the server says -------------------------------------------------------------

    async function loggedOut(reason) {
      clearTimeout(codeTimer);
      // WhatsApp turns the reason into its error code; wa-js wraps that function, which is
      // how `conn.logout_reason` is announced (src/conn/events/registerLogoutReasonEvent.ts).
      mod("WAWebLogoutReasonUtils").getErrorCodeFromLogoutReason(reason);
      Conn().set({ connected: false, wid: null });
      Socket().state = "UNPAIRED";
      Cmd().trigger("logout");
      await forgetDevice();
      // Then the real site wipes itself and starts over on a fresh page, with a new code.
      setTimeout(() => location.reload(), 1000);
    }

    function receipt(event) {
      const from = wid(event.chat);
      if (event.ack < 2) {
        for (const id of event.ids) {
          const msg = Msgs().get(new (MsgKey())({ fromMe: true, remote: from, id }));
          if (msg) msg.updateAck(event.ack);
        }
        return;
      }
      // Through the module object: a wrapper wa-js installed is what gets called.
      mod("WAWebHandleMsgReceipt").handleChatSimpleReceipt({
        type: "receipt", stanzaId: event.ids[0], externalIds: event.ids, from,
        participant: null, recipient: null, ts: Math.floor(Date.now() / 1000),
        ack: event.ack, ackString: event.ack >= 3 ? "read" : "delivery",
      });
    }

    async function onServerEvent(event) {
      switch (event.type) {
        case "linked":
          clearTimeout(codeTimer);
          linkMode = "qr";
          Me().setMe(event.me, event.lid);
          Socket().state = "PAIRING";
          Stream().info = "PAIRING";
          await resume(await server.get("/sim/api/boot"));
          break;
        case "traffic":
          await pullTraffic();
          await flushUnsent();
          break;
        case "ack": receipt(event); break;
        case "online": Network().online = event.online; break;
        case "stream":
          Socket().state = event.mode === "CONFLICT" ? "CONFLICT" : "CONNECTED";
          Stream().set({ mode: event.mode, info: event.mode === "MAIN" ? "NORMAL" : "OFFLINE" });
          if (event.mode === "MAIN") await flushUnsent();
          break;
        case "stall":
          // The socket is gone and nothing says so: no event, no traffic. Only asking the
          // page (getStreamData / isOnline) tells.
          Stream().set({ info: "RESUMING" }, { silent: true });
          Network().set({ online: false }, { silent: true });
          break;
        case "needs_update": Stream().needsUpdate = true; break;
        case "logout": await loggedOut(event.reason); break;
        case "crash":
          for (;;) { /* a hung tab: the renderer never answers again */ }
        default: break;
      }
      changed();
    }

    window.__simStarted = exports.start().catch((error) => {
      console.error(error);
      document.documentElement.dataset.error = String(error);
    });
  });

  window.__simRequire("SimApp");
})();
