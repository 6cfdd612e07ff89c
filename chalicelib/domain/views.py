"""What the presenters read: typed views of stored things, free of any storage library."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.transitions import Statuses
from chalicelib.domain.values import QrCode


@dataclass(frozen=True)
class TenantView:
    """One tenant's state item."""

    tenant_id: str
    name: str
    phone: str | None
    statuses: Statuses
    epoch: int = 0
    desired: str = "RUN"
    heartbeat_at: int | None = None
    last_seen_at: int | None = None
    started_at: int | None = None
    last_error: str | None = None
    last_error_at: int | None = None
    reconnect_attempts: int = 0
    next_retry_at: int | None = None
    host_share_mb: int | None = None  # its share of the host process's memory
    browser_mb: int | None = None
    browser_cpu: float | None = None  # its browser's share of a core, lately
    setup_id: str | None = None
    setup_status: str | None = None
    template_type: str | None = None
    code: QrCode | None = None  # the QR or pairing code on screen, if one was published
    link_phone: str | None = None
    linked_at: int | None = None  # linked since its last code (its login is saved)
    other_number: str | None = None  # the phone linked this number, not ``phone``: no replies
    replies_version: int = 0  # the owner's saved replies (0: never saved nor confirmed)
    canary_peer: str | None = None  # a canary: the number it probes ...
    canary_at: int | None = None  # ... and its last probe: when, answered, round trip,
    canary_ok: bool | None = None
    canary_ms: int | None = None
    canary_fails: int = 0  # failures in a row
    canary_of: str | None = None  # a canary's peer: whose probes it answers
    wa_version: str | None = None  # its pinned WhatsApp Web version, if any ...
    wa_served: str | None = None  # ... what its last launch served (a version, or "live") ...
    wa_refused: str | None = None  # ... and why that is not the pin

    created_at: int | None = None
    last_event: str | None = None  # the event of the newest status change
    restarts: int = 0  # automatic restarts in the current crash loop
    host_id: str | None = None  # the worker host it is placed on (packed workers)


@dataclass(frozen=True)
class MessageView:
    """One logged message."""

    key: str
    direction: str
    from_number: str | None
    to_number: str | None
    text: str | None
    at: int
    state: str | None
    reply_to: str | None
    why: str | None = None  # why the bot stayed silent (IGNORED)


@dataclass(frozen=True)
class HistoryView:
    """One status transition, as recorded (older entries may hold values no longer used)."""

    at: int
    event: str
    actor: str
    epoch: int
    detail: str | None
    before: tuple[str, str, str]  # tenant, session, worker
    after: tuple[str, str, str]


@dataclass(frozen=True)
class SetupRequestView:
    """A tenant's request for a bot."""

    request_id: str
    tenant_id: str
    status: str
    template_type: str
    whatsapp_number: str
    business_name: str | None
    notes: str | None
    created_at: int
    decided_at: int | None
    reason: str | None


@dataclass(frozen=True)
class UserView:
    """Someone who can sign in."""

    user_id: str
    email: str
    role: str
    tenant_id: str | None
    created_at: int | None
