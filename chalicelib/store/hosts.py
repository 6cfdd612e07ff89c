"""Worker hosts and the placement of tenants on them (``HostModel``, one table by sort key).

A placement and the host's count of placements change in one transaction, conditional on the
host taking tenants and having room, so two starts at once never overfill a host. A host's
status moves STARTING -> RUNNING -> DRAINING -> GONE, each step a conditional write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.domain.values import Lease
from chalicelib.settings import Settings
from chalicelib.store.connection import condition_failed, connection, put_new
from chalicelib.store.models import MAX_ERROR, HostModel

HOST = "host"
PLACED = "t#"
GONE_TTL_S = 24 * 3600


class HostStatus(StrEnum):
    """STARTING until its first heartbeat; DRAINING takes no tenants; GONE is the end."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    DRAINING = "DRAINING"
    GONE = "GONE"


TAKING = (HostStatus.STARTING.value, HostStatus.RUNNING.value)
ALIVE = (*TAKING, HostStatus.DRAINING.value)


@dataclass(frozen=True)
class Placement:
    """A tenant placed on a host, with the lease its session runs under."""

    host_id: str
    lease: Lease


def task_ref(host_id: str, tenant_id: str) -> str:
    """The tenant's task reference while it runs on a host."""
    return f"host:{host_id}:{tenant_id}"


def parse_ref(ref: str | None) -> tuple[str, str] | None:
    """(host id, tenant id) of a reference made by ``task_ref``; None for any other."""
    if not ref or not ref.startswith("host:"):
        return None
    parts = ref.split(":")
    return (parts[1], parts[2]) if len(parts) == 3 else None


def new_host(*, capacity: int, now_ms: int, host_id: str | None = None) -> HostModel:
    """Register a host that is about to be started (it takes tenants while STARTING)."""
    item = HostModel(
        host_id or "h_" + secrets.token_hex(6),
        HOST,
        status=HostStatus.STARTING.value,
        capacity=capacity,
        assigned=0,
        created_at=now_ms,
        heartbeat_at=now_ms,
    )
    if not put_new(item):
        raise ConcurrentUpdateError(f"host {item.host_id} exists")
    return item


def get_host(host_id: str) -> HostModel:
    """The host item (404 for an unknown host)."""
    try:
        return HostModel.get(host_id, HOST, consistent_read=True)
    except DoesNotExist:
        raise NotFoundError(f"host {host_id} not found") from None


def set_task_ref(host_id: str, ref: str) -> None:
    """Remember the task that runs the host (ARN or local pid)."""
    HostModel(host_id, HOST).update(actions=[HostModel.task_ref.set(ref)])


def all_hosts() -> list[HostModel]:
    """Every host item (placements skipped), oldest first."""
    found = HostModel.scan(HostModel.sk == HOST)
    return sorted(found, key=lambda h: int(h.created_at or 0))


def fleet() -> list[tuple[HostModel, list[str]]]:
    """Every host that is not gone, with the tenants placed on it: one Scan of the table."""
    found: dict[str, HostModel] = {}
    placed: dict[str, list[str]] = {}
    for item in HostModel.scan():
        if item.sk == HOST:
            found[item.host_id] = item
        else:
            placed.setdefault(item.host_id, []).append(item.sk.removeprefix(PLACED))
    return [
        (host, sorted(placed.get(host.host_id, [])))
        for host in sorted(found.values(), key=lambda h: int(h.created_at or 0))
        if host.status != HostStatus.GONE.value
    ]


def is_live(host: HostModel, *, now_ms: int, settings: Settings) -> bool:
    """Not gone, and heartbeating within the stale threshold (or, not heartbeating yet, for
    ``host_start_s`` since it was registered)."""
    if host.status not in ALIVE:
        return False
    if host.status == HostStatus.STARTING.value:
        limit = int(settings.host_start_s * 1000)
    else:
        limit = settings.stale_ms
    return now_ms - int(host.heartbeat_at or 0) <= limit


def place(host_id: str, lease: Lease, *, now_ms: int) -> None:
    """Put ``lease``'s tenant on the host. ``ConcurrentUpdateError`` when the host is full,
    not taking tenants, or already holds that tenant."""
    placed = HostModel(
        host_id,
        PLACED + lease.tenant_id,
        owner_id=lease.owner_id,
        epoch=lease.epoch,
        placed_at=now_ms,
    )
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                HostModel(host_id, HOST),
                actions=[HostModel.assigned.add(1)],
                condition=HostModel.status.is_in(*TAKING)
                & (HostModel.assigned < HostModel.capacity),
            )
            tx.save(placed, condition=HostModel.sk.does_not_exist())
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdateError(f"host {host_id} has no room") from exc
        raise


def release(host_id: str, tenant_id: str, *, epoch: int | None = None) -> bool:
    """Take the tenant off the host (only the placement of ``epoch``, when given). False if
    it was not there."""
    condition = HostModel.sk.exists()
    if epoch is not None:
        condition &= HostModel.epoch == epoch
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.delete(HostModel(host_id, PLACED + tenant_id), condition=condition)
            tx.update(HostModel(host_id, HOST), actions=[HostModel.assigned.add(-1)])
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def placements(host_id: str) -> tuple[HostModel | None, list[Placement]]:
    """The host item and its placements: one consistent Query of its partition."""
    host: HostModel | None = None
    placed: list[Placement] = []
    for item in HostModel.query(host_id, consistent_read=True):
        if item.sk == HOST:
            host = item
        elif item.sk.startswith(PLACED):
            tenant_id = item.sk.removeprefix(PLACED)
            placed.append(
                Placement(host_id, Lease(tenant_id, item.owner_id or "", int(item.epoch or 0)))
            )
    return host, placed


def heartbeat(
    host_id: str,
    *,
    now_ms: int,
    capacity: int,
    pss_mb: float,
    limit_mb: float,
    tenant_mb: dict[str, float],
    first: bool = False,
) -> HostModel:
    """The host is alive: its memory and the room it has left. The first one moves STARTING
    to RUNNING. ``ConcurrentUpdateError`` once the host is GONE (its tenants are elsewhere)."""
    actions: list[Action] = [
        HostModel.heartbeat_at.set(now_ms),
        HostModel.capacity.set(capacity),
        HostModel.pss_mb.set(round(pss_mb, 1)),
        HostModel.limit_mb.set(round(limit_mb)),
        HostModel.tenant_mb.set({k: round(v, 1) for k, v in tenant_mb.items()}),
    ]
    if first:
        condition = HostModel.status.is_in(*ALIVE)
    else:
        condition = HostModel.status.is_in(HostStatus.RUNNING.value, HostStatus.DRAINING.value)
    item = HostModel(host_id, HOST)
    try:
        item.update(actions=actions, condition=condition)
        if first and item.status == HostStatus.STARTING.value:
            item.update(
                actions=[HostModel.status.set(HostStatus.RUNNING.value)],
                condition=HostModel.status == HostStatus.STARTING.value,
            )
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdateError(f"host {host_id} is gone") from exc
        raise
    return item


def drain(host_id: str, reason: str, *, only_if_empty: bool = False) -> HostModel:
    """Stop placing tenants on the host; the host moves its tenants and exits. 404 for an
    unknown host, ``ConcurrentUpdateError`` if it is already draining or gone (or, with
    ``only_if_empty``, holds a tenant)."""
    get_host(host_id)
    item = HostModel(host_id, HOST)
    condition = HostModel.status.is_in(*TAKING)
    if only_if_empty:
        condition &= HostModel.assigned == 0
    try:
        item.update(
            actions=[
                HostModel.status.set(HostStatus.DRAINING.value),
                HostModel.reason.set(reason[:MAX_ERROR]),
            ],
            condition=condition,
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise ConcurrentUpdateError(f"host {host_id} is already draining or gone") from exc
        raise
    return item


def gone(host_id: str, reason: str, *, now_ms: int) -> bool:
    """Record that the host ended; False if that was already recorded."""
    try:
        HostModel(host_id, HOST).update(
            actions=[
                HostModel.status.set(HostStatus.GONE.value),
                HostModel.reason.set(reason[:MAX_ERROR]),
                HostModel.capacity.set(0),
                HostModel.expires_at.set(now_ms // 1000 + GONE_TTL_S),
            ],
            condition=HostModel.status.is_in(*ALIVE),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
