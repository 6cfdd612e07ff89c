"""Start, stop and restart a tenant's worker, and react when one exits (or when the host that
ran it did: its tenants move to other hosts)."""

from __future__ import annotations

import logging

from chalicelib.control import runtime
from chalicelib.domain.errors import ConcurrentUpdateError, NotFoundError, WafleetError
from chalicelib.domain.statuses import LIVE_WORKER, WorkerStatus
from chalicelib.domain.transitions import Actor, Event
from chalicelib.domain.values import Lease
from chalicelib.launch.base import HostRunner, Launcher, LaunchError
from chalicelib.store import hosts, setup_requests, tenants

logger = logging.getLogger(__name__)


def launcher() -> Launcher:
    """The runtime's launcher, built on first use: the placer that puts tenants on hosts, and
    starts hosts as ECS tasks (AWS) or child processes (locally) when none has room."""
    rt = runtime.get()
    if rt.launcher is None:
        from chalicelib.launch.placer import HostPlacer

        runner: HostRunner
        if rt.settings.launcher == "ecs":
            from chalicelib.launch.ecs import EcsHosts

            runner = EcsHosts(rt.settings)
        else:
            from chalicelib.launch.local import LocalHosts

            runner = LocalHosts(rt.settings.as_env(), on_host_exit=host_exited)
        rt.launcher = HostPlacer(rt.settings, rt.clock, runner=runner)
    return rt.launcher


def host_exited(host_id: str, reason: str) -> None:
    """A host's task ended (the local launcher's callback): its tenants move."""
    host_lost(host_id, reason)


def start(tenant_id: str, *, detail: str | None = None, actor: Actor = Actor.OPERATOR) -> Lease:
    """Take the lease (409 if a live worker holds it) and launch a worker that carries it."""
    rt = runtime.get()
    now = rt.clock.now_ms()
    if actor is Actor.OPERATOR:  # an operator's start lifts an operator's stop
        tenants.set_desired(tenant_id, "RUN", now_ms=now)
    lease = tenants.acquire_lease(
        tenant_id, now_ms=now, stale_after_ms=rt.settings.stale_ms, actor=actor, detail=detail
    )
    try:
        ref = launcher().launch(lease)
    except Exception as exc:
        detail = (
            str(exc) if isinstance(exc, LaunchError) else f"launch failed: {type(exc).__name__}"
        )
        worker_exited(tenant_id, lease.epoch, detail)
        raise LaunchError(detail) from exc
    tenants.set_task_ref(lease, ref)
    return lease


def stop(tenant_id: str, *, actor: Actor = Actor.OPERATOR) -> None:
    """Remember the operator's STOP, record STOPPED at once, and ask the worker to exit.

    The STOPPED write revokes the lease, so even a worker slow to die can write (or reply)
    nothing more.
    """
    rt = runtime.get()
    now = rt.clock.now_ms()
    tenants.set_desired(tenant_id, "STOP", now_ms=now)
    item = tenants.get_tenant(tenant_id, consistent=True)
    if item.worker_status != WorkerStatus.STOPPED.value:
        tenants.apply_event(
            tenant_id, Event.STOPPED, actor, now_ms=now, known=item, detail="stopped by operator"
        )
    if item.task_ref and item.worker_status in {s.value for s in LIVE_WORKER}:
        launcher().stop(item.task_ref, "stopped by operator")


def restart(tenant_id: str) -> Lease:
    """Stop whatever runs (if anything), then start a fresh worker with a new lease."""
    item = tenants.get_tenant(tenant_id, consistent=True)
    if item.worker_status != WorkerStatus.STOPPED.value:
        stop(tenant_id)
    return start(tenant_id)


def worker_exited(tenant_id: str, epoch: int, reason: str) -> None:
    """A session of ``epoch`` ended (its host said so, or its host was lost): record it unless
    it already did.

    Idempotent: a duplicate or late report for an older epoch, or for a worker that wrote
    STOPPED itself, changes nothing. An exit the operator asked for is STOPPED; any other
    is CRASHED, with the exit reason as last error.
    """
    rt = runtime.get()
    for _ in range(3):
        try:
            item = tenants.get_tenant(tenant_id, consistent=True)
        except NotFoundError:
            return
        if int(item.lease_epoch) != epoch or item.worker_status not in {
            s.value for s in LIVE_WORKER
        }:
            return
        event = Event.STOPPED if item.desired == "STOP" else Event.CRASHED
        guard = tenants.guard_of(item)
        try:
            tenants.transition(
                tenant_id, event, Actor.LAUNCHER, guard, now_ms=rt.clock.now_ms(), detail=reason
            )
            logger.info(
                "worker exit recorded",
                extra={"tenant_id": tenant_id, "epoch": epoch, "event": event.value},
            )
            return
        except ConcurrentUpdateError:
            continue


def session_logged_out(tenant_id: str) -> None:
    """WhatsApp logged the session out (its history entry, from the stream): linking starts
    over from the QR code."""
    tenants.request_pairing_code(tenant_id, None, now_ms=runtime.get().clock.now_ms())


def session_linked(tenant_id: str) -> bool:
    """A worker reported READY (its history entry, from the stream): the control plane's part
    of it. An APPROVED setup request becomes ACTIVE; True if this call did it."""
    return setup_requests.activate(tenant_id, now_ms=runtime.get().clock.now_ms())


# --- hosts: every move is the ordinary start of a worker (a new lease through the transition
# table) after the old session's end is recorded; the saved login comes along, no new code.


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
        start(tenant_id, detail=f"moved to another server: {reason}", actor=Actor.LAUNCHER)
    except WafleetError as exc:
        logger.warning(
            "move failed", extra={"tenant_id": tenant_id, "host_id": host_id, "error": exc.code}
        )
        return False
    return True


def move_off(host_id: str, lease: Lease, *, reason: str) -> bool:
    """A draining host's session has stopped: start it on another host with room. Without
    room the placement stays, for ``host_lost`` to move once the host has exited."""
    has_room = getattr(launcher(), "has_room", None)
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
        worker_exited(lease.tenant_id, lease.epoch, f"host {host_id} lost: {reason}")
        hosts.release(host_id, lease.tenant_id, epoch=lease.epoch)
        if _start_elsewhere(lease.tenant_id, host_id, reason):
            moved.append(lease.tenant_id)
    logger.info("host lost", extra={"host_id": host_id, "moved": len(moved)})
    return moved
