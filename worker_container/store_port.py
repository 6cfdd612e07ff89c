"""What the worker reads and writes, as one interface bound to its lease.

``DynamoStore`` is the real thing (``chalicelib.store`` over DynamoDB, every write conditional
on the lease); ``MemoryStore`` is an in-memory fake with the same rules (the transition table,
the lease fence, paused tenants, exactly-once claims) for tests of the worker without AWS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.domain.errors import StaleOwnerError, TenantPausedError
from chalicelib.domain.statuses import TenantStatus
from chalicelib.domain.transitions import Actor, Event, Statuses, decide
from chalicelib.domain.values import Lease, QrCode

IN, OUT = "IN", "OUT"


@dataclass(frozen=True)
class TenantConfig:
    """The parts of the tenant item a worker uses (its lease, template, numbers, link)."""

    owner_id: str | None
    lease_epoch: int
    name: str
    template_type: str | None = None
    phone: str | None = None
    tenant_status: str = TenantStatus.NEW.value
    link_phone: str | None = None
    linked_at: int | None = None


@dataclass(frozen=True)
class Logged:
    """A logged message that a crash may have left unfinished."""

    direction: str  # IN or OUT
    wa_message_id: str
    chat: str | None
    from_number: str | None
    to_number: str | None
    text: str | None
    reply_key: str | None = None  # OUT: our key ("re-<inbound id>")
    reply_to: str | None = None  # OUT: the inbound message id


class StorePort(Protocol):
    """One tenant's store, as its worker (holding ``lease``) sees it. Calls block."""

    lease: Lease

    def tenant(self) -> TenantConfig:
        """The tenant as it is now (strongly consistent)."""
        ...

    def apply(
        self, event: Event, *, now_ms: int, detail: str | None = None, qr: QrCode | None = None
    ) -> Statuses:
        """Apply ``event`` through the transition table; returns the statuses after it."""
        ...

    def heartbeat(
        self, *, now_ms: int, connected: bool, rss_mb: float | None, browser_mb: float | None
    ) -> TenantConfig:
        """One conditional write; raises ``StaleOwnerError`` once replaced."""
        ...

    def record_reconnect(self, *, attempts: int, next_retry_at_ms: int | None) -> bool:
        """Reconnect progress; False when the session is connected again."""
        ...

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
        """Log an inbound message once; False when this id was logged before."""
        ...

    def inbound_state(self, message_id: str) -> str | None:
        """RECEIVED, REPLIED or IGNORED; None if never logged."""
        ...

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
    ) -> bool:
        """Claim the one reply to ``inbound_id`` before sending (False: claimed before)."""
        ...

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """WhatsApp acknowledged the reply."""
        ...

    def mark_ignored(self, inbound_id: str) -> None:
        """No reply on purpose (paused)."""
        ...

    def unfinished(self) -> list[Logged]:
        """Inbound not answered and replies not acknowledged, oldest first."""
        ...

    def newest_at(self) -> int | None:
        """When the newest logged message was recorded."""
        ...


def _view(item: Any) -> TenantConfig:
    return TenantConfig(
        owner_id=item.owner_id,
        lease_epoch=int(item.lease_epoch or 0),
        name=item.name,
        template_type=item.template_type,
        phone=item.phone,
        tenant_status=item.tenant_status,
        link_phone=item.link_phone,
        linked_at=int(item.linked_at) if item.linked_at else None,
    )


class DynamoStore:
    """``StorePort`` over DynamoDB (``chalicelib.store``)."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def tenant(self) -> TenantConfig:
        """The tenant item, strongly consistent."""
        from chalicelib.store import tenants

        return _view(tenants.get_tenant(self.lease.tenant_id, consistent=True))

    def apply(
        self, event: Event, *, now_ms: int, detail: str | None = None, qr: QrCode | None = None
    ) -> Statuses:
        """``tenants.apply_event`` fenced by the lease."""
        from chalicelib.store import tenants

        outcome = tenants.apply_event(
            self.lease.tenant_id,
            event,
            Actor.WORKER,
            now_ms=now_ms,
            lease=self.lease,
            detail=detail,
            qr=qr,
        )
        return outcome.decision.after

    def heartbeat(
        self, *, now_ms: int, connected: bool, rss_mb: float | None, browser_mb: float | None
    ) -> TenantConfig:
        """``tenants.heartbeat``."""
        from chalicelib.store import tenants

        item = tenants.heartbeat(
            self.lease, now_ms=now_ms, connected=connected, rss_mb=rss_mb, browser_mb=browser_mb
        )
        return _view(item)

    def record_reconnect(self, *, attempts: int, next_retry_at_ms: int | None) -> bool:
        """``tenants.record_reconnect``."""
        from chalicelib.store import tenants

        return tenants.record_reconnect(
            self.lease, attempts=attempts, next_retry_at_ms=next_retry_at_ms
        )

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
        """``messages.record_inbound``."""
        from chalicelib.store import messages

        return messages.record_inbound(
            self.lease.tenant_id,
            message_id,
            from_number=from_number,
            to_number=to_number,
            text=text,
            at_ms=at_ms,
            chat=chat,
        )

    def inbound_state(self, message_id: str) -> str | None:
        """``messages.get_inbound``'s state."""
        from chalicelib.store import messages

        item = messages.get_inbound(self.lease.tenant_id, message_id)
        return None if item is None else item.state

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
    ) -> bool:
        """``messages.claim_reply``."""
        from chalicelib.store import messages

        return messages.claim_reply(
            self.lease,
            inbound_id,
            reply_id=reply_key,
            to_number=to_number,
            from_number=from_number,
            text=text,
            at_ms=at_ms,
            chat=chat,
            wa_message_id=wa_message_id,
        )

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """``messages.mark_sent``."""
        from chalicelib.store import messages

        messages.mark_sent(self.lease.tenant_id, reply_key, wa_message_id)

    def mark_ignored(self, inbound_id: str) -> None:
        """``messages.mark_ignored``."""
        from chalicelib.store import messages

        messages.mark_ignored(self.lease.tenant_id, inbound_id)

    def unfinished(self) -> list[Logged]:
        """``messages.unfinished``."""
        from chalicelib.store import messages

        return [
            Logged(
                direction=item.direction,
                wa_message_id=item.wa_message_id,
                chat=item.chat,
                from_number=item.from_number,
                to_number=item.to_number,
                text=item.text,
                reply_key=item.message_key.split("#", 1)[1] if item.direction == OUT else None,
                reply_to=item.reply_to,
            )
            for item in messages.unfinished(self.lease.tenant_id)
        ]

    def newest_at(self) -> int | None:
        """``messages.newest_at``."""
        from chalicelib.store import messages

        return messages.newest_at(self.lease.tenant_id)


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
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
            return decision.after

    def heartbeat(
        self, *, now_ms: int, connected: bool, rss_mb: float | None, browser_mb: float | None
    ) -> TenantConfig:
        """Fenced by the lease."""
        with self._lock:
            self._fence()
            return self.view

    def record_reconnect(self, *, attempts: int, next_retry_at_ms: int | None) -> bool:
        """False once connected again."""
        with self._lock:
            self._fence()
            return self.statuses.session.value != "CONNECTED"

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
    ) -> bool:
        """Lease held, not paused, not claimed before."""
        with self._lock:
            self._fence()
            if self.view.tenant_status == TenantStatus.PAUSED.value:
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
            )
            self.messages[f"out#{reply_key}"] = _Message(logged, "SENDING", at_ms)
            return True

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """SENDING -> SENT."""
        self.messages[f"out#{reply_key}"].state = "SENT"

    def mark_ignored(self, inbound_id: str) -> None:
        """RECEIVED -> IGNORED."""
        found = self.messages[f"in#{inbound_id}"]
        if found.state == "RECEIVED":
            found.state = "IGNORED"

    def unfinished(self) -> list[Logged]:
        """RECEIVED and SENDING, oldest first."""
        rows = [m for m in self.messages.values() if m.state in ("RECEIVED", "SENDING")]
        return [m.logged for m in sorted(rows, key=lambda m: m.at_ms)]

    def newest_at(self) -> int | None:
        """The newest logged time."""
        return max((m.at_ms for m in self.messages.values()), default=None)

    def state_of(self, key: str) -> str | None:
        """A message's state by key ("in#<id>" / "out#<reply key>"), for tests."""
        found = self.messages.get(key)
        return None if found is None else found.state
