"""The worker's own memory and its browser's, reported with every heartbeat."""

from __future__ import annotations

import psutil

MB = 1024 * 1024


def worker_rss_mb() -> float:
    """Resident memory of this Python process."""
    return psutil.Process().memory_info().rss / MB


def browser_pss_mb() -> float:
    """Proportional memory of the Chromium processes under this worker (shared pages split)."""
    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" not in child.name().lower():
                continue
            info = child.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / MB
