"""The one transition table: every status change in wafleet is decided here and nowhere else.

A tenant's status is three dimensions (tenant, session, worker) that change together.
``decide`` looks an event up in ``TABLE``, checks the current statuses are allowed sources,
and returns the new statuses plus the side effects the store must apply in the same write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Literal

from chalicelib.domain.errors import IllegalTransitionError
from chalicelib.domain.statuses import LIVE_WORKER, SessionState, TenantStatus, WorkerStatus


class Event(StrEnum):
    """Things that happen to a tenant's bot (past tense: they already happened)."""

    LAUNCHED = "launched"  # control plane acquired a lease and started a worker
    HEARTBEAT = "heartbeat"  # worker is alive
    QR = "qr"  # WhatsApp Web shows a (new) QR code
    READY = "ready"  # WhatsApp Web is logged in
    DISCONNECTED = "disconnected"  # phone or network lost; reconnect manager takes over
    RECONNECT_EXHAUSTED = "reconnect_exhausted"
    AUTH_FAILURE = "auth_failure"  # logged out / login refused
    MESSAGE_ERROR = "message_error"  # a message could not be handled; worker keeps going
    STOPPED = "stopped"  # worker exited on purpose (operator stop, SIGTERM)
    STALE = "stale"  # reaper or read path: heartbeat older than the threshold
    CRASHED = "crashed"  # process exit or ECS task STOPPED without a clean stop
    PAUSED = "paused"  # tenant asked the bot to stop replying
    RESUMED = "resumed"
    CANARY = "canary"  # a canary's probe came back answered, or not (no status changes)


class Actor(StrEnum):
    """Who caused an event; recorded in history."""

    WORKER = "worker"
    REAPER = "reaper"
    LAUNCHER = "launcher"  # control plane: start/stop/crash detection
    OPERATOR = "operator"  # an admin
    TENANT = "tenant"  # the tenant's own user


class Effect(StrEnum):
    """Side effects the store applies in the same conditional write as the status change."""

    NEW_LEASE = "new_lease"  # raise lease_epoch, set a fresh owner_id
    REVOKE_LEASE = "revoke_lease"  # remove owner_id: every later write of the old worker fails
    STORE_QR = "store_qr"
    CLEAR_QR = "clear_qr"
    RECORD_ERROR = "record_error"
    CLEAR_ERROR = "clear_error"
    RESET_RECONNECT = "reset_reconnect"
    TOUCH_HEARTBEAT = "touch_heartbeat"
    TOUCH_LAST_SEEN = "touch_last_seen"


DERIVE: Final = "derive"
"""Target tenant status computed from session and worker (used when a pause ends)."""


@dataclass(frozen=True)
class Rule:
    """One row of the table. ``None`` as a target means "leave that dimension as it is"."""

    actors: frozenset[Actor]
    from_worker: frozenset[WorkerStatus]
    to_worker: WorkerStatus | None = None
    to_session: SessionState | None = None
    to_tenant: TenantStatus | Literal["derive"] | None = None
    from_tenant: frozenset[TenantStatus] = frozenset(TenantStatus)
    # Tenant statuses this row leaves untouched: a pause is the tenant's choice and outlives
    # whatever the worker does; a never-linked tenant stays NEW when its worker stops.
    keeps_tenant: frozenset[TenantStatus] = frozenset({TenantStatus.PAUSED})
    effects: frozenset[Effect] = field(default_factory=frozenset)


_ALL_WORKER = frozenset(WorkerStatus)
_DEAD = frozenset({WorkerStatus.STOPPED, WorkerStatus.ERROR})
_W = frozenset({Actor.WORKER})
_E = frozenset

TABLE: Final[dict[Event, Rule]] = {
    Event.LAUNCHED: Rule(
        actors=_E({Actor.LAUNCHER, Actor.OPERATOR}),
        from_worker=_DEAD,
        to_worker=WorkerStatus.STARTING,
        effects=_E({Effect.NEW_LEASE, Effect.TOUCH_HEARTBEAT, Effect.RESET_RECONNECT}),
    ),
    Event.HEARTBEAT: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.RUNNING,
        effects=_E({Effect.TOUCH_HEARTBEAT}),
    ),
    Event.QR: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.RUNNING,
        to_session=SessionState.QR_READY,
        to_tenant=TenantStatus.QR_PENDING,
        effects=_E({Effect.STORE_QR, Effect.TOUCH_HEARTBEAT}),
    ),
    Event.READY: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.RUNNING,
        to_session=SessionState.CONNECTED,
        to_tenant=TenantStatus.ACTIVE,
        effects=_E(
            {
                Effect.CLEAR_QR,
                Effect.CLEAR_ERROR,
                Effect.RESET_RECONNECT,
                Effect.TOUCH_HEARTBEAT,
                Effect.TOUCH_LAST_SEEN,
            }
        ),
    ),
    Event.DISCONNECTED: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        effects=_E({Effect.CLEAR_QR, Effect.RECORD_ERROR}),
    ),
    Event.RECONNECT_EXHAUSTED: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.ERROR,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        effects=_E({Effect.CLEAR_QR, Effect.RECORD_ERROR, Effect.REVOKE_LEASE}),
    ),
    Event.AUTH_FAILURE: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.ERROR,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        effects=_E({Effect.CLEAR_QR, Effect.RECORD_ERROR, Effect.REVOKE_LEASE}),
    ),
    Event.MESSAGE_ERROR: Rule(
        actors=_W,
        from_worker=LIVE_WORKER,
        effects=_E({Effect.RECORD_ERROR}),
    ),
    Event.STOPPED: Rule(
        actors=_E({Actor.WORKER, Actor.LAUNCHER, Actor.OPERATOR}),
        from_worker=_ALL_WORKER,
        to_worker=WorkerStatus.STOPPED,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        keeps_tenant=_E({TenantStatus.PAUSED, TenantStatus.NEW}),
        effects=_E({Effect.CLEAR_QR, Effect.REVOKE_LEASE}),
    ),
    Event.STALE: Rule(
        actors=_E({Actor.REAPER, Actor.LAUNCHER}),
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.ERROR,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        effects=_E({Effect.CLEAR_QR, Effect.RECORD_ERROR, Effect.REVOKE_LEASE}),
    ),
    Event.CRASHED: Rule(
        actors=_E({Actor.LAUNCHER}),
        from_worker=LIVE_WORKER,
        to_worker=WorkerStatus.ERROR,
        to_session=SessionState.DISCONNECTED,
        to_tenant=TenantStatus.ERROR,
        effects=_E({Effect.CLEAR_QR, Effect.RECORD_ERROR, Effect.REVOKE_LEASE}),
    ),
    Event.PAUSED: Rule(
        actors=_E({Actor.TENANT, Actor.OPERATOR}),
        from_worker=_ALL_WORKER,
        from_tenant=_E({TenantStatus.ACTIVE, TenantStatus.QR_PENDING, TenantStatus.ERROR}),
        to_tenant=TenantStatus.PAUSED,
        keeps_tenant=frozenset(),
    ),
    Event.RESUMED: Rule(
        actors=_E({Actor.TENANT, Actor.OPERATOR}),
        from_worker=_ALL_WORKER,
        from_tenant=_E({TenantStatus.PAUSED}),
        to_tenant=DERIVE,
        keeps_tenant=frozenset(),
    ),
    Event.CANARY: Rule(actors=_W, from_worker=LIVE_WORKER),
}
# Events that change no status but are written to the history all the same.
RECORDED: Final[frozenset[Event]] = frozenset({Event.CANARY})


@dataclass(frozen=True)
class Statuses:
    """The three status dimensions of one tenant, as stored together in its state item."""

    tenant: TenantStatus = TenantStatus.NEW
    session: SessionState = SessionState.DISCONNECTED
    worker: WorkerStatus = WorkerStatus.STOPPED


@dataclass(frozen=True)
class Decision:
    """What ``decide`` returns: the new statuses and the effects to apply with them."""

    event: Event
    before: Statuses
    after: Statuses
    effects: frozenset[Effect]

    @property
    def changes_status(self) -> bool:
        """True when a history entry is owed: some dimension changed, or the event is one
        recorded for itself (``RECORDED``)."""
        return self.before != self.after or self.event in RECORDED


def derive_tenant(session: SessionState, worker: WorkerStatus) -> TenantStatus:
    """Tenant status implied by session and worker, used when a pause ends."""
    if worker is WorkerStatus.RUNNING and session is SessionState.CONNECTED:
        return TenantStatus.ACTIVE
    if worker in LIVE_WORKER and session is SessionState.QR_READY:
        return TenantStatus.QR_PENDING
    return TenantStatus.ERROR


def decide(current: Statuses, event: Event, actor: Actor) -> Decision:
    """Apply ``event`` to ``current`` according to ``TABLE``; raise if it is not allowed."""
    rule = TABLE[event]
    if actor not in rule.actors:
        raise IllegalTransitionError(f"{actor} may not cause {event}")
    if current.worker not in rule.from_worker:
        raise IllegalTransitionError(f"{event} not allowed while worker is {current.worker}")
    if current.tenant not in rule.from_tenant:
        raise IllegalTransitionError(f"{event} not allowed while tenant is {current.tenant}")
    worker = rule.to_worker or current.worker
    session = rule.to_session or current.session
    if rule.to_tenant is None or current.tenant in rule.keeps_tenant:
        tenant = current.tenant
    elif rule.to_tenant == DERIVE:
        tenant = derive_tenant(session, worker)
    else:
        tenant = TenantStatus(rule.to_tenant)
    return Decision(event, current, Statuses(tenant, session, worker), rule.effects)


def violations(s: Statuses) -> list[str]:
    """Rules every reachable combination obeys; an empty list means ``s`` is legal."""
    found = []
    if s.session is not SessionState.DISCONNECTED and s.worker not in LIVE_WORKER:
        found.append("a session is held only by a live worker")
    if s.session is SessionState.CONNECTED and s.worker is not WorkerStatus.RUNNING:
        found.append("a connected session means a running worker")
    if s.tenant is TenantStatus.ACTIVE and s.session is not SessionState.CONNECTED:
        found.append("an active tenant has a connected session")
    if s.tenant is TenantStatus.QR_PENDING and s.session is not SessionState.QR_READY:
        found.append("a tenant waiting for a QR scan has a QR on screen")
    if s.worker not in LIVE_WORKER and s.tenant not in {
        TenantStatus.ERROR,
        TenantStatus.PAUSED,
        TenantStatus.NEW,
    }:
        found.append("a tenant without a live worker is not reported healthy")
    return found


def table_rows() -> list[tuple[str, str, str, str, str, str, str]]:
    """The table as plain rows (event, actors, from worker, worker, session, tenant, effects).

    Used to render the README's status table, so the documentation is generated, not copied.
    """
    rows = []
    for event, rule in TABLE.items():
        tenant = str(rule.to_tenant or "-")
        if rule.to_tenant is not None and rule.keeps_tenant:
            tenant += " (unless " + "/".join(sorted(rule.keeps_tenant)) + ")"
        if rule.from_tenant != frozenset(TenantStatus):
            tenant = "from " + "/".join(sorted(rule.from_tenant)) + ": " + tenant
        rows.append(
            (
                event.value,
                ", ".join(sorted(rule.actors)),
                "/".join(sorted(rule.from_worker)),
                str(rule.to_worker or "-"),
                str(rule.to_session or "-"),
                tenant,
                ", ".join(sorted(rule.effects)) or "-",
            )
        )
    return rows
