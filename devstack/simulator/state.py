"""The simulated WhatsApp: devices (browser logins), linking codes, phones, chats, acks.

Pure state with an injected clock: WhatsApp's servers and the phones. ``server.py`` puts HTTP
in front of it; the page (``static/whatsapp/``) is WhatsApp Web's client, a module layer the
real @wppconnect/wa-js runs on. It is as demanding as the real site where the worker can get
it wrong: a device is its browser's non-extractable key (copying cookies or local storage does
not carry a login), a QR code is the server's ref plus that browser's own keys, codes rotate
and expire, history synced at link time arrives as old messages, a message key is its chat,
direction and id together, replies count once WhatsApp acknowledges them, notification and
system messages arrive like any other, and the stream can stall silently.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# wa-js ACK values (whatsapp/enums/ACK.d.ts)
ACK_CLOCK, ACK_SENT, ACK_RECEIVED, ACK_READ = 0, 1, 2, 3
# LogoutReason values (whatsapp/enums/LogoutReason.d.ts) the control API can name
LOGOUT_REASONS = (
    "user_initiated",
    "account_locked",
    "client_version_outdated",
    "unknown_companion",
)


@dataclass(frozen=True)
class QrTiming:
    """How the real site rotates codes: the first QR for 60 s, then every 20 s, six in all;
    a pairing code for 3.25 min each (wa-js's LINK_CODE_TTL_MS, linkDeviceCodeLifecycle.ts)."""

    first_ms: int = 60_000
    next_ms: int = 20_000
    count: int = 6
    pairing_ms: int = 195_000


@dataclass
class Rotation:
    """The codes one page shows, one after another (QR refs or pairing codes). The real site
    hands the page its refs in one batch and the page shows each for its time, the first
    longer: a page whose timer fires late shows the next code late, it never skips one."""

    shown_ms: int  # when the current code appeared
    codes: list[str]
    phone: str | None = None  # pairing codes are for one phone number
    index: int = 0  # the code on screen; len(codes) once the rotation ran out

    def expires_ms(self, timing: QrTiming) -> int:
        """When the code on screen stops being valid."""
        if self.phone is not None:
            return self.shown_ms + timing.pairing_ms
        return self.shown_ms + (timing.first_ms if self.index == 0 else timing.next_ms)

    def current(self, now_ms: int, timing: QrTiming) -> int | None:
        """The code a phone may link with at ``now_ms`` (None: expired or ran out)."""
        if self.index >= len(self.codes) or now_ms >= self.expires_ms(timing):
            return None
        return self.index

    def advance(self, now_ms: int, timing: QrTiming) -> int | None:
        """The page asks what to show: the code on screen, or once it expired the next one,
        from now (None once the last one expired)."""
        if self.index < len(self.codes) and now_ms >= self.expires_ms(timing):
            self.index += 1
            self.shown_ms = now_ms
        return self.index if self.index < len(self.codes) else None


# Message types (wa-js MSG_TYPE) that carry what a person wrote: the text, or a caption.
MEDIA_TYPES = ("image", "video", "document", "audio", "ptt", "sticker")
# Types the real site delivers as new messages although nobody wrote them (whatsapp-web.js
# users meet these as "new messages": security-code changes, group events, revokes, ...).
SYSTEM_TYPES = (
    "e2e_notification",
    "notification_template",
    "gp2",
    "protocol",
    "revoked",
    "call_log",
    "ciphertext",
)


@dataclass
class Message:
    """One message in a chat, as the phone's account holds it."""

    id: str
    chat: str  # chat id: "<digits>@c.us", "<digits>@lid", "<id>@g.us", "status@broadcast"
    from_me: bool
    text: str  # the text, or a media message's caption
    at_ms: int
    ack: int = ACK_SENT
    kind: str = "chat"  # wa-js MSG_TYPE
    author: str | None = None  # who wrote it, in a group
    by_phone: bool = False  # written on the phone itself (a fromMe the page did not send)
    filename: str | None = None
    mimetype: str | None = None
    size: int | None = None
    filehash: str | None = None  # a file the page sent: its SHA-256 (base64), as uploaded


@dataclass
class Device:
    """A browser login: the hash of its key's public half names it."""

    id: str
    public_key: bytes
    link_keys: str = ""  # what the page's QR code adds to the server's ref (noise, identity, adv)
    phone: str | None = None
    qr: Rotation | None = None
    pairing: Rotation | None = None
    logout_reason: str | None = None
    conflict: bool = False
    stalled: bool = False
    needs_update: bool = False
    closed: bool = False  # every page of it has gone (its event stream ended)
    session: str | None = None  # the newest page session: older ones get no traffic
    delivered: set[str] = field(default_factory=set)  # message ids this page has been given


@dataclass
class Phone:
    """A WhatsApp account: its chats, which device is linked, whether its socket is online."""

    number: str
    device_id: str | None = None
    online: bool = True
    holding_acks: bool = False  # the server takes sends but does not acknowledge them yet
    chats: dict[str, list[Message]] = field(default_factory=dict)
    lids: dict[str, str] = field(default_factory=dict)  # chat id @lid -> phone number
    # What the linked page did besides sending: read receipts and "typing…" (time, what, chat).
    activity: list[tuple[int, str, str]] = field(default_factory=list)


class LinkError(Exception):
    """A request the simulated WhatsApp refuses (HTTP status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _qr_ref() -> str:
    """The server's part of a QR code (WhatsApp Web's ``Conn.ref``)."""
    return "2@" + base64.b64encode(secrets.token_bytes(66)).decode()


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ123456789"  # no 0/O, no I/U: as typed on a phone


def _pairing_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def digits(number: str) -> str:
    """A phone number as WhatsApp ids spell it: digits only."""
    return "".join(ch for ch in number if ch.isdigit())


def chat_id(sender: str, *, lid: bool = False) -> str:
    """The chat id for a sender: ``<digits>@c.us``, or an opaque ``@lid`` when migrated."""
    if "@" in sender:
        return sender
    if lid:
        return lid_of(sender)
    return digits(sender) + "@c.us"


def lid_of(number: str) -> str:
    """The opaque LID WhatsApp gives a number (stable, as the real one is)."""
    return str(int(hashlib.sha256(digits(number).encode()).hexdigest()[:14], 16)) + "@lid"


class Simulator:
    """All simulated state, guarded by one lock; listeners get page events per device."""

    def __init__(self, clock: Callable[[], int], timing: QrTiming | None = None) -> None:
        self.clock = clock
        self.timing = timing or QrTiming()
        self.devices: dict[str, Device] = {}
        self.phones: dict[str, Phone] = {}
        self.lock = threading.RLock()
        self.served_ms: dict[str, int] = {}  # code -> when a page first got it
        self.valid: dict[str, tuple[int, int]] = {}  # code -> when a phone accepts it [from, to)
        self.page_loads = 0  # how often the site's page itself was served
        self.update_checks = 0  # the site's "am I out of date?" requests
        self.service_worker_fetches = 0  # its service worker's script, fetched to install it
        self.site_changed = False  # pages served from now on hide the module runtime
        self.group_queries = 0  # group metadata the pages asked the server for
        self._nonces: set[str] = set()
        self._tokens: dict[str, str] = {}  # page session token -> device id
        self._listeners: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    # --- persistence (make dev keeps linked devices and chats across restarts) ----------

    def snapshot(self) -> dict[str, Any]:
        """Devices and phones as JSON; codes on screen and page sessions are not kept."""
        with self.lock:
            devices = [
                {
                    "id": d.id,
                    "public_key": base64.b64encode(d.public_key).decode(),
                    "link_keys": d.link_keys,
                    "phone": d.phone,
                    "logout_reason": d.logout_reason,
                    "delivered": sorted(d.delivered),
                }
                for d in self.devices.values()
            ]
            phones = [
                {
                    "number": p.number,
                    "device_id": p.device_id,
                    "chats": {
                        chat: [asdict(m) for m in messages] for chat, messages in p.chats.items()
                    },
                    "lids": dict(p.lids),
                    "activity": [list(a) for a in p.activity],
                }
                for p in self.phones.values()
            ]
            return {"devices": devices, "phones": phones}

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back what ``snapshot`` returned (before any page connects)."""
        with self.lock:
            for d in saved.get("devices", []):
                self.devices[d["id"]] = Device(
                    d["id"],
                    base64.b64decode(d["public_key"]),
                    link_keys=d.get("link_keys", ""),
                    phone=d.get("phone"),
                    logout_reason=d.get("logout_reason"),
                    delivered=set(d.get("delivered", [])),
                )
            for p in saved.get("phones", []):
                self.phones[p["number"]] = Phone(
                    p["number"],
                    device_id=p.get("device_id"),
                    chats={
                        chat: [Message(**m) for m in messages]
                        for chat, messages in p.get("chats", {}).items()
                    },
                    activity=[tuple(a) for a in p.get("activity", [])],
                    lids=dict(p.get("lids", {})),
                )

    # --- login: the page proves it holds its device key -------------------------------

    def hello(self) -> dict[str, str]:
        """A nonce for the page to sign with its device key."""
        nonce = secrets.token_urlsafe(24)
        with self.lock:
            self._nonces.add(nonce)
        return {"nonce": nonce}

    def open_session(
        self, public_key_b64: str, nonce: str, signature_b64: str, link_keys: str = ""
    ) -> dict[str, Any]:
        """Verify the page's signature over ``nonce``; returns a session token and the device.
        ``link_keys`` are the keys the page spells into its QR code after the server's ref."""
        with self.lock:
            if nonce not in self._nonces:
                raise LinkError(401, "unknown or used nonce")
            self._nonces.discard(nonce)
        spki = base64.b64decode(public_key_b64)
        raw = base64.b64decode(signature_b64)
        try:
            key = serialization.load_der_public_key(spki)
            if not isinstance(key, ec.EllipticCurvePublicKey) or len(raw) != 64:
                raise ValueError("not a P-256 key and signature")
            der = encode_dss_signature(
                int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
            )
            key.verify(der, nonce.encode(), ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as exc:
            raise LinkError(401, f"device key check failed: {exc}") from None
        device_id = hashlib.sha256(spki).hexdigest()[:32]
        token = secrets.token_urlsafe(24)
        with self.lock:
            device = self.devices.setdefault(device_id, Device(device_id, spki))
            device.link_keys = link_keys or device.link_keys
            device.session = token  # like the real server: the newest connection wins
            self._tokens[token] = device_id
        return {"token": token, "device": device_id}

    def device_of(self, token: str) -> Device:
        """The device a page session belongs to."""
        with self.lock:
            device_id = self._tokens.get(token)
            if device_id is None:
                raise LinkError(401, "no such page session")
            return self.devices[device_id]

    # --- page side ----------------------------------------------------------------------

    def boot(self, token: str) -> dict[str, Any]:
        """What the page finds when it loads: a fresh socket (a stall ends with a reload)."""
        with self.lock:
            device = self.device_of(token)
            device.stalled = False
            if device.phone is None:
                return {
                    "linked": False,
                    "logoutReason": device.logout_reason,
                    "needsUpdate": device.needs_update,
                }
            phone = self.phones[device.phone]
            # Whatever arrived while no page was open is new to this page: it comes next.
            return {
                "linked": True,
                "stream": "CONFLICT" if device.conflict else "MAIN",
                "me": digits(phone.number) + "@c.us",
                "lid": lid_of(phone.number),
                "online": phone.online,
                "needsUpdate": device.needs_update,
            }

    def pending_for(self, token: str) -> list[dict[str, Any]]:
        """Messages (and our sends' acks) the page has not been given yet; marks them given."""
        with self.lock:
            device = self.device_of(token)
            if device.phone is None or device.stalled or device.session != token:
                return []
            phone = self.phones[device.phone]
            if not phone.online or device.conflict:
                return []
            out = []
            for messages in phone.chats.values():
                for m in messages:
                    if m.id not in device.delivered and (not m.from_me or m.by_phone):
                        device.delivered.add(m.id)
                        out.append(self._wire(m, phone))
            return sorted(out, key=lambda m: m["atMs"])

    def current_qr(self, token: str) -> dict[str, Any]:
        """The QR code the page shows now, or ``idle`` once the rotation ran out."""
        with self.lock:
            device = self.device_of(token)
            if device.phone is not None:
                return {"linked": True}
            now = self.clock()
            if device.qr is None:
                device.qr = Rotation(now, [_qr_ref() for _ in range(self.timing.count)])
            return self._code_view(device.qr, now, device)

    def refresh_qr(self, token: str) -> dict[str, Any]:
        """``WPP.conn.refreshQR``: a fresh rotation; a pairing flow the page had ends (it
        shows the QR again)."""
        with self.lock:
            device = self.device_of(token)
            device.qr = device.pairing = None
            device.logout_reason = None
        return self.current_qr(token)

    def request_pairing_code(self, token: str, phone: str) -> dict[str, Any]:
        """``WPP.conn.startLinkDeviceCodeForPhoneNumber``: codes for one number, rotating."""
        if not digits(phone):
            raise LinkError(400, "a phone number is needed")
        with self.lock:
            device = self.device_of(token)
            now = self.clock()
            rotation = device.pairing
            if (
                rotation is None
                or rotation.phone != digits(phone)
                or rotation.advance(now, self.timing) is None
            ):
                device.pairing = Rotation(
                    now, [_pairing_code() for _ in range(self.timing.count)], digits(phone)
                )
            return self._code_view(device.pairing, now, device)

    def current_pairing_code(self, token: str) -> dict[str, Any]:
        """The pairing code valid now (``idle`` once its rotation ran out)."""
        with self.lock:
            device = self.device_of(token)
            if device.pairing is None:
                return {"idle": True}
            return self._code_view(device.pairing, self.clock(), device)

    def _code_view(self, rotation: Rotation, now: int, device: Device) -> dict[str, Any]:
        index = rotation.advance(now, self.timing)
        if index is None:
            return {"idle": True}
        raw = rotation.codes[index]
        # A QR code is the server's ref followed by the page's own keys; a pairing code is
        # what the phone types.
        code = raw if rotation.phone else f"{raw},{device.link_keys}"
        self.served_ms.setdefault(code, now)
        expires = rotation.expires_ms(self.timing)
        self.valid[code] = (rotation.shown_ms, expires)
        return {
            "code": code,
            **({} if rotation.phone else {"ref": raw}),
            "now": now,
            "attempt": index + 1,
            "attemptsMax": len(rotation.codes),
            "madeAt": rotation.shown_ms,
            "expiresAt": expires,
            "refreshInMs": max(expires - now, 20),
        }

    def list_chats(self, token: str) -> list[dict[str, Any]]:
        """The history sync: the account's chats, newest first, each with its newest message."""
        with self.lock:
            phone = self._linked_phone(token)
            rows = [
                {
                    "id": chat,
                    "t": messages[-1].at_ms // 1000,
                    "unread": 0,
                    "last": self._wire(messages[-1], phone),
                }
                for chat, messages in phone.chats.items()
                if messages
            ]
        return sorted(rows, key=lambda r: -int(r["last"]["atMs"]))

    def get_messages(
        self,
        token: str,
        chat: str,
        anchor: str,
        from_me: bool,
        count: int,
        direction: str = "before",
    ) -> list[dict[str, Any]]:
        """A chat's messages before (or after) the one with key ``(chat, from_me, anchor)``,
        ``count`` of them (-1: all), oldest first (wa-js ``msgFindByDirection``)."""
        with self.lock:
            device = self.device_of(token)
            phone = self._linked_phone(token)
            messages = phone.chats.get(chat, [])
            at = next(
                (i for i, m in enumerate(messages) if m.id == anchor and m.from_me == from_me),
                None,
            )
            if at is None:
                return []
            if direction == "after":
                chosen = messages[at + 1 :] if count < 0 else messages[at + 1 : at + 1 + count]
            else:
                chosen = messages[:at] if count < 0 else messages[max(at - count, 0) : at]
            for m in chosen:
                device.delivered.add(m.id)
            return [self._wire(m, phone) for m in chosen]

    def get_message(
        self, token: str, chat: str, message_id: str, from_me: bool
    ) -> dict[str, Any] | None:
        """The message with key ``(chat, from_me, message_id)``: all three must match, as a
        WhatsApp message key does."""
        with self.lock:
            phone = self._linked_phone(token)
            for m in phone.chats.get(chat, []):
                if m.id == message_id and m.from_me == from_me:
                    return self._wire(m, phone)
        return None

    def send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        """The page sent a message (``addAndSendMsgToChat``): the server takes it (ack SENT)
        unless the socket is down, in which case it waits with ack CLOCK. Its key is the
        page's: the same chat and id twice is one message."""
        kind = body.get("type") or "chat"
        text = body.get("body") if kind == "chat" else body.get("caption")
        message_id, chat = body.get("id"), body.get("chat")
        if body.get("fromMe") is not True:
            raise LinkError(400, "a message the page sends is fromMe")
        if not isinstance(message_id, str) or not message_id or not isinstance(chat, str):
            raise LinkError(400, "a message needs its chat and id")
        if kind == "chat" and (not isinstance(text, str) or not text.strip()):
            raise LinkError(400, "empty message")
        if kind != "chat" and kind not in MEDIA_TYPES:
            raise LinkError(400, f"cannot send a message of type {kind}")
        with self.lock:
            device = self.device_of(token)
            phone = self._linked_phone(token)
            if device.conflict or device.session != token:
                raise LinkError(409, "session open elsewhere")
            for m in phone.chats.get(chat, []):
                if m.id == message_id and m.from_me:
                    return self._wire(m, phone)
            up = phone.online and not device.stalled and not phone.holding_acks
            size = body.get("size")
            message = Message(
                message_id,
                chat,
                True,
                text if isinstance(text, str) else "",
                self.clock(),
                ack=ACK_SENT if up else ACK_CLOCK,
                kind=kind,
                filename=body.get("filename"),
                mimetype=body.get("mimetype"),
                size=size if isinstance(size, int) else None,
                filehash=body.get("filehash") if isinstance(body.get("filehash"), str) else None,
            )
            phone.chats.setdefault(chat, []).append(message)
            device.delivered.add(message.id)
            wire = self._wire(message, phone)
            # To another simulated phone (a canary's peer): WhatsApp delivers it there.
            peer = self.phones.get("+" + chat.split("@")[0]) if chat.endswith("@c.us") else None
        if up and peer is not None and peer is not phone and message.text:
            self.inbound(peer.number, phone.number, message.text, message.id, kind=kind)
        return wire

    def group_metadata(self, token: str, group: str) -> dict[str, Any]:
        """A group's metadata, one server query each (counted: ``group_queries``)."""
        if not group.endswith("@g.us"):
            raise LinkError(400, "not a group id")
        with self.lock:
            self._linked_phone(token)
            self.group_queries += 1
        return {"subject": f"Group {group.split('@')[0][-4:]}", "groupType": "DEFAULT"}

    def page_activity(self, token: str, kind: str, chat: str) -> None:
        """The page marked ``chat`` read (``seen``) or shows "typing…" (``composing``,
        ``paused``): the phone's contact would see it."""
        if kind not in ("seen", "composing", "paused", "recording"):
            raise LinkError(400, f"unknown activity {kind}")
        with self.lock:
            phone = self._linked_phone(token)
            phone.activity.append((self.clock(), kind, chat))

    def take_over(self, token: str) -> None:
        """``WPP.whatsapp.Socket.takeover``: this page takes the session back."""
        with self.lock:
            device = self.device_of(token)
            device.conflict = False
        self.emit(device.id, {"type": "stream", "mode": "MAIN"})
        self._flush(device)

    def page_logout(self, token: str) -> None:
        """``WPP.conn.logout``: the page unlinks itself."""
        with self.lock:
            device = self.device_of(token)
            number = device.phone
        if number is not None:
            self.logout(number, "user_initiated")

    # --- phone / fault-injection side ---------------------------------------------------

    def link(self, payload: str, number: str) -> dict[str, Any]:
        """The phone scanned QR ``payload``: link that device to ``number``."""
        ref, _, keys = payload.partition(",")
        with self.lock:
            now = self.clock()
            for device in self.devices.values():
                if device.qr is None or ref not in device.qr.codes:
                    continue
                index = device.qr.current(now, self.timing)
                if index is None or device.qr.codes[index] != ref:
                    raise LinkError(410, "this QR code has expired")
                if keys != device.link_keys:
                    raise LinkError(400, "this QR code's keys are not the page's")
                return self._link(device, number)
        raise LinkError(404, "no page is showing this QR code")

    def link_with_code(self, code: str, number: str) -> dict[str, Any]:
        """The phone typed pairing ``code`` (for ``number``, who asked for it)."""
        wanted = code.replace("-", "").strip().upper()
        with self.lock:
            now = self.clock()
            for device in self.devices.values():
                rotation = device.pairing
                if rotation is None or wanted not in rotation.codes:
                    continue
                if rotation.phone != digits(number):
                    raise LinkError(403, "this code was made for another phone number")
                index = rotation.current(now, self.timing)
                if index is None or rotation.codes[index] != wanted:
                    raise LinkError(410, "this code has expired")
                return self._link(device, number)
        raise LinkError(404, "no page is showing this code")

    def _link(self, device: Device, number: str) -> dict[str, Any]:
        phone = self.phones.setdefault(number, Phone(number))
        if phone.device_id and phone.device_id != device.id:
            old = self.devices.get(phone.device_id)
            if old is not None:
                old.phone = None
                old.logout_reason = "unknown_companion"
                self.emit(old.id, {"type": "logout", "reason": "unknown_companion"})
        phone.device_id = device.id
        device.phone = number
        device.qr = device.pairing = None
        device.logout_reason = None
        # History sync: what the account already had is old to this page, never new.
        device.delivered = {m.id for msgs in phone.chats.values() for m in msgs}
        self.emit(
            device.id,
            {"type": "linked", "me": digits(number) + "@c.us", "lid": lid_of(number)},
        )
        return {"device": device.id, "phone": number}

    def inbound(
        self,
        number: str,
        sender: str,
        text: str,
        message_id: str | None,
        *,
        lid: bool = False,
        kind: str = "chat",
        author: str | None = None,
    ) -> dict[str, Any]:
        """Someone sends ``text`` to ``number``; the same id again is a re-delivery.
        ``kind`` is the message type (a media message's ``text`` is its caption); ``sender``
        may be a group or broadcast id, then ``author`` is who wrote it."""
        if kind not in ("chat", *MEDIA_TYPES, *SYSTEM_TYPES):
            raise LinkError(400, f"unknown message type {kind}")
        with self.lock:
            phone = self._phone(number)
            chat = chat_id(sender, lid=lid)
            if chat.endswith("@lid") and "@" not in sender:
                phone.lids[chat] = sender
            messages = phone.chats.setdefault(chat, [])
            existing = next((m for m in messages if message_id and m.id == message_id), None)
            message = existing or Message(
                message_id or "3A" + secrets.token_hex(9).upper(),
                chat,
                False,
                text,
                self.clock(),
                kind=kind,
                author=chat_id(author) if author else None,
            )
            if existing is None:
                messages.append(message)
            device = self.devices.get(phone.device_id or "")
            if device is not None:
                device.delivered.discard(message.id)  # a re-delivery reaches the page again
        if device is not None:
            self._flush(device)
        return {"id": message.id, "chat": chat}

    def outbound(self, number: str, to: str, text: str) -> dict[str, Any]:
        """The owner writes to ``to`` on the phone itself: the linked page gets it as a new
        message of its own (``fromMe``) that it did not send."""
        if not text.strip():
            raise LinkError(400, "empty message")
        with self.lock:
            phone = self._phone(number)
            chat = chat_id(to)
            message = Message(
                "3EB0" + secrets.token_hex(9).upper(), chat, True, text, self.clock(), by_phone=True
            )
            phone.chats.setdefault(chat, []).append(message)
            device = self.devices.get(phone.device_id or "")
        if device is not None:
            self._flush(device)
        return {"id": message.id, "chat": chat}

    def activity(self, number: str) -> list[dict[str, Any]]:
        """What the linked page did besides sending (read receipts, typing), oldest first."""
        with self.lock:
            phone = self._phone(number)
            return [{"at": at, "kind": kind, "chat": chat} for at, kind, chat in phone.activity]

    def history(self, number: str, sender: str, text: str) -> dict[str, Any]:
        """A message the account had before this page was linked (arrives by history sync)."""
        with self.lock:
            phone = self.phones.setdefault(number, Phone(number))
            chat = chat_id(sender)
            message = Message("3A" + secrets.token_hex(9).upper(), chat, False, text, self.clock())
            phone.chats.setdefault(chat, []).append(message)
            device = self.devices.get(phone.device_id or "")
            if device is not None:
                device.delivered.add(message.id)
        return {"id": message.id, "chat": chat}

    def ack(self, number: str, message_id: str, ack: int) -> None:
        """The recipient's phone acknowledged our message (2 delivered, 3 read)."""
        with self.lock:
            phone = self._phone(number)
            message = next(
                (m for msgs in phone.chats.values() for m in msgs if m.id == message_id), None
            )
            if message is None or not message.from_me:
                raise LinkError(404, "no such sent message")
            message.ack = max(message.ack, ack)
        if phone.device_id:
            self.emit(phone.device_id, self._ack_event(message))

    def set_online(self, number: str, online: bool) -> None:
        """The page's connection drops (stream OFFLINE) or comes back."""
        with self.lock:
            phone = self._phone(number)
            phone.online = online
            device = self.devices.get(phone.device_id or "")
        if device is not None:
            self.emit(device.id, {"type": "online", "online": online})
            self.emit(device.id, {"type": "stream", "mode": "MAIN" if online else "OFFLINE"})
            if online:
                self._flush(device)

    def hold_acks(self, number: str, hold: bool) -> None:
        """The server stops (or resumes) acknowledging this phone's sends: they wait in the
        page with ack CLOCK, and count as sent only once acknowledged."""
        with self.lock:
            phone = self._phone(number)
            phone.holding_acks = hold
            device = self.devices.get(phone.device_id or "")
        if not hold and device is not None:
            self._flush(device)

    def stall(self, number: str) -> None:
        """The socket dies without a word: no event, no traffic; only a probe can tell."""
        with self.lock:
            device = self._linked_device(number)
            device.stalled = True
        self.emit(device.id, {"type": "stall"})

    def logout(self, number: str, reason: str = "user_initiated") -> None:
        """Log the linked device out (the phone's "linked devices" screen), with a reason."""
        if reason not in LOGOUT_REASONS:
            raise LinkError(400, f"reason must be one of {', '.join(LOGOUT_REASONS)}")
        with self.lock:
            phone = self._phone(number)
            device = self.devices.get(phone.device_id or "")
            phone.device_id = None
            if device is not None:
                device.phone = None
                device.logout_reason = reason
        if device is not None:
            self.emit(device.id, {"type": "logout", "reason": reason})

    def conflict(self, number: str) -> None:
        """WhatsApp Web was opened elsewhere: the stream goes to CONFLICT."""
        with self.lock:
            device = self._linked_device(number)
            device.conflict = True
        self.emit(device.id, {"type": "stream", "mode": "CONFLICT"})

    def needs_update(self, number: str) -> None:
        """WhatsApp asks this page to update itself."""
        with self.lock:
            device = self._linked_device(number)
            device.needs_update = True
        self.emit(device.id, {"type": "needs_update"})

    def crash(self, number: str) -> None:
        """Make the linked page hang (its script spins), as a crashed tab would."""
        with self.lock:
            device = self._linked_device(number)
        self.emit(device.id, {"type": "crash"})

    def sent(self, number: str) -> list[dict[str, Any]]:
        """Everything the linked device sent that reached the server, oldest first."""
        with self.lock:
            phone = self._phone(number)
            out = [
                {
                    "id": m.id,
                    "to": "+" + (phone.lids.get(m.chat, "").lstrip("+") or m.chat.split("@")[0]),
                    "chat": m.chat,
                    "text": m.text,
                    "type": m.kind,
                    "filename": m.filename,
                    "mimetype": m.mimetype,
                    "size": m.size,
                    "sha256": m.filehash,
                    "at": m.at_ms,
                    "ack": m.ack,
                }
                for messages in phone.chats.values()
                for m in messages
                if m.from_me and not m.by_phone and m.ack >= ACK_SENT
            ]
        return sorted(out, key=lambda m: m["at"])

    def showing(self) -> list[dict[str, Any]]:
        """Devices that show a code right now (QR or pairing), with the code valid now; a
        closed page shows nothing."""
        with self.lock:
            now = self.clock()
            rows = []
            for device in self.devices.values():
                if device.phone is not None or device.closed:
                    continue
                for kind, rotation in (("qr", device.qr), ("pairing", device.pairing)):
                    if rotation is None:
                        continue
                    view = self._code_view(rotation, now, device)
                    if "code" in view:
                        rows.append(
                            {"device": device.id, "kind": kind, "payload": view["code"], **view}
                        )
            return rows

    # --- events -------------------------------------------------------------------------

    def subscribe(self, device_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Receive page events for ``device_id``."""
        with self.lock:
            self._listeners.setdefault(device_id, []).append(listener)
            if device_id in self.devices:
                self.devices[device_id].closed = False

    def unsubscribe(self, device_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Stop receiving page events."""
        with self.lock:
            listeners = self._listeners.get(device_id, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners and device_id in self.devices:
                self.devices[device_id].closed = True

    def emit(self, device_id: str, event: dict[str, Any]) -> None:
        """Push an event to every open page of ``device_id``."""
        with self.lock:
            listeners = list(self._listeners.get(device_id, []))
        for listener in listeners:
            listener(event)

    def _flush(self, device: Device) -> None:
        """Tell the page that traffic is waiting (messages, acks of sends that queued)."""
        with self.lock:
            phone = self.phones.get(device.phone or "")
            if phone is None or not phone.online or device.stalled or device.conflict:
                return
            if phone.holding_acks:
                self.emit(device.id, {"type": "traffic"})
                return
            acked = []
            for messages in phone.chats.values():
                for m in messages:
                    if m.from_me and m.ack == ACK_CLOCK:
                        m.ack = ACK_SENT
                        acked.append(m)
        for m in acked:
            self.emit(device.id, self._ack_event(m))
        self.emit(device.id, {"type": "traffic"})

    @staticmethod
    def _ack_event(m: Message) -> dict[str, Any]:
        return {"type": "ack", "ack": m.ack, "chat": m.chat, "ids": [m.id]}

    @staticmethod
    def _wire(m: Message, phone: Phone) -> dict[str, Any]:
        """A message as the page's socket receives it (the page decides what is new)."""
        media = m.kind in MEDIA_TYPES
        number = phone.lids.get(m.chat)
        return {
            "id": m.id,
            "chat": m.chat,
            "fromMe": m.from_me,
            "type": m.kind,
            "body": None if media else m.text,
            "caption": m.text if media else None,
            "author": m.author,
            "filename": m.filename,
            "mimetype": m.mimetype,
            "t": m.at_ms // 1000,
            "atMs": m.at_ms,
            "ack": m.ack,
            # WhatsApp tells the phone number behind a LID with the message (lidPnCache).
            "pn": digits(number) if number else None,
        }

    def linked_numbers(self) -> list[str]:
        """The business numbers whose phone linked a device (the test chat's choice)."""
        with self.lock:
            return sorted(p.number for p in self.phones.values() if p.device_id)

    def conversation(self, number: str, other: str) -> list[dict[str, Any]]:
        """What ``other`` and ``number`` wrote each other, oldest first, as the customer's
        phone shows it (a file by its name)."""
        with self.lock:
            phone = self._phone(number)
            chat = chat_id(other)
            return [
                {
                    "fromBusiness": m.from_me,
                    "text": m.text,
                    "type": m.kind,
                    "filename": m.filename,
                    "at": m.at_ms,
                    "ack": m.ack,
                }
                for m in phone.chats.get(chat, [])
            ]

    def _phone(self, number: str) -> Phone:
        phone = self.phones.get(number) or self.phones.get("+" + digits(number))
        if phone is None:
            raise LinkError(404, f"no phone {number} has linked a device")
        return phone

    def _linked_device(self, number: str) -> Device:
        phone = self._phone(number)
        device = self.devices.get(phone.device_id or "")
        if device is None:
            raise LinkError(409, "no linked device")
        return device

    def _linked_phone(self, token: str) -> Phone:
        device = self.device_of(token)
        if device.phone is None:
            raise LinkError(401, "this device is not linked")
        return self.phones[device.phone]
