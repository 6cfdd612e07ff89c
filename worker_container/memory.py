"""The worker's own memory and CPU and its browser's, reported with every heartbeat."""

from __future__ import annotations

from pathlib import Path

import psutil

MB = 1024 * 1024


def worker_rss_mb() -> float:
    """Resident memory of this Python process."""
    return psutil.Process().memory_info().rss / MB


def _pss(process: psutil.Process) -> int:
    try:
        info = process.memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0
    return int(getattr(info, "pss", info.rss))


def _tree(process: psutil.Process) -> list[psutil.Process]:
    """``process`` and everything under it."""
    try:
        return [process, *process.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _browser_tree(profile: Path) -> list[psutil.Process]:
    """The browser running on ``profile`` and its renderers: one tenant's, also when a host
    runs several (none when no browser runs there)."""
    flag = f"--user-data-dir={profile}"
    for child in psutil.Process().children(recursive=True):
        try:
            if flag in child.cmdline():
                return _tree(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return []


def browser_pss_mb(profile: Path) -> float:
    """Proportional memory (shared pages split) of the browser running on ``profile``."""
    return sum(_pss(p) for p in _browser_tree(profile)) / MB


def process_tree_pss_mb() -> float:
    """This process and everything under it (a host's total: Python, Playwright, browsers)."""
    return sum(_pss(p) for p in _tree(psutil.Process())) / MB


def _cpu_s(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    return float(times.user + times.system)


def browser_cpu_s(profile: Path) -> float:
    """CPU seconds the browser running on ``profile`` and its renderers used so far."""
    return sum(_cpu_s(p) for p in _browser_tree(profile))


def process_tree_cpu_s() -> float:
    """CPU seconds this process and everything under it used so far (children still running;
    a relaunched browser's old ones drop out)."""
    return sum(_cpu_s(p) for p in _tree(psutil.Process()))


class CpuRate:
    """CPU used between two readings of a cumulative counter, as a share of one core."""

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None  # (cpu seconds, wall seconds)

    def share(self, cpu_s: float, wall_s: float) -> float | None:
        """None at the first reading (or after the counter went back: a new browser)."""
        last, self._last = self._last, (cpu_s, wall_s)
        if last is None or cpu_s < last[0] or wall_s <= last[1]:
            return None
        return (cpu_s - last[0]) / (wall_s - last[1])
