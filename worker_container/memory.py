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


def browser_pss_mb(profile: Path | None = None) -> float:
    """Proportional memory (shared pages split) of the Chromium processes under this process:
    all of them, or only the browser running on ``profile`` and its renderers (one tenant of
    a host)."""
    children = psutil.Process().children(recursive=True)
    if profile is None:
        chromium = [c for c in children if _is_chromium(c)]
        return sum(_pss(c) for c in chromium) / MB
    flag = f"--user-data-dir={profile}"
    for child in children:
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


def _is_chromium(process: psutil.Process) -> bool:
    try:
        return "chrom" in process.name().lower()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
