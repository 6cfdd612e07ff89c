"""The statuses of the seed system, and which of them count as a live worker."""

from __future__ import annotations

from enum import StrEnum


class WorkerStatus(StrEnum):
    """Lifecycle of a tenant's worker process (STARTING lasts from launch to first heartbeat)."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    ERROR = "ERROR"


class SessionState(StrEnum):
    """State of the WhatsApp Web login held by the worker's browser."""

    DISCONNECTED = "DISCONNECTED"
    QR_READY = "QR_READY"
    CONNECTED = "CONNECTED"


class TenantStatus(StrEnum):
    """What the tenant sees as the health of its bot."""

    NEW = "NEW"
    QR_PENDING = "QR_PENDING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    ERROR = "ERROR"


class SetupStatus(StrEnum):
    """Lifecycle of a tenant's setup request: PENDING -> APPROVED -> ACTIVE, or REJECTED."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"


# The setup request's lifecycle: who may follow whom. An open request blocks a new one.
SETUP_NEXT: dict[SetupStatus, tuple[SetupStatus, ...]] = {
    SetupStatus.PENDING: (SetupStatus.APPROVED, SetupStatus.REJECTED),
    SetupStatus.APPROVED: (SetupStatus.ACTIVE,),
}
SETUP_OPEN = (SetupStatus.PENDING, SetupStatus.APPROVED)


def setup_decision(approve: bool) -> tuple[SetupStatus, SetupStatus]:
    """An operator's decision on a setup request: (the status it requires, the new one)."""
    after = SetupStatus.APPROVED if approve else SetupStatus.REJECTED
    before = next(b for b, nexts in SETUP_NEXT.items() if after in nexts)
    return before, after


class TemplateType(StrEnum):
    """Reply templates a tenant can choose in its setup request."""

    RESTAURANT = "RESTAURANT"
    SALON = "SALON"
    SHOP = "SHOP"


LIVE_WORKER = frozenset({WorkerStatus.STARTING, WorkerStatus.RUNNING})
"""Worker statuses that hold a lease and must keep heartbeating."""
