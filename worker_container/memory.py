"""The worker's own memory and its browser's, reported with every heartbeat."""

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


def browser_pss_mb(profile: Path) -> float:
    """Proportional memory (shared pages split) of the browser running on ``profile`` and its
    renderers: one tenant's, also when a host runs several."""
    flag = f"--user-data-dir={profile}"
    for child in psutil.Process().children(recursive=True):
        try:
            if flag in child.cmdline():
                return (_pss(child) + sum(_pss(c) for c in child.children(recursive=True))) / MB
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return 0.0


def process_tree_pss_mb() -> float:
    """This process and everything under it (a host's total: Python, Playwright, browsers)."""
    me = psutil.Process()
    return (_pss(me) + sum(_pss(c) for c in me.children(recursive=True))) / MB
