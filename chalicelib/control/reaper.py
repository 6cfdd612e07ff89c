"""The reaper: marks workers whose heartbeat went stale as ERROR, and restarts crashed ones.

One paginated Scan of the small tenants table (cheaper than a GSI on heartbeat time, which
would make every heartbeat write three times). Each mark is the conditional write of
invariant 2: it re-checks the staleness and the epoch, so a heartbeat that lands between
the Scan and the write wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from chalicelib.control import runtime, workers
from chalicelib.control.host_sweep import HostReport, check_hosts
from chalicelib.domain import words
from chalicelib.domain.errors import ConcurrentUpdateError, LeaseHeldError, WafleetError
from chalicelib.domain.liveness import is_stale, stale_cutoff
from chalicelib.domain.restart import restart_due
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Actor, Event
from chalicelib.store import tenants
from chalicelib.store.models import TenantModel

logger = logging.getLogger(__name__)


@dataclass
class ReapReport:
    """What one run did."""

    scanned: int = 0
    candidates: int = 0  # live and stale-looking (or crashed, with auto-restart)
    by_worker_status: dict[str, int] = field(default_factory=dict)  # the whole fleet
    by_session_state: dict[str, int] = field(default_factory=dict)  # the whole fleet
    linked_running: int = 0  # bots that run, should run and were linked: ought to be connected
    linked_connected: int = 0  # ... of which connected now
    waiting_for_update: int = 0  # running sessions on which WhatsApp Web does not load
    reaped: list[str] = field(default_factory=list)
    lost_race: list[str] = field(default_factory=list)  # a heartbeat landed first
    restarted: list[str] = field(default_factory=list)
    hosts: HostReport = field(default_factory=HostReport)  # hosts lost and drained


def reap(*, auto_restart: bool = False, page_size: int = 500) -> ReapReport:
    """One reaper run over every tenant."""
    rt = runtime.get()
    now = rt.clock.now_ms()
    stale_ms = rt.settings.stale_ms
    cutoff = stale_cutoff(now, stale_ms)
    report = ReapReport()
    # Hosts first: a lost host's tenants are moved now, not left to go stale.
    report.hosts = check_hosts()
    # No filter: a Scan is billed on the items it reads, filtered or not, and reading them all
    # lets the run count the fleet by worker status (the dashboard) at no extra cost.
    for item in TenantModel.scan(page_size=page_size):
        report.scanned += 1
        worker = WorkerStatus(item.worker_status)
        state = item.session_state or SessionState.DISCONNECTED.value
        heartbeat = int(item.heartbeat_at) if item.heartbeat_at is not None else None
        if is_stale(worker, heartbeat, now, stale_ms):
            report.candidates += 1
            if _mark_stale(item, now, cutoff, report):  # counted as this run leaves it
                worker, state = WorkerStatus.ERROR, SessionState.DISCONNECTED.value
        elif auto_restart and worker is WorkerStatus.ERROR:
            report.candidates += 1
            _maybe_restart(item, now, report)
        report.by_worker_status[worker.value] = report.by_worker_status.get(worker.value, 0) + 1
        _count_session(item, worker, state, report)
        if item.tenant_status == TenantStatus.ERROR.value and item.desired != "STOP":
            _maybe_alert(item, now, rt.settings)
    logger.info(
        "reaper run",
        extra={
            "scanned": report.scanned,
            "reaped": len(report.reaped),
            "restarted": len(report.restarted),
        },
    )
    return report


def connected_share(report: ReapReport) -> float:
    """Of the bots that run, should run and were linked, the percentage connected (100 when
    there are none: nothing is wrong with an empty fleet)."""
    if not report.linked_running:
        return 100.0
    return round(100.0 * report.linked_connected / report.linked_running, 1)


def _count_session(item: TenantModel, worker: WorkerStatus, state: str, report: ReapReport) -> None:
    report.by_session_state[state] = report.by_session_state.get(state, 0) + 1
    if worker is not WorkerStatus.RUNNING or item.desired == "STOP":
        return
    if item.linked_at is not None:
        report.linked_running += 1
        report.linked_connected += state == SessionState.CONNECTED.value
    if (item.last_error or "").startswith(words.WHATSAPP_CHANGED):
        report.waiting_for_update += 1


def _mark_stale(item: TenantModel, now: int, cutoff: int, report: ReapReport) -> bool:
    """Mark a stale worker ERROR; False when something else changed it first."""
    guard = tenants.guard_of(item, heartbeat_before_ms=cutoff)
    try:
        tenants.transition(
            item.tenant_id, Event.STALE, Actor.REAPER, guard, now_ms=now, detail="heartbeat stale"
        )
    except ConcurrentUpdateError:
        report.lost_race.append(item.tenant_id)
        return False
    report.reaped.append(item.tenant_id)
    # Its placement stays: the revoked lease ends the session at its next write, and its host
    # takes it off then; if the host has gone silent too, the host sweep finds the placement
    # and moves the tenant (taking it off here would leave a lost host nothing to move).
    return True


def _maybe_alert(item: TenantModel, now: int, settings: Any) -> None:
    """Mail the owner once an ERROR has lasted ``alert_error_after_s`` (checked in a window
    of two reaper runs after that; the mail's own throttle makes a second look harmless)."""
    since = int(item.last_error_at or item.updated_at or now)
    after = int(settings.alert_error_after_s * 1000)
    if not after <= now - since < after + 2 * int(settings.reaper_s * 1000):
        return
    from chalicelib.notify import alerts

    try:
        alerts.notify(item.tenant_id, "not_answering")
    except Exception:
        logger.exception("owner alert failed", extra={"tenant_id": item.tenant_id})


def _maybe_restart(item: TenantModel, now: int, report: ReapReport) -> None:
    """Crash-loop backoff; never for a paused tenant or one an operator stopped."""
    if item.desired == "STOP" or item.tenant_status == TenantStatus.PAUSED.value:
        return
    logged_out = words.logged_out(item.last_event, item.last_error)
    decision = restart_due(
        now_ms=now,
        failed_at_ms=int(item.last_error_at or item.updated_at or 0),
        started_at_ms=int(item.started_at) if item.started_at is not None else None,
        restarts=int(item.restarts or 0),
        logged_out=logged_out,
    )
    if decision is None:
        return
    detail = (
        "restarted to show a new code" if logged_out else f"automatic restart #{decision.attempt}"
    )
    try:
        workers.start(item.tenant_id, detail=detail, actor=Actor.LAUNCHER)
    except (LeaseHeldError, WafleetError) as exc:
        logger.warning(
            "automatic restart failed",
            extra={"tenant_id": item.tenant_id, "error": type(exc).__name__},
        )
        return
    tenants.record_restart(item.tenant_id, restarts=decision.attempt, now_ms=now)
    report.restarted.append(item.tenant_id)
