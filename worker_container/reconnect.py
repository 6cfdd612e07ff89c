"""Reconnect backoff: exponential with full jitter, capped, with a maximum attempt count."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delay before attempt ``n`` (1-based) is uniform in [0, min(cap, base * 2**(n-1))]."""

    base_s: float = 2.0
    cap_s: float = 60.0
    max_attempts: int = 10

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before ``attempt``, or None when attempts are exhausted."""
        if attempt > self.max_attempts:
            return None
        ceiling: float = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        # Full jitter spreads a fleet's reconnects after a shared outage (no storms).
        return max(0.05, ceiling * float(rand()))
