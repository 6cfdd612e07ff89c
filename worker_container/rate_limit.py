"""Per-tenant token bucket: bursts up to ``capacity`` replies, then ``rate_per_s`` on average."""

from __future__ import annotations

from chalicelib.domain.clock import Clock


class TokenBucket:
    """A token bucket on an injected clock; ``rate_per_s <= 0`` disables limiting."""

    def __init__(self, clock: Clock, rate_per_s: float, capacity: int) -> None:
        self._clock = clock
        self.rate_per_s = rate_per_s
        self.capacity = max(capacity, 1)
        self._tokens = float(self.capacity)
        self._at = clock.now_ms()

    def _refill(self) -> None:
        now = self._clock.now_ms()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) / 1000 * self.rate_per_s)
        self._at = now

    def take(self) -> float:
        """Take a token if there is one: returns 0, else the seconds until one is due."""
        if self.rate_per_s <= 0:
            return 0.0
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate_per_s
