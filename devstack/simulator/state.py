"""The simulated WhatsApp: devices (browser profiles), QR rotation, linked phones, chats.

Pure state with an injected clock; ``server.py`` puts HTTP in front of it.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QrTiming:
    """How the real site rotates codes: the first for 60 s, then every 20 s, six in all."""

    first_ms: int = 60_000
    next_ms: int = 20_000
    count: int = 6


@dataclass
class QrSession:
    """The codes one page shows, in order, from ``started_ms``."""

    started_ms: int
    payloads: list[str]

    def index_at(self, now_ms: int, timing: QrTiming) -> int | None:
        """Which code is on screen at ``now_ms``; None once the rotation has run out."""
        elapsed = now_ms - self.started_ms
        index = (
            0 if elapsed < timing.first_ms else 1 + (elapsed - timing.first_ms) // timing.next_ms
        )
        return index if index < len(self.payloads) else None

    def expires_at(self, index: int, timing: QrTiming) -> int:
        """When code ``index`` stops being valid."""
        return self.started_ms + timing.first_ms + index * timing.next_ms


@dataclass
class Message:
    """One message in a chat."""

    id: str
    peer: str
    direction: str  # "in" or "out"
    text: str
    at_ms: int
    read: bool = False


@dataclass
class Device:
    """A browser profile; linked to a phone once its QR was scanned."""

    id: str
    phone: str | None = None
    qr: QrSession | None = None
    logged_out: bool = False
    conflict: bool = False


@dataclass
class Phone:
    """A WhatsApp account: its chats, which device is linked, whether it is online."""

    number: str
    device_id: str | None = None
    online: bool = True
    chats: dict[str, list[Message]] = field(default_factory=dict)


class LinkError(Exception):
    """The QR payload submitted by the phone was refused."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _payload() -> str:
    """A payload shaped like WhatsApp Web's: ref, noise key, identity key, adv secret."""

    def b64(n: int) -> str:
        return base64.b64encode(secrets.token_bytes(n)).decode()

    return "2@" + b64(66) + "," + b64(32) + "," + b64(32) + "," + b64(32)


class Simulator:
    """All simulated state, guarded by one lock; listeners get page events per device."""

    def __init__(self, clock: Callable[[], int], timing: QrTiming | None = None) -> None:
        self.clock = clock
        self.timing = timing or QrTiming()
        self.devices: dict[str, Device] = {}
        self.phones: dict[str, Phone] = {}
        self.lock = threading.RLock()
        self.served_ms: dict[str, int] = {}  # QR payload -> when a page first got it
        self._listeners: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    # --- page side ----------------------------------------------------------------------

    def device(self, device_id: str) -> Device:
        """The device for a browser profile (created on first sight)."""
        with self.lock:
            if device_id not in self.devices:
                self.devices[device_id] = Device(device_id)
            return self.devices[device_id]

    def boot(self, device_id: str) -> dict[str, Any]:
        """What the page shows when it loads."""
        with self.lock:
            device = self.device(device_id)
            if device.logged_out:
                return {"screen": "logged_out"}
            if device.phone is None:
                return {"screen": "qr"}
            phone = self.phones[device.phone]
            return {
                "screen": "main",
                "phone": phone.number,
                "online": phone.online,
                "conflict": device.conflict,
                "chats": self.chat_list(phone),
            }

    def current_qr(self, device_id: str) -> dict[str, Any]:
        """The code on screen, or ``expired`` once the rotation ran out."""
        with self.lock:
            device = self.device(device_id)
            now = self.clock()
            if device.qr is None:
                device.qr = QrSession(now, [_payload() for _ in range(self.timing.count)])
            index = device.qr.index_at(now, self.timing)
            if index is None:
                return {"expired": True}
            expires = device.qr.expires_at(index, self.timing)
            self.served_ms.setdefault(device.qr.payloads[index], now)
            return {
                "payload": device.qr.payloads[index],
                "attempt": index + 1,
                "attemptsMax": len(device.qr.payloads),
                "expiresAt": expires,
                "refreshInMs": max(expires - now, 50),
            }

    def reload_qr(self, device_id: str) -> None:
        """The user clicked "reload": a fresh rotation."""
        with self.lock:
            device = self.device(device_id)
            device.qr = None
            device.logged_out = False

    def chat_list(self, phone: Phone) -> list[dict[str, Any]]:
        """Chats, most recent first, with unread counts."""
        rows = []
        for peer, messages in phone.chats.items():
            unread = sum(1 for m in messages if m.direction == "in" and not m.read)
            last = messages[-1]
            rows.append({"peer": peer, "unread": unread, "lastAt": last.at_ms})
        rows.sort(key=lambda r: -r["lastAt"])
        return rows

    def open_chat(self, device_id: str, peer: str) -> list[dict[str, Any]]:
        """Messages of one chat; opening it marks inbound messages read."""
        with self.lock:
            phone = self._linked_phone(device_id)
            messages = phone.chats.get(peer, [])
            for m in messages:
                m.read = True
            out = [
                {"id": m.id, "direction": m.direction, "text": m.text, "at": m.at_ms, "peer": peer}
                for m in messages
            ]
        self._emit_chats(phone)
        return out

    def send(self, device_id: str, peer: str, text: str) -> dict[str, Any]:
        """The page sent a message from the linked phone."""
        with self.lock:
            phone = self._linked_phone(device_id)
            if not phone.online:
                raise LinkError(409, "phone not connected")
            if self.devices[device_id].conflict:
                raise LinkError(409, "session open elsewhere")
            message = Message(
                "3EB0" + secrets.token_hex(8).upper(), peer, "out", text, self.clock(), read=True
            )
            phone.chats.setdefault(peer, []).append(message)
        self._emit_chats(phone)
        return {"id": message.id, "at": message.at_ms}

    def use_here(self, device_id: str) -> None:
        """The page clicked "Use here": it takes the session back."""
        with self.lock:
            device = self.device(device_id)
            device.conflict = False
        self.emit(device_id, {"type": "resolved"})

    # --- phone / fault-injection side ---------------------------------------------------

    def link(self, payload: str, number: str) -> dict[str, Any]:
        """The phone scanned ``payload``: link that device to ``number``."""
        with self.lock:
            now = self.clock()
            for device in self.devices.values():
                if device.qr is None or payload not in device.qr.payloads:
                    continue
                index = device.qr.index_at(now, self.timing)
                if index is None or device.qr.payloads[index] != payload:
                    raise LinkError(410, "this QR code has expired")
                phone = self.phones.setdefault(number, Phone(number))
                if phone.device_id and phone.device_id != device.id:
                    old = self.devices.get(phone.device_id)
                    if old is not None:
                        old.phone = None
                        old.logged_out = True
                        self.emit(old.id, {"type": "logged_out"})
                phone.device_id = device.id
                device.phone = number
                device.qr = None
                device.logged_out = False
                self.emit(device.id, {"type": "linked"})
                return {"device": device.id, "phone": number}
        raise LinkError(404, "no page is showing this QR code")

    def inbound(
        self, number: str, sender: str, text: str, message_id: str | None
    ) -> dict[str, Any]:
        """Someone sends ``text`` to ``number``."""
        with self.lock:
            phone = self._phone(number)
            message = Message(
                message_id or "3A" + secrets.token_hex(9).upper(), sender, "in", text, self.clock()
            )
            phone.chats.setdefault(sender, []).append(message)
        self._emit_chats(phone)
        return {"id": message.id}

    def set_online(self, number: str, online: bool) -> None:
        """Take the phone offline (banner on the page) or back online."""
        with self.lock:
            phone = self._phone(number)
            phone.online = online
        if phone.device_id:
            self.emit(phone.device_id, {"type": "online" if online else "offline"})

    def logout(self, number: str) -> None:
        """Log the linked device out (from the phone's "linked devices" screen)."""
        with self.lock:
            phone = self._phone(number)
            device = self.devices.get(phone.device_id or "")
            phone.device_id = None
            if device is not None:
                device.phone = None
                device.logged_out = True
        if device is not None:
            self.emit(device.id, {"type": "logged_out"})

    def conflict(self, number: str) -> None:
        """WhatsApp Web was opened elsewhere: the page shows the "Use here" dialog."""
        with self.lock:
            phone = self._phone(number)
            device = self.devices.get(phone.device_id or "")
            if device is None:
                raise LinkError(409, "no linked device")
            device.conflict = True
        self.emit(device.id, {"type": "conflict"})

    def crash(self, number: str) -> None:
        """Make the linked page hang (its script spins), as a crashed tab would."""
        with self.lock:
            phone = self._phone(number)
            device_id = phone.device_id
        if device_id is None:
            raise LinkError(409, "no linked device")
        self.emit(device_id, {"type": "crash"})

    def sent(self, number: str) -> list[dict[str, Any]]:
        """Everything the linked device sent, oldest first."""
        with self.lock:
            phone = self._phone(number)
            out = [
                {"id": m.id, "to": m.peer, "text": m.text, "at": m.at_ms}
                for messages in phone.chats.values()
                for m in messages
                if m.direction == "out"
            ]
        return sorted(out, key=lambda m: m["at"])

    def showing_qr(self) -> list[dict[str, Any]]:
        """Devices that show a QR right now, with the code on screen."""
        with self.lock:
            rows = []
            for device in self.devices.values():
                if device.phone is None and device.qr is not None and not device.logged_out:
                    current = self.current_qr(device.id)
                    if not current.get("expired"):
                        rows.append({"device": device.id, **current})
            return rows

    # --- events -------------------------------------------------------------------------

    def subscribe(self, device_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Receive page events for ``device_id``."""
        with self.lock:
            self._listeners.setdefault(device_id, []).append(listener)

    def unsubscribe(self, device_id: str, listener: Callable[[dict[str, Any]], None]) -> None:
        """Stop receiving page events."""
        with self.lock:
            listeners = self._listeners.get(device_id, [])
            if listener in listeners:
                listeners.remove(listener)

    def emit(self, device_id: str, event: dict[str, Any]) -> None:
        """Push an event to every open page of ``device_id``."""
        with self.lock:
            listeners = list(self._listeners.get(device_id, []))
        for listener in listeners:
            listener(event)

    def _emit_chats(self, phone: Phone) -> None:
        if phone.device_id:
            with self.lock:
                chats = self.chat_list(phone)
            self.emit(phone.device_id, {"type": "chats", "chats": chats})

    def _phone(self, number: str) -> Phone:
        phone = self.phones.get(number)
        if phone is None:
            raise LinkError(404, f"no phone {number} has linked a device")
        return phone

    def _linked_phone(self, device_id: str) -> Phone:
        device = self.device(device_id)
        if device.phone is None:
            raise LinkError(401, "this device is not linked")
        return self.phones[device.phone]
