"""The staleness rule, shared by the reaper, the read path and the launcher."""

from __future__ import annotations

from chalicelib.domain.statuses import LIVE_WORKER, WorkerStatus


def is_stale(
    worker: WorkerStatus, heartbeat_at_ms: int | None, now_ms: int, stale_after_ms: int
) -> bool:
    """True when a worker that claims to be live has not heartbeated within the threshold."""
    if worker not in LIVE_WORKER:
        return False
    return heartbeat_at_ms is None or now_ms - heartbeat_at_ms > stale_after_ms


def stale_cutoff(now_ms: int, stale_after_ms: int) -> int:
    """Heartbeats strictly older than this are stale (the reaper's condition uses it)."""
    return now_ms - stale_after_ms
