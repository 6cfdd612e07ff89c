"""Hosts seen from the control plane: a host that ended has its tenants moved, a drained
tenant moves to a host with room, the reaper finds hosts that went silent and idle ones.

Every move is the ordinary start of a worker (a new lease through the transition table),
after the old session's end is recorded; the saved login comes along, so no new code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chalicelib.control import runtime, workers
from chalicelib.domain.errors import NotFoundError, WafleetError
from chalicelib.domain.statuses import LIVE_WORKER
from chalicelib.domain.transitions import Actor
from chalicelib.domain.values import Lease
from chalicelib.store import hosts, tenants

logger = logging.getLogger(__name__)


def _should_run(tenant_id: str, host_id: str) -> bool:
    """The tenant wants a worker and nothing else has started one since it left ``host_id``."""
    try:
        item = tenants.get_tenant(tenant_id, consistent=True)
    except NotFoundError:
        return False
    placed = hosts.parse_ref(item.task_ref)
    return (
        item.desired != "STOP"
        and item.worker_status not in {s.value for s in LIVE_WORKER}
        and (placed is None or placed[0] == host_id)
    )


def _start_elsewhere(tenant_id: str, host_id: str, reason: str) -> bool:
    if not _should_run(tenant_id, host_id):
        return False
    try:
        workers.start(tenant_id, detail=f"moved off host {host_id}: {reason}", actor=Actor.LAUNCHER)
    except WafleetError as exc:
        logger.warning(
            "move failed", extra={"tenant_id": tenant_id, "host_id": host_id, "error": exc.code}
        )
        return False
    return True


def move_off(host_id: str, lease: Lease, *, reason: str) -> bool:
    """A draining host's session has stopped: start it on another host with room. Without
    room the placement stays, for ``host_lost`` to move once the host has exited."""
    launcher = workers.launcher()
    has_room = getattr(launcher, "has_room", None)
    if has_room is None or not has_room(exclude=host_id):
        return False
    hosts.release(host_id, lease.tenant_id, epoch=lease.epoch)
    return _start_elsewhere(lease.tenant_id, host_id, reason)


def host_lost(host_id: str, reason: str) -> list[str]:
    """The host's task ended (exit, kill, Spot reclaim, stale heartbeat): record each of its
    sessions' end, and start each tenant that should run on another host. Returns the
    tenants moved. Safe to call twice."""
    rt = runtime.get()
    hosts.gone(host_id, reason, now_ms=rt.clock.now_ms())
    _, placed = hosts.placements(host_id)
    moved = []
    for placement in placed:
        lease = placement.lease
        workers.worker_exited(lease.tenant_id, lease.epoch, f"host {host_id} lost: {reason}")
        hosts.release(host_id, lease.tenant_id, epoch=lease.epoch)
        if _start_elsewhere(lease.tenant_id, host_id, reason):
            moved.append(lease.tenant_id)
    logger.info("host lost", extra={"host_id": host_id, "moved": len(moved)})
    return moved


@dataclass
class HostReport:
    """What a reaper run did to hosts."""

    live: int = 0
    lost: list[str] = field(default_factory=list)
    drained: list[str] = field(default_factory=list)


def check_hosts() -> HostReport:
    """Hosts whose heartbeat went stale are lost (their task is stopped, best effort); of
    the empty RUNNING hosts, all but one are drained (scale-in: the last one stays as the
    spare that makes the next start fast)."""
    rt = runtime.get()
    now = rt.clock.now_ms()
    report = HostReport()
    start_ms = int(rt.settings.host_start_s * 1000)
    for host in hosts.all_hosts():
        if host.status == hosts.HostStatus.GONE.value:
            continue
        if not hosts.is_live(host, now_ms=now, stale_ms=rt.settings.stale_ms, start_ms=start_ms):
            host_lost(host.host_id, "heartbeat stale")
            report.lost.append(host.host_id)
            _stop_task(host.task_ref, "heartbeat stale")
    # Read again: the lost hosts' tenants went somewhere.
    empty: list[str] = []
    for host in hosts.all_hosts():
        if host.status in hosts.ALIVE:
            report.live += 1
        if host.status == hosts.HostStatus.RUNNING.value and int(host.assigned or 0) == 0:
            empty.append(host.host_id)
    for host_id in empty[1:]:
        try:
            hosts.drain(host_id, "idle: no tenants", only_if_empty=True)
            report.drained.append(host_id)
        except WafleetError:
            continue  # took a tenant or started draining meanwhile
    return report


def _stop_task(ref: str | None, reason: str) -> None:
    runner = getattr(workers.launcher(), "runner", None)
    if ref and runner is not None:
        try:
            runner.stop_host(ref, reason)
        except Exception:
            logger.warning("stop of a lost host's task failed", extra={"task": ref})
