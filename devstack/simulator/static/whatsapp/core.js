// The simulated WhatsApp Web, part 2: the building blocks every WhatsApp Web module uses
// (events, models, collections, ids, message keys). Each module is the smallest version of
// WhatsApp's own that the real wa-js accepts: wa-js finds it with the predicate in the file
// named beside it, and uses it the way that file and its callers do. A fake more lenient than
// the real site is a bug here (DESIGN.md, "Semantics come from wa-js's source").
(() => {
  const d = window.__simDefine;

  // wa-js src/whatsapp/misc/EventEmitter.ts: found by its id.
  d("WAWebEventEmitter", [], (g, r, rd, rl, module, exports) => {
    class EventEmitter {
      on(name, callback, context) {
        if (typeof callback !== "function") {
          throw new TypeError("Callback parameter passed is not a function");
        }
        if (!this.__events) this.__events = new Map();
        if (!this.__events.has(name)) this.__events.set(name, []);
        this.__events.get(name).push({ callback, context, once: false });
        return this;
      }

      once(name, callback, context) {
        this.on(name, callback, context);
        const list = this.__events.get(name);
        list[list.length - 1].once = true;
        return this;
      }

      off(name, callback, context) {
        if (!this.__events) return this;
        if (name === undefined) {
          this.__events.clear();
          return this;
        }
        const list = this.__events.get(name) || [];
        this.__events.set(name, list.filter((l) => (callback && l.callback !== callback)
          || (context && l.context !== context)));
        return this;
      }

      trigger(name, ...args) {
        const list = this.__events && this.__events.get(name);
        if (!list || !list.length) return this;
        for (const listener of [...list]) {
          if (listener.once) this.off(name, listener.callback);
          try {
            listener.callback.apply(listener.context || this, args);
          } catch (error) {
            // Like WhatsApp's ErrorGuard: one failing listener never stops the others.
            setTimeout(() => { throw error; });
          }
        }
        return this;
      }

      listenTo(other, name, callback) {
        other.on(name, callback, this);
        return this;
      }

      listenToOnce(other, name, callback) {
        other.once(name, callback, this);
        return this;
      }

      listenToAndRun(other, name, callback) {
        this.listenTo(other, name, callback);
        callback.call(this);
        return this;
      }

      stopListening(other, name, callback) {
        if (other) other.off(name, callback, this);
        return this;
      }

      isListening(name) {
        return !!(this.__events && (this.__events.get(name) || []).length);
      }

      removeAllListeners() {
        return this.off();
      }
    }
    EventEmitter.prototype.emit = EventEmitter.prototype.trigger;
    EventEmitter.prototype.bind = EventEmitter.prototype.on;
    EventEmitter.prototype.unbind = EventEmitter.prototype.off;
    EventEmitter.prototype.removeListener = EventEmitter.prototype.off;
    exports.default = EventEmitter;
  });

  // wa-js src/whatsapp/models/Model.ts: found by `m.defineModel`; models fire
  // `change:<attribute>` (model, value), which wa-js listens to (e.g. src/conn/events/
  // registerStreamEvent.ts on Stream, src/chat/events/registerNewMessageEvent.ts on a Msg).
  d("WAWebBaseModel", ["WAWebEventEmitter"], (g, require, rd, rl, module, exports) => {
    const EventEmitter = require("WAWebEventEmitter").default;

    class BaseModel extends EventEmitter {
      constructor(attributes, options = {}) {
        super();
        this.__attributes = {};
        this.__collections = new Set();
        if (options.collection) this.__collections.add(options.collection);
        const defaults = this.constructor.defaults ? this.constructor.defaults() : {};
        this.set({ ...defaults, ...(attributes || {}) }, { silent: true });
        this.initialize();
      }

      initialize() {}

      get attributes() {
        return { ...this.__attributes };
      }

      get(name) {
        return this[name];
      }

      set(name, value, options) {
        let changes = name;
        if (typeof name !== "object" || name === null) {
          changes = { [name]: value };
        } else {
          options = value;
        }
        const changed = [];
        for (const [key, next] of Object.entries(changes)) {
          if (!(key in this)) defineAttribute(this, key);
          if (this.__attributes[key] !== next) {
            this.__attributes[key] = next;
            changed.push(key);
          }
        }
        if (!(options && options.silent)) {
          for (const key of changed) this.trigger(`change:${key}`, this, this.__attributes[key]);
          if (changed.length) this.trigger("change", this);
        }
        return this;
      }

      unset(name, options) {
        if (name in this.__attributes) {
          delete this.__attributes[name];
          if (!(options && options.silent)) this.trigger(`change:${name}`, this, undefined);
        }
      }

      trigger(name, ...args) {
        super.trigger(name, ...args);
        for (const collection of this.__collections) collection.__forward(name, args);
        return this;
      }

      serialize() {
        return JSON.parse(JSON.stringify(this.__attributes));
      }

      toJSON() {
        return this.serialize();
      }

      delete() {
        for (const collection of [...this.__collections]) collection.remove(this);
      }

      incObservers() {}

      decObservers() {}

      hasObservers() {
        return false;
      }
    }

    function defineAttribute(target, key) {
      Object.defineProperty(target, key, {
        configurable: true,
        enumerable: true,
        get() { return this.__attributes ? this.__attributes[key] : undefined; },
        set(value) { this.set(key, value); },
      });
    }

    // WhatsApp declares a model's props, session fields and derived fields once; wa-js reads
    // them as plain properties and sets some (e.g. `chat.pausedTimerId`).
    function defineModel(Model, { proxyName, fields = [], derived = {} }) {
      for (const key of fields) defineAttribute(Model.prototype, key);
      for (const [key, get] of Object.entries(derived)) {
        Object.defineProperty(Model.prototype, key, { configurable: true, get });
      }
      Model.prototype.proxyName = proxyName;
      return Model;
    }

    exports.BaseModel = BaseModel;
    exports.defineModel = defineModel;
  });

  // wa-js src/whatsapp/collections/Collection.ts: found by the text of the error a
  // collection without a model throws. `add` fires "add" (model) and a collection repeats
  // its models' `change:*` events, which wa-js relies on (MsgStore.on("change:ack") in
  // src/chat/events/registerAckMessageEvent.ts).
  d("WAWebCollection", ["WAWebEventEmitter", "WAWebBaseModel"], (g, require, rd, rl, module, exports) => {
    const EventEmitter = require("WAWebEventEmitter").default;
    const { BaseModel } = require("WAWebBaseModel");

    function idOf(value) {
      if (value == null) return null;
      if (typeof value === "string") return value;
      if (value instanceof BaseModel) return idOf(value.id);
      if (typeof value._serialized === "string") return value._serialized;
      if (typeof value === "object" && "id" in value) return idOf(value.id);
      return null;
    }

    class Collection extends EventEmitter {
      constructor(models, options = {}) {
        super();
        if (!this.constructor.model) throw new Error("Collection initialized without model");
        this.parent = options.parent;
        this.__models = [];
        this.__byId = new Map();
        if (models) this.add(models, { silent: true });
      }

      get length() {
        return this.__models.length;
      }

      __forward(name, args) {
        if (name.startsWith("change")) this.trigger(name, ...args);
      }

      add(input, options = {}) {
        const many = Array.isArray(input);
        const out = [];
        for (const item of many ? input : [input]) {
          const existing = this.__byId.get(idOf(item));
          if (existing) {
            if (options.merge && !(item instanceof BaseModel)) existing.set(item);
            out.push(existing);
            continue;
          }
          const model = item instanceof BaseModel ? item
            : new this.constructor.model(item, { collection: this });
          model.__collections.add(this);
          this.__models.push(model);
          this.__byId.set(idOf(model), model);
          if (this.constructor.comparator) this.__models.sort(this.constructor.comparator);
          if (!options.silent) this.trigger("add", model, this, options);
          out.push(model);
        }
        return many ? out : out[0];
      }

      set(input, options = {}) {
        return this.add(input, { ...options, merge: true });
      }

      remove(input, options = {}) {
        const removed = [];
        for (const item of Array.isArray(input) ? input : [input]) {
          const model = this.get(item);
          if (!model) continue;
          this.__models.splice(this.__models.indexOf(model), 1);
          this.__byId.delete(idOf(model));
          model.__collections.delete(this);
          if (!options.silent) this.trigger("remove", model, this, options);
          removed.push(model);
        }
        return removed;
      }

      reset() {
        for (const model of this.__models) model.__collections.delete(this);
        this.__models = [];
        this.__byId.clear();
        this.trigger("reset", this);
      }

      get(id) {
        return this.__byId.get(idOf(id));
      }

      assertGet(id) {
        const model = this.get(id);
        if (!model) throw new Error(`Collection.assertGet: no model ${idOf(id)}`);
        return model;
      }

      at(index) { return this.__models[index]; }
      head() { return this.__models[0]; }
      last() { return this.__models[this.__models.length - 1]; }
      toArray() { return [...this.__models]; }
      getModelsArray() { return this.__models; }
      serialize() { return this.__models.map((m) => m.serialize()); }
      toJSON() { return this.serialize(); }
      isModel(model) { return model instanceof this.constructor.model; }
      includes(model) { return this.__models.includes(model); }
      findFirst(fn) { return this.__models.find(fn); }
      where(ids) { return ids.map((id) => this.get(id)).filter(Boolean); }
      sort() { if (this.constructor.comparator) this.__models.sort(this.constructor.comparator); return this; }
    }
    for (const name of ["forEach", "map", "filter", "some", "every", "reduce", "slice", "indexOf", "lastIndexOf"]) {
      Collection.prototype[name] = function (...args) { return this.__models[name](...args); };
    }
    exports.default = Collection;
    exports.idOf = idOf;
  });

  // wa-js src/whatsapp/collections/BaseCollection.ts: found by `m.BaseCollection`; `find`
  // resolves a model, asking the server when the page does not have it.
  d("WAWebBaseCollection", ["WAWebCollection"], (g, require, rd, rl, module, exports) => {
    const Collection = require("WAWebCollection").default;

    class BaseCollection extends Collection {
      async find(id) {
        const found = this.get(id) || (this.findRemote ? await this.findRemote(id) : undefined);
        if (!found) throw new Error(`${this.constructor.name}.find: not found`);
        return found;
      }

      async findQuery(id) {
        return this.get(id) || (this.findRemote ? this.findRemote(id) : undefined);
      }

      gadd(id) {
        return this.get(id) || this.add({ id });
      }

      gaddUp(id) {
        return this.gadd(id);
      }

      handle(values) {
        this.set(values);
      }

      isStateStale() {
        return false;
      }
    }
    exports.BaseCollection = BaseCollection;
  });

  // wa-js src/whatsapp/misc/Wid.ts: found by the static `isXWid`. A Wid is `user@server`;
  // wa-js decides 1:1 / group / status / LID by its methods (e.g. src/chat/functions/
  // prepareRawMessage.ts: `chat.id.isLid()`, `isGroup()`; getPnLidEntry: `server`).
  d("WAWebWid", [], (g, r, rd, rl, module, exports) => {
    const USER_SERVERS = ["c.us", "lid", "bot", "hosted", "hosted.lid"];

    class Wid {
      constructor(id, options) {
        if (!options || !options.intentionallyUsePrivateConstructor) {
          throw new Error("Wid: use WidFactory to create a Wid");
        }
        const match = /^([^@:]*)(?::(\d+))?@([a-z.]+)$/.exec(String(id));
        if (!match) throw new Error(`Wid: invalid wid ${id}`);
        [, this.user, this.device, this.server] = match;
        this._serialized = `${this.user}${this.device ? `:${this.device}` : ""}@${this.server}`;
      }

      toString() { return this._serialized; }
      toJSON() { return this._serialized; }
      toJid() { return this._serialized.replace("@c.us", "@s.whatsapp.net"); }
      equals(other) { return other != null && String(other._serialized || other) === this._serialized; }
      isUser() { return USER_SERVERS.includes(this.server); }
      isLid() { return this.server === "lid"; }
      isGroup() { return this.server === "g.us"; }
      isGroupCall() { return this.server === "call"; }
      isNewsletter() { return this.server === "newsletter"; }
      isBot() { return this.server === "bot"; }
      isBroadcast() { return this.server === "broadcast" && this.user !== "status"; }
      isStatus() { return this.server === "broadcast" && this.user === "status"; }
      isStatusV3() { return this.isStatus(); }
      isPSA() { return this._serialized === "0@c.us"; }
      isServer() { return this.server === "s.whatsapp.net" && !this.user; }
      isCompanion() { return !!this.device && this.device !== "0"; }
      isUserNotPSA() { return this.isUser() && !this.isPSA(); }
      isOfficialBizAccount() { return false; }
      getDeviceId() { return Number(this.device || 0); }
      getSignalAddress() { return `${this.user}.${this.getDeviceId()}`; }
      isSameAccount(other) { return other && other.user === this.user && other.server === this.server; }
      isGreaterThan(other) { return this._serialized > String(other); }
      isLessThan(other) { return this._serialized < String(other); }
      canBeWid(value) { return Wid.isWid(value); }

      static isWid(value) { return /^[^@:]*(?::\d+)?@[a-z.]+$/.test(String(value && (value._serialized || value))); }
      static isXWid(server, value) { return Wid.isWid(value) && String(value._serialized || value).endsWith(`@${server}`); }
      static isUser(value) { return USER_SERVERS.some((s) => Wid.isXWid(s, value)); }
      static isLid(value) { return Wid.isXWid("lid", value); }
      static isGroup(value) { return Wid.isXWid("g.us", value); }
      static isBroadcast(value) { return Wid.isXWid("broadcast", value) && !Wid.isStatus(value); }
      static isStatus(value) { return String(value && (value._serialized || value)) === "status@broadcast"; }
      static isStatusV3(value) { return Wid.isStatus(value); }
      static isPSA(value) { return String(value && (value._serialized || value)) === "0@c.us"; }
      static isServer() { return false; }
      static isGroupCall(value) { return Wid.isXWid("call", value); }
      static isOfficialBizAccount() { return false; }
      static equals(a, b) { return String(a && (a._serialized || a)) === String(b && (b._serialized || b)); }
      static isGreaterThan(a, b) { return String(a) > String(b); }
      static isLessThan(a, b) { return String(a) < String(b); }
      static user(value) { return String(value).split("@")[0]; }
    }
    exports.default = Wid;
  });

  // wa-js src/whatsapp/misc/WidFactory.ts: found by `m.createWid`; wa-js's own createWid
  // (src/util/createWid.ts) goes through `isWidlike` / `createWidFromWidLike` /
  // `createUserWidOrThrow`, so an id that is not a valid wid is refused here.
  d("WAWebWidFactory", ["WAWebWid"], (g, require, rd, rl, module, exports) => {
    const Wid = require("WAWebWid").default;
    const make = (id) => new Wid(id, { intentionallyUsePrivateConstructor: true });

    exports.createWid = (id) => {
      if (id instanceof Wid) return id;
      if (typeof id !== "string" || !Wid.isWid(id)) throw new Error(`createWid: invalid wid ${id}`);
      return make(id);
    };
    exports.createUserWidOrThrow = (user, server = "c.us") => {
      const bare = String(user).split("@")[0];
      if (!/^\d+(-\d+)?$/.test(bare) && server !== "broadcast") {
        throw new Error(`createUserWidOrThrow: invalid user ${user}`);
      }
      return make(`${bare}@${server}`);
    };
    exports.createUserWid = (user, server) => {
      try { return exports.createUserWidOrThrow(user, server); } catch (e) { return undefined; }
    };
    exports.isWidlike = (value) => value != null && typeof value === "object"
      && typeof value.user === "string" && typeof value.server === "string";
    exports.createWidFromWidLike = (value) => make(
      `${value.user}${value.device ? `:${value.device}` : ""}@${value.server}`);
    exports.createDeviceWid = (id) => make(id);
    exports.toUserWidOrThrow = (wid) => make(`${wid.user}@${wid.server}`);
    exports.toUserWid = exports.toUserWidOrThrow;
    exports.toChatWid = exports.toUserWidOrThrow;
    exports.userJidToUserWid = (jid) => make(String(jid).replace("@s.whatsapp.net", "@c.us"));
  });

  // wa-js src/whatsapp/misc/MsgKey.ts: found by the text of the constructor's first error.
  // `fromString` parses "<fromMe>_<remote>_<id>[_<participant>]" and a key is built from
  // {fromMe, remote, id} or {from, to, id, selfDir}; src/chat/functions/prepareRawMessage.ts
  // then refuses a key that is not fromMe or whose remote is not the chat.
  d("WAWebMsgKey", ["WAWebWid", "WAWebWidFactory"], (g, require, rd, rl, module, exports) => {
    const Wid = require("WAWebWid").default;
    const { createWid } = require("WAWebWidFactory");

    class MsgKey {
      constructor(obj) {
        if (obj == null) throw new Error("MsgKey error: obj is null/undefined");
        let fromMe = obj.fromMe;
        let remote = obj.remote;
        if (obj.selfDir !== undefined) {
          fromMe = obj.selfDir === "out";
          remote = fromMe ? obj.to : obj.from;
        }
        if (typeof fromMe !== "boolean") throw new Error("MsgKey error: fromMe is not a boolean");
        if (!(remote instanceof Wid)) throw new Error("MsgKey error: remote is not a wid");
        if (typeof obj.id !== "string" || !obj.id) throw new Error("MsgKey error: id is not a string");
        this.fromMe = fromMe;
        this.remote = remote;
        this.id = obj.id;
        this.participant = obj.participant || undefined;
        this._serialized = [String(fromMe), remote.toString(), obj.id,
          ...(this.participant ? [this.participant.toString()] : [])].join("_");
      }

      toString() { return this._serialized; }
      clone() { return new MsgKey(this); }
      equals(other) { return other instanceof MsgKey && other._serialized === this._serialized; }

      static fromString(serialized) {
        const [fromMe, remote, id, participant] = String(serialized).split("_");
        return new MsgKey({
          fromMe: fromMe === "true",
          remote: createWid(remote),
          id,
          participant: participant ? createWid(participant) : undefined,
        });
      }

      // wa-js src/whatsapp/functions/randomId.ts reads this as randomMessageId.
      static newId() {
        const bytes = crypto.getRandomValues(new Uint8Array(10));
        return `3EB0${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase()}`;
      }
    }
    exports.default = MsgKey;
  });

  // wa-js src/whatsapp/misc/Base64.ts: found by `encodeB64 && decodeB64`; used by
  // src/conn/functions/getAuthCode.ts to spell the keys in the QR code.
  d("WAWebBase64", [], (g, r, rd, rl, module, exports) => {
    exports.encodeB64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
    exports.decodeB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
  });
})();
