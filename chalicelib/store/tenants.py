"""The tenant state item: creation, reads, leases, heartbeats and status transitions.

Every status change goes through ``domain.transitions.decide`` and one conditional write:
an UpdateItem when only side data changes, a TransactWriteItems (state + history entry) when a
status changes. Conditions carry the statuses the caller saw, plus the lease for worker writes,
plus the staleness re-check for the reaper, so a write based on an outdated view is refused.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    DuplicateError,
    LeaseHeldError,
    NotFoundError,
    RateLimitedError,
    StaleOwnerError,
    ValidationError,
)
from chalicelib.domain.liveness import is_stale, stale_cutoff
from chalicelib.domain.statuses import (
    LIVE_WORKER,
    SessionState,
    TenantStatus,
    WorkerStatus,
)
from chalicelib.domain.transitions import Actor, Decision, Effect, Event, Statuses, decide
from chalicelib.domain.values import Lease, QrCode
from chalicelib.store.connection import condition_failed, connection, put_new
from chalicelib.store.models import (
    MAX_ERROR,
    MAX_NAME,
    MAX_PHONE,
    MAX_QR_PAYLOAD,
    MAX_TASK_REF,
    HistoryModel,
    TenantModel,
)

logger = logging.getLogger(__name__)

HISTORY_TTL_S = 400 * 24 * 3600


@dataclass(frozen=True)
class Guard:
    """What a conditional transition requires of the stored item."""

    expected: Statuses
    epoch: int | None = None  # lease epoch the caller saw (or holds)
    owner_id: str | None = None  # set for worker writes
    heartbeat_before_ms: int | None = None  # set by the reaper: still stale at write time
    seq: int = field(default=0, kw_only=True)  # status changes so far, as the caller saw them


def guard_of(
    item: TenantModel, *, owner_id: str | None = None, heartbeat_before_ms: int | None = None
) -> Guard:
    """The guard for a transition decided from ``item`` as read."""
    return Guard(
        statuses_of(item),
        int(item.lease_epoch),
        owner_id,
        heartbeat_before_ms,
        seq=int(item.seq or 0),
    )


@dataclass(frozen=True)
class Outcome:
    """Result of a transition: the decision taken and, after a launch, the new lease."""

    decision: Decision
    lease: Lease | None = None


def statuses_of(item: TenantModel) -> Statuses:
    """The three status dimensions of a stored tenant item."""
    return Statuses(
        TenantStatus(item.tenant_status),
        SessionState(item.session_state),
        WorkerStatus(item.worker_status),
    )


def new_tenant_id() -> str:
    """A short random tenant id."""
    return "t_" + secrets.token_hex(6)


def create_tenant(
    name: str, *, now_ms: int, phone: str | None = None, tenant_id: str | None = None
) -> TenantModel:
    """Create a tenant in status NEW; refuses to overwrite an existing one. The number is
    taken as given (operator tools, tests); the API's path holds it for the tenant too
    (``setup_requests.create_tenant_holding``)."""
    item = new_item(name, now_ms=now_ms, phone=phone, tenant_id=tenant_id)
    if not put_new(item):
        raise DuplicateError(f"tenant {item.tenant_id} exists")
    return item


def new_item(
    name: str, *, now_ms: int, phone: str | None = None, tenant_id: str | None = None
) -> TenantModel:
    """A NEW tenant's item, not yet written."""
    return TenantModel(
        tenant_id or new_tenant_id(),
        name=name[:MAX_NAME],
        phone=phone[:MAX_PHONE] if phone else None,
        created_at=now_ms,
        tenant_status=TenantStatus.NEW.value,
        session_state=SessionState.DISCONNECTED.value,
        worker_status=WorkerStatus.STOPPED.value,
        lease_epoch=0,
        updated_at=now_ms,
    )


def get_tenant(tenant_id: str, *, consistent: bool = False) -> TenantModel:
    """One GetItem. Raises ``NotFoundError`` for an unknown tenant."""
    try:
        return TenantModel.get(tenant_id, consistent_read=consistent)
    except DoesNotExist:
        raise NotFoundError(f"tenant {tenant_id} not found") from None


def scan_page(
    *,
    limit: int,
    cursor_token: str | None,
    keep: Callable[[TenantModel], bool] | None = None,
    max_reads: int = 20,
) -> tuple[list[TenantModel], str | None]:
    """Up to ``limit`` tenants that ``keep`` accepts (the admin fleet view) and the cursor of
    the next page: Scan pages are read until the page is full (at most ``max_reads``), and the
    cursor resumes right after the last tenant returned, so a filter never skips anyone."""
    from chalicelib.store import cursor

    start = cursor.decode(cursor_token, tenant_id=None)
    kept: list[TenantModel] = []
    for _ in range(max_reads):
        result = TenantModel.scan(limit=limit, page_size=limit, last_evaluated_key=start)
        for item in result:
            if keep is None or keep(item):
                kept.append(item)
                if len(kept) == limit:
                    return kept, cursor.encode({"tid": {"S": item.tenant_id}})
        start = result.last_evaluated_key
        if not start:
            return kept, None
    return kept, cursor.encode(start)


def transition(
    tenant_id: str,
    event: Event,
    actor: Actor,
    guard: Guard,
    *,
    now_ms: int,
    detail: str | None = None,
    qr: QrCode | None = None,
    task_ref: str | None = None,
) -> Outcome:
    """Decide ``event`` from ``guard.expected`` and write it in one conditional request.

    Raises ``StaleOwnerError`` if a worker lost its lease, ``ConcurrentUpdateError`` if the
    item no longer matches what the caller saw (re-read and decide again).
    """
    decision = decide(guard.expected, event, actor)
    actions, lease = _actions(tenant_id, decision, guard, now_ms, detail, qr, task_ref)
    condition = _condition(guard)
    item = TenantModel(tenant_id)
    try:
        if decision.changes_status:
            with TransactWrite(connection=connection()) as tx:
                tx.update(item, actions=actions, condition=condition)
                entry = _history_entry(tenant_id, decision, actor, guard, lease, now_ms, detail)
                tx.save(entry, condition=HistoryModel.sk.does_not_exist())
        else:
            item.update(actions=actions, condition=condition)
    except (TransactWriteError, UpdateError) as exc:
        if not condition_failed(exc):
            raise
        raise _refused(tenant_id, guard) from exc
    logger.info(
        "transition",
        extra={
            "tenant_id": tenant_id,
            "event": event.value,
            "actor": actor.value,
            "epoch": lease.epoch if lease else guard.epoch,
            "to": decision.after.worker.value,
        },
    )
    return Outcome(decision, lease)


def apply_event(
    tenant_id: str,
    event: Event,
    actor: Actor,
    *,
    now_ms: int,
    lease: Lease | None = None,
    known: TenantModel | None = None,
    detail: str | None = None,
    qr: QrCode | None = None,
    attempts: int = 3,
) -> Outcome:
    """``transition`` against the latest state: re-reads and re-decides if another actor
    changed the statuses in between (a tenant pausing while the worker reports, say)."""
    item = known
    for attempt in range(attempts):
        if item is None:
            item = get_tenant(tenant_id, consistent=True)
        if lease is not None and (
            item.owner_id != lease.owner_id or int(item.lease_epoch) != lease.epoch
        ):
            raise StaleOwnerError(f"tenant {tenant_id}: lease epoch {lease.epoch} was replaced")
        guard = guard_of(item, owner_id=lease.owner_id if lease else None)
        try:
            return transition(tenant_id, event, actor, guard, now_ms=now_ms, detail=detail, qr=qr)
        except ConcurrentUpdateError:
            if attempt == attempts - 1:
                raise
            item = None
    raise AssertionError("unreachable")


def acquire_lease(
    tenant_id: str,
    *,
    now_ms: int,
    stale_after_ms: int,
    actor: Actor = Actor.LAUNCHER,
    detail: str | None = None,
) -> Lease:
    """Take the tenant's lease for a new worker: raises ``LeaseHeldError`` if a live one holds it.

    A worker that claims to be live but whose heartbeat is stale is first marked ERROR
    (cause "stale", with its own history entry), then the new lease is granted.
    """
    item = get_tenant(tenant_id, consistent=True)
    current = statuses_of(item)
    epoch = int(item.lease_epoch)
    seq = int(item.seq or 0)
    if current.worker in LIVE_WORKER:
        heartbeat_at = int(item.heartbeat_at) if item.heartbeat_at is not None else None
        if not is_stale(current.worker, heartbeat_at, now_ms, stale_after_ms):
            raise LeaseHeldError(f"tenant {tenant_id} has a live worker (epoch {epoch})")
        cutoff = stale_cutoff(now_ms, stale_after_ms)
        reaped = _claim(
            tenant_id,
            Event.STALE,
            Actor.LAUNCHER,  # the control plane noticed it, whoever asked for the launch
            Guard(current, epoch, heartbeat_before_ms=cutoff, seq=seq),
            now_ms,
            "heartbeat stale",
        )
        current = reaped.decision.after
        seq += 1
    guard = Guard(current, epoch, seq=seq)
    outcome = _claim(tenant_id, Event.LAUNCHED, actor, guard, now_ms, detail)
    assert outcome.lease is not None
    return outcome.lease


def _claim(
    tenant_id: str, event: Event, actor: Actor, guard: Guard, now_ms: int, detail: str | None
) -> Outcome:
    try:
        return transition(tenant_id, event, actor, guard, now_ms=now_ms, detail=detail)
    except ConcurrentUpdateError as exc:
        raise LeaseHeldError(f"tenant {tenant_id} changed while launching; retry") from exc


def heartbeat(
    lease: Lease,
    *,
    now_ms: int,
    connected: bool,
    host_share_mb: float | None = None,
    browser_mb: float | None = None,
    browser_cpu: float | None = None,
) -> TenantModel:
    """One conditional UpdateItem: refused (``StaleOwnerError``) once the lease is gone.

    Only a RUNNING worker heartbeats this way; the first heartbeat after launch is the
    STARTING -> RUNNING transition (``apply_event(Event.HEARTBEAT)``). Returns the item as
    written (free with the update), so the worker learns of a pause within one beat.
    """
    actions: list[Action] = [TenantModel.heartbeat_at.set(now_ms)]
    if connected:
        actions.append(TenantModel.last_seen_at.set(now_ms))
    if host_share_mb is not None:
        actions.append(TenantModel.host_share_mb.set(round(host_share_mb)))
    if browser_mb is not None:
        actions.append(TenantModel.browser_mb.set(round(browser_mb)))
    if browser_cpu is not None:
        actions.append(TenantModel.browser_cpu.set(round(browser_cpu, 3)))
    condition = (
        (TenantModel.owner_id == lease.owner_id)
        & (TenantModel.lease_epoch == lease.epoch)
        & (TenantModel.worker_status == WorkerStatus.RUNNING.value)
    )
    return _worker_update(lease, actions, condition)


def record_reconnect(lease: Lease, *, attempts: int, next_retry_at_ms: int | None) -> bool:
    """Make reconnect progress visible in the status API (attempts, next retry).

    Refused (returns False) once the session is CONNECTED again: a late write from the
    reconnect loop must not undo the reset that the `ready` transition made.
    """
    actions: list[Action] = [TenantModel.reconnect_attempts.set(attempts)]
    if next_retry_at_ms is None:
        actions.append(TenantModel.next_retry_at.remove())
    else:
        actions.append(TenantModel.next_retry_at.set(next_retry_at_ms))
    owned = (TenantModel.owner_id == lease.owner_id) & (TenantModel.lease_epoch == lease.epoch)
    try:
        _worker_update(
            lease, actions, owned & (TenantModel.session_state != SessionState.CONNECTED.value)
        )
    except StaleOwnerError:
        current = TenantModel.get(lease.tenant_id, consistent_read=True)
        if current.owner_id == lease.owner_id and current.lease_epoch == lease.epoch:
            return False  # still ours: the session is CONNECTED again
        raise
    return True


def record_linked_number(lease: Lease, number: str, *, approved: str | None) -> None:
    """The number the phone linked, as the page tells it (fenced by the lease): kept as the
    tenant's ``other_number`` when it is not the approved one, which holds every reply."""
    owned = (TenantModel.owner_id == lease.owner_id) & (TenantModel.lease_epoch == lease.epoch)
    other = approved is not None and number != approved
    action = TenantModel.other_number.set(number) if other else TenantModel.other_number.remove()
    _worker_update(lease, [action], owned)


def pair_canary(tenant_id: str, peer_id: str, *, now_ms: int) -> tuple[str, str]:
    """Make ``tenant_id`` a canary probing ``peer_id`` (both tenants with their numbers); the
    peer answers its probes. One transaction; returns (canary's number, peer's number)."""
    if tenant_id == peer_id:
        raise ValidationError("peer", "must be another tenant (the canary writes to it)")
    canary, peer = get_tenant(tenant_id, consistent=True), get_tenant(peer_id, consistent=True)
    if not canary.phone or not peer.phone:
        raise ValidationError("peer", "both tenants need their WhatsApp number")
    with TransactWrite(connection=connection()) as tx:
        tx.update(
            TenantModel(tenant_id),
            actions=[
                TenantModel.canary_peer.set(peer.phone),
                TenantModel.canary_peer_id.set(peer_id),
                TenantModel.canary_fails.set(0),
                TenantModel.updated_at.set(now_ms),
            ],
            condition=TenantModel.phone == canary.phone,
        )
        tx.update(
            TenantModel(peer_id),
            actions=[TenantModel.canary_of.set(canary.phone), TenantModel.updated_at.set(now_ms)],
            condition=TenantModel.phone == peer.phone,
        )
    return canary.phone, peer.phone


def unpair_canary(tenant_id: str, *, now_ms: int) -> None:
    """Stop the canary of ``tenant_id`` (its peer stops answering its probes)."""
    canary = get_tenant(tenant_id, consistent=True)
    TenantModel(tenant_id).update(
        actions=[
            TenantModel.canary_peer.remove(),
            TenantModel.canary_peer_id.remove(),
            TenantModel.updated_at.set(now_ms),
        ]
    )
    if canary.canary_peer_id and canary.phone:
        with contextlib.suppress(UpdateError):  # paired with another canary since
            TenantModel(canary.canary_peer_id).update(
                actions=[TenantModel.canary_of.remove()],
                condition=TenantModel.canary_of == canary.phone,
            )


def pin_wa_version(tenant_id: str, version: str | None, *, now_ms: int) -> None:
    """Pin the tenant's sessions to a WhatsApp Web version (None: the fleet's or the live site);
    its browser's next launch serves it."""
    get_tenant(tenant_id, consistent=True)  # NotFoundError for a tenant that is not there
    TenantModel(tenant_id).update(
        actions=[
            TenantModel.wa_version.set(version)
            if version is not None
            else TenantModel.wa_version.remove(),
            TenantModel.updated_at.set(now_ms),
        ]
    )


def record_wa_page(lease: Lease, *, served: str, refused: str | None) -> None:
    """The WhatsApp Web page the worker opened (fenced by the lease)."""
    owned = (TenantModel.owner_id == lease.owner_id) & (TenantModel.lease_epoch == lease.epoch)
    actions: list[Action] = [
        TenantModel.wa_served.set(served),
        TenantModel.wa_refused.set(refused) if refused else TenantModel.wa_refused.remove(),
    ]
    _worker_update(lease, actions, owned)


def record_canary(lease: Lease, *, ok: bool, round_trip_ms: int | None, now_ms: int) -> int:
    """The canary's last probe (fenced by the lease); returns failures in a row."""
    owned = (TenantModel.owner_id == lease.owner_id) & (TenantModel.lease_epoch == lease.epoch)
    actions: list[Action] = [
        TenantModel.canary_at.set(now_ms),
        TenantModel.canary_ok.set(ok),
        TenantModel.canary_fails.set(0) if ok else TenantModel.canary_fails.add(1),
    ]
    actions.append(
        TenantModel.canary_ms.set(round_trip_ms)
        if round_trip_ms is not None
        else TenantModel.canary_ms.remove()
    )
    item = _worker_update(lease, actions, owned)
    item.refresh(consistent_read=True)
    return int(item.canary_fails or 0)


def right_number() -> Condition:
    """The bot is not linked to another number than the tenant's own."""
    return TenantModel.other_number.does_not_exist()


def set_task_ref(lease: Lease, task_ref: str) -> None:
    """Remember where the worker runs (ECS task ARN or local pid), for stop and crash events."""
    condition = TenantModel.lease_epoch == lease.epoch
    _worker_update(lease, [TenantModel.task_ref.set(task_ref[:MAX_TASK_REF])], condition)


def record_restart(tenant_id: str, *, restarts: int, now_ms: int) -> None:
    """Count automatic restarts in the current crash loop (drives the backoff)."""
    TenantModel(tenant_id).update(
        actions=[TenantModel.restarts.set(restarts), TenantModel.restart_at.set(now_ms)],
        condition=TenantModel.tenant_id.exists(),
    )


def set_desired(tenant_id: str, desired: str, *, now_ms: int) -> None:
    """Record the operator's intent ("RUN" or "STOP"); automatic restarts obey it."""
    TenantModel(tenant_id).update(
        actions=[TenantModel.desired.set(desired), TenantModel.updated_at.set(now_ms)],
        condition=TenantModel.tenant_id.exists(),
    )


LINK_CODES_PER_HOUR = 5
HOUR_MS = 3_600_000


def request_pairing_code(tenant_id: str, phone: str | None, *, now_ms: int) -> None:
    """Link by pairing code for ``phone`` instead of a QR (None: back to the QR). The worker
    reads it on its next heartbeat (no extra request). Each request makes WhatsApp prompt the
    phone, so at most ``LINK_CODES_PER_HOUR`` in any hour (``RateLimitedError``); the count
    is a conditional write on the tenant item, so concurrent requests cannot overrun it."""
    if phone is None:
        TenantModel(tenant_id).update(
            actions=[TenantModel.link_phone.remove()], condition=TenantModel.tenant_id.exists()
        )
        return
    for _ in range(5):
        item = get_tenant(tenant_id, consistent=True)
        recent = [int(t) for t in item.link_code_times or [] if int(t) > now_ms - HOUR_MS]
        if len(recent) >= LINK_CODES_PER_HOUR:
            wait_s = -(-(min(recent) + HOUR_MS - now_ms) // 1000)
            raise RateLimitedError(
                f"at most {LINK_CODES_PER_HOUR} pairing codes an hour: "
                f"the next one in {-(-wait_s // 60)} min",
                retry_after_s=wait_s,
            )
        unchanged = (
            TenantModel.link_code_times == item.link_code_times
            if item.link_code_times is not None
            else TenantModel.link_code_times.does_not_exist()
        )
        try:
            TenantModel(tenant_id).update(
                actions=[
                    TenantModel.link_phone.set(phone),
                    TenantModel.link_code_times.set([*recent, now_ms]),
                ],
                condition=TenantModel.tenant_id.exists() & unchanged,
            )
            return
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
    raise ConcurrentUpdateError(f"tenant {tenant_id}: pairing code requests kept colliding")


def _worker_update(lease: Lease, actions: list[Action], condition: Condition) -> TenantModel:
    item = TenantModel(lease.tenant_id)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            raise StaleOwnerError(
                f"tenant {lease.tenant_id}: lease epoch {lease.epoch} no longer held"
            ) from exc
        raise
    return item


def _condition(guard: Guard) -> Condition:
    e = guard.expected
    condition: Condition = (
        (TenantModel.tenant_status == e.tenant.value)
        & (TenantModel.session_state == e.session.value)
        & (TenantModel.worker_status == e.worker.value)
    )
    if guard.epoch is not None:
        condition &= TenantModel.lease_epoch == guard.epoch
    if guard.owner_id is not None:
        condition &= TenantModel.owner_id == guard.owner_id
    if guard.seq:
        condition &= TenantModel.seq == guard.seq
    else:  # items written before the counter existed have none
        condition &= TenantModel.seq.does_not_exist() | (TenantModel.seq == 0)
    if guard.heartbeat_before_ms is not None:
        # The reaper's re-check: a heartbeat that landed after its read makes this fail.
        condition &= TenantModel.heartbeat_at.does_not_exist() | (
            TenantModel.heartbeat_at < guard.heartbeat_before_ms
        )
    return condition


def _actions(
    tenant_id: str,
    decision: Decision,
    guard: Guard,
    now_ms: int,
    detail: str | None,
    qr: QrCode | None,
    task_ref: str | None,
) -> tuple[list[Action], Lease | None]:
    after, effects = decision.after, decision.effects
    t = TenantModel
    actions: list[Action] = [t.updated_at.set(now_ms)]
    if decision.changes_status:
        actions += [t.seq.set(guard.seq + 1), t.last_event.set(decision.event.value)]
    if decision.before.tenant != after.tenant:
        actions.append(t.tenant_status.set(after.tenant.value))
    if decision.before.session != after.session:
        actions.append(t.session_state.set(after.session.value))
    if decision.before.worker != after.worker:
        actions.append(t.worker_status.set(after.worker.value))
    lease = None
    if Effect.NEW_LEASE in effects:
        lease = Lease(tenant_id, uuid.uuid4().hex, (guard.epoch or 0) + 1)
        actions += [
            t.owner_id.set(lease.owner_id),
            t.lease_epoch.set(lease.epoch),
            t.started_at.set(now_ms),
            t.host_share_mb.remove(),
            t.browser_mb.remove(),
        ]
        actions.append(t.task_ref.set(task_ref[:MAX_TASK_REF]) if task_ref else t.task_ref.remove())
    if Effect.REVOKE_LEASE in effects:
        actions.append(t.owner_id.remove())
    if Effect.STORE_QR in effects and qr is not None:
        actions += [
            t.qr_payload.set(qr.payload[:MAX_QR_PAYLOAD]),
            t.qr_at.set(qr.made_at_ms or now_ms),
            t.qr_attempt.set(qr.attempt),
            t.qr_attempts_max.set(qr.attempts_max),
            t.qr_expires_at.set(qr.expires_at_ms),
            t.qr_kind.set(qr.kind) if qr.kind != "qr" else t.qr_kind.remove(),
            t.linked_at.remove(),  # a code on screen: the next link syncs history anew
        ]
    if Effect.CLEAR_QR in effects:
        actions += [
            t.qr_payload.remove(),
            t.qr_at.remove(),
            t.qr_attempt.remove(),
            t.qr_attempts_max.remove(),
            t.qr_expires_at.remove(),
            t.qr_kind.remove(),
        ]
    if decision.event is Event.READY:
        actions.append(t.linked_at.set(t.linked_at | now_ms))
    if decision.event is Event.AUTH_FAILURE:  # the login is gone: the next start needs a code
        actions.append(t.linked_at.remove())
    if Effect.RECORD_ERROR in effects:
        text = (detail or decision.event.value)[:MAX_ERROR]
        actions += [t.last_error.set(text), t.last_error_at.set(now_ms)]
    if Effect.CLEAR_ERROR in effects:
        actions += [t.last_error.remove(), t.last_error_at.remove()]
    if Effect.RESET_RECONNECT in effects:
        actions += [t.reconnect_attempts.remove(), t.next_retry_at.remove()]
    if Effect.TOUCH_HEARTBEAT in effects:
        actions.append(t.heartbeat_at.set(now_ms))
    if Effect.TOUCH_LAST_SEEN in effects:
        actions.append(t.last_seen_at.set(now_ms))
    return actions, lease


def _history_entry(
    tenant_id: str,
    decision: Decision,
    actor: Actor,
    guard: Guard,
    lease: Lease | None,
    now_ms: int,
    detail: str | None,
) -> HistoryModel:
    epoch = lease.epoch if lease else (guard.epoch or 0)
    before, after = decision.before, decision.after
    return HistoryModel(
        tenant_id,
        f"{now_ms:013d}#{guard.seq + 1:08d}",
        at=now_ms,
        event=decision.event.value,
        actor=actor.value,
        epoch=epoch,
        from_tenant=before.tenant.value,
        from_session=before.session.value,
        from_worker=before.worker.value,
        to_tenant=after.tenant.value,
        to_session=after.session.value,
        to_worker=after.worker.value,
        detail=detail[:MAX_ERROR] if detail else None,
        expires_at=now_ms // 1000 + HISTORY_TTL_S,
    )


def _refused(tenant_id: str, guard: Guard) -> Exception:
    """Explain a failed condition: a lost lease is final, anything else is worth a re-read."""
    try:
        item = get_tenant(tenant_id, consistent=True)
    except NotFoundError as exc:
        return exc
    if guard.owner_id is not None and (
        item.owner_id != guard.owner_id or int(item.lease_epoch) != guard.epoch
    ):
        return StaleOwnerError(f"tenant {tenant_id}: lease epoch {guard.epoch} no longer held")
    return ConcurrentUpdateError(f"tenant {tenant_id} changed since it was read")
