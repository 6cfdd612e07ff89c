"""Value objects and small enums the store, the control plane and the worker share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Lease:
    """Proof that a worker owns a tenant: every worker write is conditional on both fields."""

    tenant_id: str
    owner_id: str
    epoch: int


@dataclass(frozen=True)
class QrCode:
    """A code shown by WhatsApp Web (QR payload or pairing code), with its place in the
    rotation and the time the site made it."""

    payload: str
    attempt: int
    attempts_max: int
    expires_at_ms: int
    kind: str = "qr"  # or "pairing"
    made_at_ms: int | None = None


class Direction(StrEnum):
    """Which way a logged message went."""

    IN = "IN"
    OUT = "OUT"


class MessageState(StrEnum):
    """Inbound: RECEIVED -> REPLIED or IGNORED. Outbound: SENDING -> SENT (WhatsApp's ack)."""

    RECEIVED = "RECEIVED"
    REPLIED = "REPLIED"
    IGNORED = "IGNORED"
    SENDING = "SENDING"
    SENT = "SENT"


class Role(StrEnum):
    """What a signed-in user may do: their own tenant's portal, or operate the fleet."""

    TENANT = "tenant"
    ADMIN = "admin"


class WorkerAction(StrEnum):
    """What an operator can ask of a tenant's worker."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
