// The simulated WhatsApp Web, part 3: the state, stores and functions wa-js reaches on the
// worker's paths. Each module is found by the predicate of the wa-js file named beside it
// (wa-js 4.6.0, src/whatsapp/**), and behaves as that file's callers need. What happens on the
// wire is the simulator server's (`SimServer`, in app.js): these modules are WhatsApp's client.
(() => {
  const d = window.__simDefine;
  const base = (require) => ({
    BaseModel: require("WAWebBaseModel").BaseModel,
    defineModel: require("WAWebBaseModel").defineModel,
    BaseCollection: require("WAWebBaseCollection").BaseCollection,
  });

  // --- the connection's state -------------------------------------------------------------

  // wa-js src/whatsapp/misc/Conn.ts (`m.Conn && m.ConnImpl`). `ref` is the server's part of
  // the QR code; src/conn/events/registerAuthCodeChangeEvent.ts re-reads the code on
  // `change:ref`, and src/conn/functions/getAuthCode.ts needs `ref` set and `connected` false.
  d("WAWebConnModel", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class ConnImpl extends BaseModel {}
    defineModel(ConnImpl, {
      proxyName: "conn",
      fields: ["id", "ref", "refTTL", "wid", "connected", "platform", "pushname", "phone"],
      derived: { refExpiry() { return this.refTTL; } },
    });
    exports.ConnImpl = ConnImpl;
    exports.Conn = new ConnImpl({ id: "me", connected: false, platform: "web" });
  });

  // wa-js src/whatsapp/misc/Cmd.ts (`m.Cmd && m.CmdImpl`): "main_loaded" (src/conn/events/
  // registerAuthenticatedEvent.ts, registerMainLoadedEvent.ts) and "logout"
  // (registerLogoutEvent.ts); `refreshQR` is what src/conn/functions/refreshQR.ts calls.
  d("WAWebCmd", ["WAWebEventEmitter"], (g, require, rd, rl, module, exports) => {
    const EventEmitter = require("WAWebEventEmitter").default;
    class CmdImpl extends EventEmitter {
      constructor() {
        super();
        this.isMainLoaded = false;
      }

      mainLoaded() {
        this.isMainLoaded = true;
        this.trigger("main_loaded");
      }

      refreshQR() {
        require("SimApp").refreshQr();
      }
    }
    exports.CmdImpl = CmdImpl;
    exports.Cmd = new CmdImpl();
  });

  // wa-js src/whatsapp/misc/Socket.ts (`m.Socket`): `state` decides "idle"
  // (src/conn/functions/isIdle.ts: UNPAIRED_IDLE) and `conn.require_auth`; `takeover` and
  // `logout` are WhatsApp's own actions.
  d("WAWebSocketModel", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class SocketModel extends BaseModel {
      takeover() {
        require("SimApp").takeOver();
      }

      logout() {
        require("SimApp").logOut();
      }

      poke() {
        require("SimApp").refreshQr();
      }
    }
    defineModel(SocketModel, { proxyName: "socket", fields: ["state", "stream", "hasSynced"] });
    exports.Socket = new SocketModel({ state: "OPENING", stream: "DISCONNECTED", hasSynced: false });
  });

  // wa-js src/whatsapp/enums/SOCKET_STATE.ts (`m.SOCKET_STATE`): the values
  // src/conn/functions/isIdle.ts and src/conn/events/registerRequireAuthEvent.ts compare
  // `Socket.state` with.
  d("WAWebSocketConstants", [], (g, require, rd, rl, module, exports) => {
    const values = (...names) => Object.freeze(Object.fromEntries(names.map((n) => [n, n])));
    exports.SOCKET_STATE = values("OPENING", "PAIRING", "UNPAIRED", "UNPAIRED_IDLE", "CONNECTED",
      "TIMEOUT", "CONFLICT", "UNLAUNCHED", "PROXYBLOCK", "TOS_BLOCK", "SMB_TOS_BLOCK",
      "DEPRECATED_VERSION");
    exports.SOCKET_STREAM = values("DISCONNECTED", "SYNCING", "RESUMING", "CONNECTED");
  });

  // wa-js src/whatsapp/enums/ACK.ts (`m.ACK && m.ACK_STRING`): src/chat/functions/
  // prepareRawMessage.ts starts every message at ACK.CLOCK.
  d("WAWebAck", [], (g, require, rd, rl, module, exports) => {
    exports.ACK = Object.freeze({ MD_DOWNGRADE: -7, INACTIVE: -6, CONTENT_UNUPLOADABLE: -5,
      CONTENT_TOO_BIG: -4, CONTENT_GONE: -3, EXPIRED: -2, FAILED: -1, CLOCK: 0, SENT: 1,
      RECEIVED: 2, READ: 3, PLAYED: 4, PEER: 5 });
    exports.ACK_STRING = Object.freeze({ SENDER: "sender", DELIVERY: "delivery", READ: "read",
      PLAYED: "played", INACTIVE: "inactive", READ_SELF: "read-self", PLAYED_SELF: "played-self" });
    exports.EDIT_ATTR = Object.freeze({ SENDER_REVOKE: 7, ADMIN_REVOKE: 8 });
  });

  // wa-js src/whatsapp/misc/Stream.ts (`m.Stream`): `mode`, `info` and `needsUpdate`, with
  // their change events (src/conn/events/registerStreamEvent.ts, registerNeedsUpdateEvent.ts;
  // registerMainReadyEvent.ts latches `conn.main_ready` on the first QR or MAIN mode).
  d("WAWebStreamModel", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class StreamModel extends BaseModel {
      markAvailable() { this.available = true; }
      markUnavailable() { this.available = false; }
    }
    defineModel(StreamModel, {
      proxyName: "stream", fields: ["mode", "info", "needsUpdate", "available"],
    });
    exports.Stream = new StreamModel({ needsUpdate: false, available: true });
  });

  // wa-js src/whatsapp/misc/NetworkStatus.ts (`m.default.checkOnline`):
  // src/conn/events/registerOnlineEvent.ts listens to `change:online`.
  d("WAWebNetworkStatus", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class NetworkStatusModel extends BaseModel {
      async checkOnline() {
        return this.online;
      }
    }
    defineModel(NetworkStatusModel, { proxyName: "networkStatus", fields: ["online"] });
    exports.default = new NetworkStatusModel({ online: navigator.onLine });
  });

  // --- who I am: the login, as WhatsApp keeps it in the browser's storage --------------------

  // wa-js src/whatsapp/misc/UserPrefs.ts (`getMaybeMePnUser`); the loader waits until this
  // module resolves (src/loader/index.ts). src/conn/functions/getMyUserWid.ts and
  // getMyUserLid.ts read me from it for every send.
  d("WAWebUserPrefsMeUser", ["WAWebWidFactory"], (g, require, rd, rl, module, exports) => {
    const { createWid } = require("WAWebWidFactory");
    const read = (key) => {
      const value = localStorage.getItem(key);
      return value ? createWid(JSON.parse(value)) : undefined;
    };
    exports.getMaybeMePnUser = () => read("last-wid-md");
    exports.getMaybeMeLidUser = () => read("last-lid-md");
    exports.getMePnUserOrThrow = () => {
      const me = read("last-wid-md");
      if (!me) throw new Error("getMePnUserOrThrow: not logged in");
      return me;
    };
    exports.getMeLidUserOrThrow = () => {
      const me = read("last-lid-md");
      if (!me) throw new Error("getMeLidUserOrThrow: not logged in");
      return me;
    };
    exports.isMeAccount = (wid) => [read("last-wid-md"), read("last-lid-md")]
      .some((me) => me && me.user === String(wid && (wid.user || wid)).split("@")[0]);
    exports.setMe = (pn, lid) => {
      localStorage.setItem("last-wid-md", JSON.stringify(pn));
      if (lid) localStorage.setItem("last-lid-md", JSON.stringify(lid));
    };
    exports.clearMe = () => {
      localStorage.removeItem("last-wid-md");
      localStorage.removeItem("last-lid-md");
    };
  });

  // wa-js src/whatsapp/functions/isAuthenticated.ts (`m.isLoggedIn`) and isRegistered.ts
  // (`m.isRegistered`): logged in means this browser holds a linked login.
  d("WAWebUserPrefsLoginState", ["WAWebUserPrefsMeUser"], (g, require, rd, rl, module, exports) => {
    exports.isLoggedIn = () => !!require("WAWebUserPrefsMeUser").getMaybeMePnUser();
  });
  d("WAWebUserPrefsRegistration", ["WAWebUserPrefsMeUser"], (g, require, rd, rl, module, exports) => {
    exports.isRegistered = () => !!require("WAWebUserPrefsMeUser").getMaybeMePnUser();
  });

  // The keys getAuthCode spells into the QR code next to the server's ref
  // (src/conn/functions/getAuthCode.ts): wa-js src/whatsapp/multidevice/waNoiseInfo.ts,
  // waSignalStore.ts and adv.ts. They are this browser's, kept in IndexedDB (SimApp).
  d("WAWebNoiseInfo", [], (g, require, rd, rl, module, exports) => {
    exports.waNoiseInfo = { get: async () => require("SimApp").keys().noise };
  });
  d("WAWebSignalStore", [], (g, require, rd, rl, module, exports) => {
    exports.waSignalStore = { getRegistrationInfo: async () => require("SimApp").keys().signal };
  });
  d("WAWebAdvSecret", [], (g, require, rd, rl, module, exports) => {
    exports.getADVSecretKey = () => require("SimApp").keys().adv;
    exports.setADVSignedIdentity = () => {};
  });

  // wa-js src/whatsapp/functions/logoutReason.ts (`m.getErrorCodeFromLogoutReason`): WhatsApp
  // calls it with the LogoutReason when it is logged out, and wa-js's wrapper of it is what
  // fires `conn.logout_reason` (src/conn/events/registerLogoutReasonEvent.ts).
  d("WAWebLogoutReasonUtils", [], (g, require, rd, rl, module, exports) => {
    let previous = null;
    exports.getErrorCodeFromLogoutReason = (reason) => ({ reason, code: `LOGOUT_${reason}` });
    exports.setPrevLogoutReasonCode = (code) => { previous = code; };
    exports.getPrevLogoutReasonCode = () => previous;
    exports.setPrevCustomLogoutMessage = () => {};
    exports.getPrevCustomLogoutMessage = () => null;
  });

  // wa-js src/whatsapp/misc/LinkDeviceEvents.ts (found by its id): WhatsApp asks for the
  // next pairing code with "refresh_alt_linking_code", or says the user must start again with
  // "force_manual_refresh" (src/conn/functions/linkDeviceCodeLifecycle.ts).
  d("WAWebLinkDeviceEvents", ["WAWebEventEmitter"], (g, require, rd, rl, module, exports) => {
    const EventEmitter = require("WAWebEventEmitter").default;
    const events = new EventEmitter();
    events.triggerRefreshAltLinkingCode = () => events.trigger("link_device_events:refresh_alt_linking_code");
    events.triggerForceManualRefresh = () => events.trigger("link_device_events:force_manual_refresh");
    exports.WAWebLinkDeviceEvents = events;
  });

  // wa-js src/whatsapp/functions/initializeAltDeviceLinking.ts and
  // genLinkDeviceCodeForPhoneNumber.ts (called by src/conn/functions/
  // genLinkDeviceCodeForPhoneNumber.ts): the server makes the code for that number.
  d("WAWebAltDeviceLinkingApi", [], (g, require, rd, rl, module, exports) => {
    exports.initializeAltDeviceLinking = async () => require("SimApp").startPairing();
    exports.genLinkDeviceCodeForPhoneNumber = async (phone, push) => require("SimApp").pairingCode(phone, push);
  });

  // wa-js src/whatsapp/contants/SANITIZED_VERSION_STR.ts: compared against by
  // src/chat/functions/markIsRead.ts to pick sendSeen's signature.
  d("WAWebBuildConstants", [], (g, require, rd, rl, module, exports) => {
    exports.SANITIZED_VERSION_STR = require("SimApp").VERSION;
  });

  // --- messages and chats -----------------------------------------------------------------

  // wa-js src/whatsapp/models/MsgModel.ts (exportProxyModel: `Msg.prototype.proxyName`).
  d("WAWebMsgModel", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class Msg extends BaseModel {
      static defaults() {
        return { isNewMsg: false, ack: 0, star: false };
      }

      updateAck(ack) {
        if (ack > (this.ack || 0)) this.ack = ack;
      }

      msgContextInfo() {
        return { quotedStanzaID: this.id.id, quotedRemoteJid: this.id.remote, quotedMsg: this.serialize() };
      }
    }
    defineModel(Msg, {
      proxyName: "msg",
      fields: ["id", "body", "type", "subtype", "t", "from", "to", "author", "self", "ack",
        "isNewMsg", "local", "caption", "mimetype", "filename", "size", "notifyName",
        "broadcast", "isForwarded", "star", "recvFresh"],
      derived: {
        isSentByMe() { return !!(this.id && this.id.fromMe); },
        isStatusV3() { return !!(this.id && this.id.remote.isStatus()); },
      },
    });
    exports.Msg = Msg;
  });

  // wa-js src/whatsapp/misc/MsgLoad.ts (`m.ChatMsgsCollection`): a chat's `msgs`.
  d("WAWebChatMsgsCollection", ["WAWebBaseCollection", "WAWebMsgModel"], (g, require, rd, rl, module, exports) => {
    const { BaseCollection } = base(require);
    class ChatMsgsCollection extends BaseCollection {}
    ChatMsgsCollection.model = require("WAWebMsgModel").Msg;
    exports.ChatMsgsCollection = ChatMsgsCollection;
  });

  // wa-js src/whatsapp/collections/MsgCollection.ts: on WhatsApp >= 2.3000.1044096409 only
  // the `MsgCollection` instance is exported (found by `processMultipleMessages`), and
  // src/whatsapp/stores.ts takes it as MsgStore. Every message the page knows is in it;
  // src/chat/events/registerNewMessageEvent.ts announces each `add` with `isNewMsg`.
  d("WAWebMsgCollection", ["WAWebBaseCollection", "WAWebMsgModel"], (g, require, rd, rl, module, exports) => {
    const { BaseCollection } = base(require);
    class MsgCollection extends BaseCollection {
      async processMultipleMessages(chatId, msgs) {
        return this.add(msgs, { merge: true });
      }

      hasSynced() {
        return require("WAWebSocketModel").Socket.hasSynced;
      }
    }
    MsgCollection.model = require("WAWebMsgModel").Msg;
    exports.MsgCollection = new MsgCollection();
  });

  // wa-js src/whatsapp/models/ChatModel.ts (exportProxyModel: `Chat.prototype.proxyName`).
  d("WAWebChatModel", ["WAWebBaseModel", "WAWebChatMsgsCollection"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    const { ChatMsgsCollection } = require("WAWebChatMsgsCollection");

    // What `chat.presence.subscribe()` needs (src/chat/functions/markIsComposing.ts).
    class Presence extends BaseModel {
      async subscribe() {
        this.isSubscribed = true;
      }
    }

    class Chat extends BaseModel {
      initialize() {
        this.msgs = new ChatMsgsCollection([], { parent: this });
        this.presence = new Presence({ id: this.id });
      }
    }
    defineModel(Chat, {
      proxyName: "chat",
      fields: ["id", "t", "name", "unreadCount", "archive", "isReadOnly", "muteExpiration",
        "notSpam", "pin", "lastReceivedKey", "pendingMsgs", "labels", "pausedTimerId",
        "ephemeralDuration"],
      derived: {
        isUser() { return !!this.id && this.id.isUser(); },
        isGroup() { return !!this.id && this.id.isGroup(); },
        isBroadcast() { return !!this.id && this.id.isBroadcast(); },
        isNewsletter() { return !!this.id && this.id.isNewsletter(); },
        hasUnread() { return (this.unreadCount || 0) !== 0; },
        formattedTitle() { return this.name || (this.id ? `+${this.id.user}` : ""); },
      },
    });
    exports.Chat = Chat;
  });

  // wa-js src/whatsapp/collections/ChatCollection.ts (`m.ChatCollectionImpl`); stores.ts
  // takes the exported instance as ChatStore. Newest chat first, like the chat list.
  d("WAWebChatCollection", ["WAWebBaseCollection", "WAWebChatModel"], (g, require, rd, rl, module, exports) => {
    const { BaseCollection } = base(require);
    class ChatCollectionImpl extends BaseCollection {}
    ChatCollectionImpl.model = require("WAWebChatModel").Chat;
    ChatCollectionImpl.comparator = (a, b) => (b.t || 0) - (a.t || 0);
    exports.ChatCollectionImpl = ChatCollectionImpl;
    exports.ChatCollection = new ChatCollectionImpl();
  });

  // wa-js src/whatsapp/models/ContactModel.ts and collections/ContactCollection.ts:
  // src/contact/functions/getPnLidEntry.ts reads ContactStore.get(...) for the names.
  d("WAWebContactModel", ["WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseModel, defineModel } = base(require);
    class Contact extends BaseModel {}
    defineModel(Contact, {
      proxyName: "contact", fields: ["id", "name", "shortName", "pushname", "type", "isBusiness"],
    });
    exports.Contact = Contact;
  });
  d("WAWebContactCollection", ["WAWebBaseCollection", "WAWebContactModel"], (g, require, rd, rl, module, exports) => {
    const { BaseCollection } = base(require);
    class ContactCollectionImpl extends BaseCollection {}
    ContactCollectionImpl.model = require("WAWebContactModel").Contact;
    exports.ContactCollectionImpl = ContactCollectionImpl;
    exports.ContactCollection = new ContactCollectionImpl();
  });

  // wa-js src/whatsapp/collections/GroupMetadataCollection.ts (`default` has
  // `_handleParentGroupChange`): `find` asks WhatsApp's server for a group's metadata, one
  // query per group; src/chat/functions/list.ts does so for every group unless told not to.
  d("WAWebGroupMetadataCollection", ["WAWebBaseCollection", "WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const { BaseCollection, BaseModel, defineModel } = base(require);
    class GroupMetadata extends BaseModel {}
    defineModel(GroupMetadata, { proxyName: "groupMetadata", fields: ["id", "subject", "groupType"] });
    class GroupMetadataCollection extends BaseCollection {
      async findRemote(id) {
        return this.add(await require("SimApp").groupMetadata(id));
      }

      _handleParentGroupChange() {}
    }
    GroupMetadataCollection.model = GroupMetadata;
    exports.default = new GroupMetadataCollection();
  });

  // wa-js src/whatsapp/misc/LidPnCache.ts (`m.lidPnCache`): the phone number behind a LID,
  // as WhatsApp learns it with the messages (src/contact/functions/getPnLidEntry.ts).
  d("WAWebLidPnCache", ["WAWebWidFactory"], (g, require, rd, rl, module, exports) => {
    const { createWid } = require("WAWebWidFactory");
    const byLid = new Map();
    exports.lidPnCache = {
      getPhoneNumber: (lid) => (byLid.has(String(lid)) ? createWid(byLid.get(String(lid))) : null),
      getCurrentLid: (pn) => {
        for (const [lid, number] of byLid) if (number === String(pn)) return createWid(lid);
        return null;
      },
      remember: (lid, pn) => byLid.set(String(lid), String(pn)),
    };
  });

  // wa-js src/whatsapp/functions/findOrCreateLatestChat.ts: src/chat/functions/find.ts
  // (every send, through assertFindChat) reads `result.chat.id` and then ChatStore.
  d("WAWebFindChatAction", ["WAWebChatCollection"], (g, require, rd, rl, module, exports) => {
    exports.findOrCreateLatestChat = async (wid) => {
      const { ChatCollection } = require("WAWebChatCollection");
      const existing = ChatCollection.get(wid);
      if (existing) return { chat: { id: existing.id }, created: false };
      const chat = ChatCollection.add({ id: wid, t: 0, unreadCount: 0 });
      return { chat: { id: chat.id }, created: true };
    };
  });

  // wa-js src/whatsapp/functions/addAndSendMsgToChat.ts: [the message, the send's result].
  // The message is in the chat at once with ack CLOCK; the server's ack raises it
  // (src/chat/events/registerAckMessageEvent.ts announces ack 1 from MsgStore's change:ack).
  d("WAWebSendMsgChatAction", [], (g, require, rd, rl, module, exports) => {
    exports.addAndSendMsgToChat = async (chat, data) => require("SimApp").send(chat, data);
  });

  // A file message (wa-js src/chat/functions/sendFileMessage.ts): the size is checked with
  // MediaGatingUtils, the file wrapped in OpaqueData, prepared by MediaPrep.prepRawMedia and
  // sent with `sendToChat(chat, options)`, whose `productMsgOptions` is the prepared message
  // (its id is ours); wa-js then waits for that message in `chat.msgs`. The upload to
  // WhatsApp's media servers is where the simulator stops: it records the file's hash.
  // wa-js src/whatsapp/misc/MediaGatingUtils.ts: `m.getUploadLimit`.
  d("WAWebMediaGatingUtils", [], (g, require, rd, rl, module, exports) => {
    const MB = 1024 * 1024;
    exports.getUploadLimit = (type) => ({ image: 16, video: 64, audio: 16, sticker: 1 })[type] * MB || 2048 * MB;
  });

  // wa-js src/whatsapp/misc/OpaqueData.ts: `m.default.createFromData` (and the base class by
  // `m.default.prototype.throwIfReleased`).
  d("WAWebMediaOpaqueData", [], (g, require, rd, rl, module, exports) => {
    class OpaqueData {
      constructor(blob) { this._blob = blob; }
      throwIfReleased() {}
      size() { return this._blob.size; }
      type() { return this._blob.type; }
      forceToBlob() { return this._blob; }
      static async createFromData(data, type) {
        return new OpaqueData(data instanceof Blob ? data : new Blob([data], { type }));
      }
    }
    exports.default = OpaqueData;
  });

  // wa-js src/whatsapp/misc/MediaPrep.ts: `m.uploadProductImage && m.MediaPrep`; a string
  // name in exportModule (src/whatsapp/exportModule.ts) exports the whole module, so
  // `prepRawMedia` is the module's function and `MediaPrep` its class.
  d("WAWebMediaPrep", [], (g, require, rd, rl, module, exports) => {
    const base64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
    class MediaPrep {
      constructor(opaque, options) {
        const blob = opaque.forceToBlob();
        const type = options.asDocument ? "document" : blob.type.startsWith("image/") ? "image" : "document";
        this._prep = blob.arrayBuffer().then(async (bytes) => {
          const filehash = base64(await crypto.subtle.digest("SHA-256", bytes));
          this._mediaData = { type, mimetype: blob.type, size: blob.size, filehash };
          return this._mediaData;
        });
      }

      waitForPrep() { return this._prep; }

      async sendToChat(chat, options) {
        const media = await this._prep;
        const message = options.productMsgOptions;
        const [, sent] = await require("SimApp").send(chat, {
          ...message, type: media.type, caption: options.caption ?? message.caption, mimetype: media.mimetype,
          size: media.size, filehash: media.filehash, body: undefined,
        });
        return sent;
      }
    }
    exports.MediaPrep = MediaPrep;
    exports.prepRawMedia = (opaque, options) => new MediaPrep(opaque, options || {});
    exports.uploadProductImage = async () => { throw new Error("product images are not simulated"); };
  });

  // wa-js src/whatsapp/functions/unixTime.ts (`m.unixTime`).
  d("WAWebClock", [], (g, require, rd, rl, module, exports) => {
    exports.unixTime = () => Math.floor(Date.now() / 1000);
    exports.unixTimeMs = () => Date.now();
  });

  // wa-js src/whatsapp/functions/getEphemeralFields.ts: no disappearing messages here.
  d("WAWebGetEphemeralFieldsMsgActionsUtils", [], (g, require, rd, rl, module, exports) => {
    exports.getEphemeralFields = (chat) => (chat.ephemeralDuration
      ? { ephemeralDuration: chat.ephemeralDuration } : {});
  });

  // wa-js src/whatsapp/functions/markSeen.ts (`m.markUnread && m.sendSeen`):
  // src/chat/functions/markIsRead.ts sends the read receipt with it.
  d("WAWebUpdateUnreadChatAction", [], (g, require, rd, rl, module, exports) => {
    exports.sendSeen = async (options) => {
      const chat = options && options.chat ? options.chat : options;
      await require("SimApp").seen(chat);
      chat.unreadCount = 0;
    };
    exports.markUnread = async (chat) => {
      chat.unreadCount = -1;
      return chat;
    };
  });

  // wa-js src/whatsapp/misc/ChatPresence.ts (`m.markComposing`): "typing…" and its end
  // (src/chat/functions/markIsComposing.ts, markIsPaused.ts; the `delay` send option).
  d("WAWebChatStateBridge", [], (g, require, rd, rl, module, exports) => {
    exports.markComposing = async (chat) => require("SimApp").presence(chat, "composing");
    exports.markPaused = async (chat) => require("SimApp").presence(chat, "paused");
    exports.markRecording = async (chat) => require("SimApp").presence(chat, "recording");
  });

  // wa-js src/whatsapp/functions/msgFindByDirection.ts: the older messages of a chat, from
  // the server (src/chat/functions/getMessages.ts, anchored at `chat.lastReceivedKey`).
  d("WAWebDBMessageFindLocal", [], (g, require, rd, rl, module, exports) => {
    exports.msgFindByDirection = async (params) => require("SimApp").messagesAround(params);
    exports.msgFindBefore = async (params) => exports.msgFindByDirection({ ...params, direction: "before" });
    exports.msgFindAfter = async (params) => exports.msgFindByDirection({ ...params, direction: "after" });
  });

  // wa-js src/whatsapp/functions/getSearchContext.ts, called with one object on
  // WhatsApp >= 2.3000 (callGetSearchContext.ts): src/chat/functions/getMessageById.ts
  // looks a message up by its whole key (chat, fromMe and id) when the page lacks it.
  d("WAWebChatMessageSearch", ["WAWebChatMsgsCollection"], (g, require, rd, rl, module, exports) => {
    exports.getSearchContext = ({ chat, msgKey }) => {
      const { ChatMsgsCollection } = require("WAWebChatMsgsCollection");
      const collection = new ChatMsgsCollection([], { parent: chat });
      collection.loadAroundPromise = require("SimApp").messageByKey(chat, msgKey)
        .then((found) => { if (found) collection.add(found); });
      return { collection, msg: undefined, isMsgVisible: false };
    };
  });

  // wa-js src/whatsapp/functions/handleAck.ts: WhatsApp's receipt handlers. wa-js wraps them
  // to announce acks of 2 (delivered) and 3 (read) as `chat.msg_ack_change`
  // (src/chat/events/registerAckMessageEvent.ts), with keys it builds from `externalIds`.
  d("WAWebHandleMsgReceipt", ["WAWebMsgCollection", "WAWebMsgKey"], (g, require, rd, rl, module, exports) => {
    const apply = (receipt) => {
      const MsgKey = require("WAWebMsgKey").default;
      const { MsgCollection } = require("WAWebMsgCollection");
      for (const id of receipt.externalIds) {
        const msg = MsgCollection.get(new MsgKey({ fromMe: true, remote: receipt.from, id }));
        if (msg) msg.updateAck(receipt.ack);
      }
    };
    exports.handleChatSimpleReceipt = apply;
    exports.handleGroupSimpleReceipt = apply;
    exports.handleStatusSimpleReceipt = apply;
  });
})();
