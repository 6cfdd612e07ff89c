"""The two ports through which a worker host reaches the outside world.

``StorePort``: one session's own items (its tenant, statuses and messages), every write fenced
by the session's lease. ``HostPort``: the host's placements, heartbeat, drain, and how a
session's end is recorded and moved. The adapters over DynamoDB and the control plane are in
``dynamo.py``; in-memory fakes with the same rules are in ``tests/fakes.py``. Nothing else in
``worker_container`` knows DynamoDB, the control plane or ECS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.conversation import ChatRecord
from chalicelib.domain.statuses import TenantStatus
from chalicelib.domain.transitions import Event, Statuses
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
    other_number: str | None = None
    rules: str | None = None  # the owner's replies, as saved (JSON)
    canary_peer: str | None = None  # a canary: the number it probes
    canary_of: str | None = None  # a canary's peer: the number whose probes it answers
    wa_version: str | None = None  # its pinned WhatsApp Web version (wins over the fleet's)
    wa_served: str | None = None  # what its last launch served, as recorded ...
    wa_refused: str | None = None  # ... and why that was not the pin


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
    media: str | None = None  # OUT: the file it carries (an ``Attachment`` as JSON)
    at_ms: int | None = None  # when it was logged


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
        self,
        *,
        now_ms: int,
        connected: bool,
        host_share_mb: float | None,
        browser_mb: float | None,
        browser_cpu: float | None = None,
    ) -> TenantConfig:
        """One conditional write; raises ``StaleOwnerError`` once replaced."""
        ...

    def record_reconnect(self, *, attempts: int, next_retry_at_ms: int | None) -> bool:
        """Reconnect progress; False when the session is connected again."""
        ...

    def record_linked_number(self, number: str, *, approved: str | None) -> None:
        """The number the phone linked; replies wait while it is not ``approved``."""
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
        media: str | None = None,
    ) -> bool:
        """Claim the one reply to ``inbound_id`` before sending (False: claimed before)."""
        ...

    def record_canary(self, *, ok: bool, round_trip_ms: int | None, now_ms: int) -> int:
        """The canary's last probe; returns failures in a row."""
        ...

    def record_wa_page(self, *, served: str, refused: str | None) -> None:
        """The WhatsApp Web page a launch opened (a version, or "live"), and why it is not
        the pin asked for."""
        ...

    def media(self, media_id: str) -> bytes:
        """A file an answer carries (the owner uploaded it); ``NotFoundError`` if it is gone."""
        ...

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """WhatsApp acknowledged the reply."""
        ...

    def mark_ignored(self, inbound_id: str, *, why: str | None = None) -> None:
        """No reply on purpose (paused, linked to another number, taken over, opted out)."""
        ...

    def chat(self, chat: str) -> ChatRecord:
        """The chat's record: taken over until, opted out, recent automated replies."""
        ...

    def save_chat(self, chat: str, record: ChatRecord) -> None:
        """Replace the chat's record."""
        ...

    def unfinished(self) -> list[Logged]:
        """Inbound not answered and replies not acknowledged, oldest first."""
        ...

    def newest_at(self) -> int | None:
        """When the newest logged message was recorded."""
        ...


# --- the host's port ---------------------------------------------------------------------

GONE, DRAINING = "GONE", "DRAINING"  # host statuses the host acts on (chalicelib.store.hosts)


@dataclass(frozen=True)
class HostOrders:
    """What the host finds about itself on each poll: its status and the leases of the tenants
    placed on it. ``status`` None: the host was never registered."""

    status: str | None
    reason: str | None
    assigned: int
    leases: tuple[Lease, ...]


class HostPort(Protocol):
    """One host's view of placement and the control plane. Calls block."""

    host_id: str

    def orders(self) -> HostOrders:
        """One read of the host's own partition."""
        ...

    def heartbeat(
        self,
        *,
        now_ms: int,
        capacity: int,
        pss_mb: float,
        limit_mb: float,
        tenant_mb: dict[str, float],
        first: bool,
    ) -> None:
        """The host's conditional heartbeat; ``ConcurrentUpdateError`` once it is recorded
        as gone (its tenants run elsewhere)."""
        ...

    def drain(self, reason: str) -> None:
        """Record that the host takes no more tenants."""
        ...

    def session_ended(self, lease: Lease, reason: str, *, move: str | None) -> None:
        """Record the end of a session under ``lease``. ``move`` (a drain's reason): start the
        tenant on a host with room; otherwise take its placement off this host."""
        ...
