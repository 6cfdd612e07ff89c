"""In-memory fakes of the worker's two ports (``worker_container/ports.py``), with the same
rules as the DynamoDB adapters: the one transition table, the lease fence, paused tenants,
exactly-once claims; a host's orders, heartbeat, drain and the ends of its sessions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from chalicelib.domain.conversation import ChatRecord
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    NotFoundError,
    StaleOwnerError,
    TenantPausedError,
)
from chalicelib.domain.statuses import TenantStatus
from chalicelib.domain.transitions import Actor, Event, Statuses, decide
from chalicelib.domain.values import Lease, QrCode
from worker_container.ports import DRAINING, GONE, IN, OUT, HostOrders, Logged, TenantConfig


@dataclass
class _Message:
    logged: Logged
    state: str
    at_ms: int


@dataclass
class MemoryStore:
    """An in-memory ``StorePort`` with the same rules, for tests without DynamoDB."""

    lease: Lease
    view: TenantConfig
    statuses: Statuses
    messages: dict[str, _Message] = field(default_factory=dict)  # "in#id" / "out#key"
    history: list[tuple[str, Statuses]] = field(default_factory=list)
    qr: QrCode | None = None
    last_error: str | None = None
    reconnect: tuple[int, int | None] | None = None  # attempts, next try (ms)
    chats: dict[str, ChatRecord] = field(default_factory=dict)
    why: dict[str, str | None] = field(default_factory=dict)  # inbound id -> why ignored
    files: dict[str, bytes] = field(default_factory=dict)  # media id -> an uploaded file
    canary: list[tuple[bool, int | None, int]] = field(default_factory=list)  # probes
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def wait_until(self, worker: object, timeout: float) -> bool:
        """Block until the worker status is ``worker`` (a signal, for tests of a host)."""
        return self.wait_for(lambda: self.statuses.worker is worker, timeout)

    def wait_for(self, check: Callable[[], bool], timeout: float) -> bool:
        """Block until ``check`` holds after a status change (a signal, for tests)."""
        with self._lock:
            return self._lock.wait_for(check, timeout)

    def _fence(self) -> None:
        if self.view.owner_id != self.lease.owner_id or self.view.lease_epoch != self.lease.epoch:
            raise StaleOwnerError(f"tenant {self.lease.tenant_id}: lease lost")

    def replace_lease(self) -> None:
        """Another worker took the tenant (for tests of a replaced worker)."""
        self.view = replace(self.view, owner_id="someone-else", lease_epoch=self.lease.epoch + 1)

    def tenant(self) -> TenantConfig:
        """The tenant as it is now."""
        return self.view

    def apply(
        self, event: Event, *, now_ms: int, detail: str | None = None, qr: QrCode | None = None
    ) -> Statuses:
        """Decide through the one transition table, fenced by the lease."""
        with self._lock:
            self._fence()
            decision = decide(self.statuses, event, Actor.WORKER)
            if decision.changes_status:
                self.history.append((event.value, decision.after))
            self.statuses = decision.after
            self.view = replace(self.view, tenant_status=decision.after.tenant.value)
            if event is Event.QR and qr is not None:
                self.qr, self.view = qr, replace(self.view, linked_at=None)
            if event is Event.READY:
                self.qr = None
                self.view = replace(self.view, linked_at=self.view.linked_at or now_ms)
            if detail is not None:
                self.last_error = detail
            self._lock.notify_all()
            return decision.after

    def record_linked_number(self, number: str, *, approved: str | None) -> None:
        """Fenced by the lease."""
        with self._lock:
            self._fence()
            other = number if approved is not None and number != approved else None
            self.view = replace(self.view, other_number=other)

    def heartbeat(
        self,
        *,
        now_ms: int,
        connected: bool,
        host_share_mb: float | None,
        browser_mb: float | None,
        browser_cpu: float | None = None,
    ) -> TenantConfig:
        """Fenced by the lease."""
        with self._lock:
            self._fence()
            return self.view

    def record_reconnect(self, *, attempts: int, next_retry_at_ms: int | None) -> bool:
        """False once connected again."""
        with self._lock:
            self._fence()
            if self.statuses.session.value == "CONNECTED":
                return False
            self.reconnect = (attempts, next_retry_at_ms)
            return True

    def record_inbound(
        self,
        message_id: str,
        *,
        from_number: str,
        to_number: str | None,
        text: str,
        at_ms: int,
        chat: str,
    ) -> bool:
        """Once per message id."""
        with self._lock:
            key = f"in#{message_id}"
            if key in self.messages:
                return False
            logged = Logged(IN, message_id, chat, from_number, to_number, text)
            self.messages[key] = _Message(logged, "RECEIVED", at_ms)
            return True

    def inbound_state(self, message_id: str) -> str | None:
        """The logged state."""
        found = self.messages.get(f"in#{message_id}")
        return None if found is None else found.state

    def claim_reply(
        self,
        inbound_id: str,
        *,
        reply_key: str,
        wa_message_id: str,
        to_number: str,
        from_number: str | None,
        text: str,
        at_ms: int,
        chat: str,
        media: str | None = None,
    ) -> bool:
        """Lease held, not paused, not claimed before."""
        with self._lock:
            self._fence()
            if self.view.tenant_status == TenantStatus.PAUSED.value or self.view.other_number:
                raise TenantPausedError(f"tenant {self.lease.tenant_id} is paused")
            inbound = self.messages.get(f"in#{inbound_id}")
            if (
                f"out#{reply_key}" in self.messages
                or inbound is None
                or (inbound.state != "RECEIVED")
            ):
                return False
            inbound.state = "REPLIED"
            logged = Logged(
                OUT,
                wa_message_id,
                chat,
                from_number,
                to_number,
                text,
                reply_key=reply_key,
                reply_to=inbound_id,
                media=media,
            )
            self.messages[f"out#{reply_key}"] = _Message(logged, "SENDING", at_ms)
            return True

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """SENDING -> SENT."""
        self.messages[f"out#{reply_key}"].state = "SENT"

    def mark_ignored(self, inbound_id: str, *, why: str | None = None) -> None:
        """RECEIVED -> IGNORED."""
        found = self.messages[f"in#{inbound_id}"]
        if found.state == "RECEIVED":
            found.state = "IGNORED"
            self.why[inbound_id] = why

    def chat(self, chat: str) -> ChatRecord:
        """The chat's record."""
        return self.chats.get(chat, ChatRecord())

    def save_chat(self, chat: str, record: ChatRecord) -> None:
        """Replace it."""
        self.chats[chat] = record

    def unfinished(self) -> list[Logged]:
        """RECEIVED and SENDING, oldest first."""
        rows = [m for m in self.messages.values() if m.state in ("RECEIVED", "SENDING")]
        return [replace(m.logged, at_ms=m.at_ms) for m in sorted(rows, key=lambda m: m.at_ms)]

    def record_canary(self, *, ok: bool, round_trip_ms: int | None, now_ms: int) -> int:
        """The last probes (``canary``), failures in a row."""
        self.canary.append((ok, round_trip_ms, now_ms))
        fails = 0
        for done, _ms, _at in reversed(self.canary):
            if done:
                break
            fails += 1
        return fails

    def record_wa_page(self, *, served: str, refused: str | None) -> None:
        """Fenced by the lease."""
        with self._lock:
            self._fence()
            self.view = replace(self.view, wa_served=served, wa_refused=refused)

    def media(self, media_id: str) -> bytes:
        """An uploaded file (``files``)."""
        if media_id not in self.files:
            raise NotFoundError(f"file {media_id} is gone")
        return self.files[media_id]

    def newest_at(self) -> int | None:
        """The newest logged time."""
        return max((m.at_ms for m in self.messages.values()), default=None)

    def state_of(self, key: str) -> str | None:
        """A message's state by key ("in#<id>" / "out#<reply key>"), for tests."""
        found = self.messages.get(key)
        return None if found is None else found.state


@dataclass
class MemoryHost:
    """A ``HostPort`` in memory: placements set by the test, what the host reported kept."""

    host_id: str = "h_test"
    status: str | None = "RUNNING"
    reason: str | None = None
    leases: list[Lease] = field(default_factory=list)
    beats: list[dict[str, object]] = field(default_factory=list)
    ended: list[tuple[Lease, str, str | None]] = field(default_factory=list)

    def orders(self) -> HostOrders:
        """The placements as the test set them."""
        return HostOrders(self.status, self.reason, len(self.leases), tuple(self.leases))

    def heartbeat(self, **beat: object) -> None:
        """Kept; refused once the host is gone."""
        if self.status == GONE:
            raise ConcurrentUpdateError(f"host {self.host_id} is gone")
        self.beats.append(beat)

    def drain(self, reason: str) -> None:
        """The host takes no more tenants."""
        if self.status != GONE:
            self.status, self.reason = DRAINING, reason

    def session_ended(self, lease: Lease, reason: str, *, move: str | None) -> None:
        """Kept; the placement goes (a move places it elsewhere)."""
        self.ended.append((lease, reason, move))
        if lease in self.leases:
            self.leases.remove(lease)
