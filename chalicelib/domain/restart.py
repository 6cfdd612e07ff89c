"""Crash-loop backoff for automatic restarts, as Kubernetes does it: 10 s doubling to 5 min,
reset once a worker has stayed up for 10 min."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_DELAY_MS = 10_000
MAX_DELAY_MS = 300_000
HEALTHY_RESET_MS = 600_000


@dataclass(frozen=True)
class RestartDecision:
    """Restart now, as attempt ``attempt`` of the current crash loop."""

    attempt: int


def backoff_ms(restarts: int) -> int:
    """Delay before the next restart after ``restarts`` restarts in a row."""
    return int(min(MAX_DELAY_MS, FIRST_DELAY_MS * 2**restarts))


def _in_loop(failed_at_ms: int, started_at_ms: int | None, restarts: int) -> int:
    ran_ms = failed_at_ms - started_at_ms if started_at_ms is not None else 0
    return 0 if ran_ms >= HEALTHY_RESET_MS else restarts  # healthy long enough: a new loop


def restart_at(
    *, failed_at_ms: int, started_at_ms: int | None, restarts: int, logged_out: bool = False
) -> int:
    """When a worker that failed at ``failed_at_ms`` is due for its automatic restart. A
    logout is not a crash: the owner needs a new code now, not after earlier crashes' backoff."""
    if logged_out:
        return failed_at_ms
    return failed_at_ms + backoff_ms(_in_loop(failed_at_ms, started_at_ms, restarts))


def restart_due(
    *,
    now_ms: int,
    failed_at_ms: int,
    started_at_ms: int | None,
    restarts: int,
    logged_out: bool = False,
) -> RestartDecision | None:
    """Whether a failed worker should be restarted now (a logout does not count as a crash)."""
    due = restart_at(
        failed_at_ms=failed_at_ms,
        started_at_ms=started_at_ms,
        restarts=restarts,
        logged_out=logged_out,
    )
    if now_ms < due:
        return None
    loop = _in_loop(failed_at_ms, started_at_ms, restarts)
    return RestartDecision(loop if logged_out else loop + 1)
