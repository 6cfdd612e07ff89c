// The simulator's WhatsApp Web: a fake `window.WPP` with the names and payload shapes of the
// pinned @wppconnect/wa-js (its dist/**/*.d.ts), backed by the simulator's server.
//
// The worker injects the real wa-js bundle before any page script runs. On the real site that
// bundle finds WhatsApp's own modules; here there are none, so it would never become ready:
// this script replaces `window.WPP` with the fake, which the worker then binds like the real
// one (it waits for `WPP.isReady`). tests/contract checks that both offer the same names.
//
// Like the real site, the login is a non-extractable CryptoKey kept in IndexedDB (a copy of
// cookies or local storage does not carry it), and an automated browser is refused.

(() => {
const DB = "wawc-sim";
const listeners = new Map();
let token = null;
let stream = { mode: "QR", info: "OPENING" };
let online = false;
let authenticated = false;
let mainReady = false;
let needsUpdate = false;
let me = null;
let authCode = null;
let qrTimer = null;
let linkCode = null;
let linkTimer = null;
let linkPhone = null;

function emit(name, ...args) {
  for (const fn of [...(listeners.get(name) || [])]) {
    try { fn(...args); } catch (e) { console.error(e); }
  }
}

async function api(path, options = {}) {
  const sep = path.includes("?") ? "&" : "?";
  const response = await fetch(`${path}${sep}token=${encodeURIComponent(token || "")}`, {
    ...options,
    headers: options.body ? { "Content-Type": "application/json" } : {},
  });
  const value = await response.json();
  if (!response.ok) throw Object.assign(new Error(value.error || response.statusText), { status: response.status });
  return value;
}

const post = (path, body) => api(path, { method: "POST", body: body ? JSON.stringify(body) : undefined });

// --- wa-js shapes (whatsapp/misc/Wid.d.ts, MsgKey.d.ts, models/MsgModel.d.ts) -------------
function wid(serialized) {
  const [user, server] = serialized.split("@");
  return {
    _serialized: serialized, user, server,
    toString: () => serialized, toJSON: () => serialized,
    isLid: () => server === "lid", isUser: () => server === "c.us" || server === "lid",
    isGroup: () => server === "g.us",
  };
}

function msgKey(fromMe, chat, id) {
  const serialized = `${fromMe}_${chat}_${id}`;
  return { fromMe, remote: wid(chat), id, _serialized: serialized, toString: () => serialized };
}

function msgModel(m, type = "chat") {
  const mine = me || "0@c.us";
  return {
    id: msgKey(m.fromMe, m.chat, m.id),
    body: type === "ciphertext" ? undefined : m.body,
    type,
    t: m.t,
    from: wid(m.fromMe ? mine : m.chat),
    to: wid(m.fromMe ? m.chat : mine),
    ack: m.ack,
    isNewMsg: m.isNewMsg,
  };
}

function authCodeOf(code) {
  // AuthCodeMultiDevice (conn/types.d.ts): fullCode is what the QR encodes.
  const [ref, staticKeyPair, identityKeyPair, secretKey] = code.split(",");
  return { type: "multidevice", ref, staticKeyPair, identityKeyPair, secretKey, fullCode: code };
}

function setStream(mode, info) {
  const changed = stream.mode !== mode;
  stream = { mode, info };
  if (changed) emit("conn.stream_mode_changed", mode);
}

function setOnline(value) {
  if (online !== value) { online = value; emit("conn.online", value); }
}

// --- codes -----------------------------------------------------------------------------
async function showQr(fresh = false) {
  clearTimeout(qrTimer);
  const qr = fresh ? await post("/sim/api/qr/refresh") : await api("/sim/api/qr");
  if (qr.linked) return;
  if (qr.idle) {
    authCode = null;
    emit("conn.auth_code_change", null);
    emit("conn.qrcode_idle");
    return;
  }
  if (!authCode || authCode.fullCode !== qr.code) {
    authCode = authCodeOf(qr.code);
    window.__simQr = qr; // for the human-facing view only
    emit("conn.auth_code_change", authCode);
  }
  qrTimer = setTimeout(() => showQr().catch(console.error), qr.refreshInMs);
}

async function nextLinkCode() {
  clearTimeout(linkTimer);
  const view = await api("/sim/api/pairing");
  if (view.idle) {
    linkCode = null;
    emit("conn.link_code_expired");
    return null;
  }
  if (linkCode !== view.code) {
    linkCode = view.code;
    window.__simPairing = view;
    emit("conn.link_code_change", view.code);
  }
  linkTimer = setTimeout(() => nextLinkCode().catch(console.error), view.refreshInMs);
  return view.code;
}

// --- traffic -----------------------------------------------------------------------------
async function pullTraffic() {
  if (!mainReady) return;
  for (const m of await api("/sim/api/pending")) {
    // wa-js emits a message twice when it arrives encrypted: first as "ciphertext" (no
    // body yet), then again once decrypted.
    const model = msgModel(m, "ciphertext");
    emit("chat.new_message", model);
    await Promise.resolve();
    emit("chat.new_message", msgModel(m));
  }
}

async function becomeMain(state) {
  me = state.me;
  authenticated = true;
  needsUpdate = !!state.needsUpdate;
  clearTimeout(qrTimer);
  setStream("SYNCING", "SYNCING");
  setOnline(!!state.online);
  if (state.stream === "CONFLICT") { setStream("CONFLICT", "NORMAL"); return; }
  setStream(state.online ? "MAIN" : "OFFLINE", state.online ? "NORMAL" : "OFFLINE");
  mainReady = true;
  emit("conn.main_ready");
  if (needsUpdate) emit("conn.needs_update");
  await pullTraffic();
}

async function boot() {
  const state = await api("/sim/api/boot");
  needsUpdate = !!state.needsUpdate;
  if (state.stream === "QR") {
    setStream("QR", "NORMAL");
    setOnline(true);
    if (state.logoutReason) {
      emit("conn.logout_reason", state.logoutReason);
      emit("conn.logout");
    }
    WPP.isReady = true;
    await showQr();
    return;
  }
  WPP.isReady = true;
  emit("conn.authenticated");
  await becomeMain(state);
}

function onServerEvent(event) {
  switch (event.type) {
    case "linked":
      authCode = null;
      clearTimeout(linkTimer);
      emit("conn.authenticated");
      api("/sim/api/boot").then(becomeMain).catch(console.error);
      break;
    case "traffic": pullTraffic().catch(console.error); break;
    case "ack":
      emit("chat.msg_ack_change", {
        ack: event.ack, chat: wid(event.chat),
        ids: event.ids.map((id) => msgKey(true, event.chat, id)),
      });
      break;
    case "online": setOnline(event.online); break;
    case "stream": setStream(event.mode, event.mode === "MAIN" ? "NORMAL" : "OFFLINE"); break;
    case "stall":
      // The socket is gone but nothing says so: no event, no traffic. Only a question
      // to the page (getStreamData / isOnline) tells.
      stream = { mode: stream.mode, info: "RESUMING" };
      online = false;
      break;
    case "needs_update": needsUpdate = true; emit("conn.needs_update"); break;
    case "logout":
      authenticated = mainReady = false;
      me = null;
      emit("conn.logout_reason", event.reason);
      emit("conn.logout");
      setStream("QR", "NORMAL");
      showQr(true).catch(console.error);
      break;
    case "crash":
      for (;;) { /* a hung tab: the renderer never answers again */ }
    default: break;
  }
}

// --- the device key: non-extractable, in IndexedDB ----------------------------------------
function idb(mode, fn) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("keys");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const tx = open.result.transaction("keys", mode);
      const request = fn(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    };
  });
}

async function deviceKey() {
  let pair = await idb("readonly", (store) => store.get("device"));
  if (!pair) {
    pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    await idb("readwrite", (store) => store.put(pair, "device"));
  }
  return pair;
}

const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));

async function openSession() {
  const pair = await deviceKey();
  const { nonce } = await api("/sim/api/hello");
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" }, pair.privateKey, new TextEncoder().encode(nonce));
  const publicKey = b64(await crypto.subtle.exportKey("spki", pair.publicKey));
  const session = await post("/sim/api/session", { publicKey, nonce, signature: b64(signature) });
  token = session.token;
}

// --- the public surface (names as in the pinned wa-js) ------------------------------------
const WPP = {
  version: "simulator",
  isInjected: true,
  isReady: false,
  on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(fn);
    return WPP;
  },
  off(name, fn) { listeners.get(name)?.delete(fn); return WPP; },
  conn: {
    getAuthCode: async () => authCode,
    refreshQR: async () => { if (authenticated) return null; await showQr(true); return authCode; },
    genLinkDeviceCodeForPhoneNumber: async (phone) => {
      linkPhone = phone;
      await post("/sim/api/pairing", { phone });
      return nextLinkCode();
    },
    startLinkDeviceCodeForPhoneNumber: async (phone) => {
      if (linkCode && linkPhone === phone) return linkCode;
      return WPP.conn.genLinkDeviceCodeForPhoneNumber(phone);
    },
    logout: async () => { await post("/sim/api/logout"); return true; },
    getStreamData: () => ({ mode: stream.mode, info: stream.info }),
    isAuthenticated: () => authenticated,
    isMainReady: () => mainReady,
    isOnline: () => online,
    needsUpdate: () => needsUpdate,
  },
  chat: {
    sendTextMessage: async (chatId, content, options = {}) => {
      const id = typeof options.messageId === "string" ? options.messageId.split("_").pop()
        : options.messageId?.id;
      const m = await post("/sim/api/send", { chat: String(chatId), text: String(content), id });
      emit("chat.new_message", msgModel(m));
      return { id: msgKey(true, m.chat, m.id)._serialized, ack: m.ack, from: me, to: m.chat, sendMsgResult: null };
    },
    getMessages: async (chatId, options = {}) => {
      const count = options.count ?? 20;
      const rows = await api(`/sim/api/messages?chat=${encodeURIComponent(String(chatId))}&count=${count}`);
      return rows.map((m) => msgModel(m));
    },
    list: async () => (await api("/sim/api/chats")).map((c) => ({ id: wid(c.id), t: c.t })),
    getMessageById: async (id) => {
      const key = typeof id === "string" ? id.split("_").pop() : id.id;
      const { message } = await api(`/sim/api/message?id=${encodeURIComponent(key)}`);
      if (!message) throw Object.assign(new Error(`Message ${id} not found`), { code: "msg_not_found" });
      return msgModel(message);
    },
  },
  contact: {
    getPnLidEntry: async (contactId) => {
      const chat = String(contactId);
      const { phone } = await api(`/sim/api/pn?chat=${encodeURIComponent(chat)}`);
      const lid = chat.endsWith("@lid") ? { id: chat.split("@")[0], server: "lid", _serialized: chat } : undefined;
      const phoneNumber = phone ? { id: phone, server: "c.us", _serialized: `${phone}@c.us` } : undefined;
      return { lid, phoneNumber };
    },
  },
  whatsapp: {
    Socket: { takeover: () => { post("/sim/api/takeover").catch(console.error); } },
  },
};

async function start() {
  if (navigator.webdriver || /HeadlessChrome/.test(navigator.userAgent)) {
    document.body.textContent = "WhatsApp works with Google Chrome 85+";
    return;
  }
  window.WPP = WPP;
  await openSession();
  const events = new EventSource(`/sim/api/stream?token=${encodeURIComponent(token)}`);
  events.onmessage = (message) => onServerEvent(JSON.parse(message.data));
  await boot();
}

window.__simStarted = start().catch((e) => { console.error(e); document.body.dataset.error = String(e); });
})();
