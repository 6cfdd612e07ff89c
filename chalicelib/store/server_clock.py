"""Time as DynamoDB sees it: the local clock corrected by the ``Date`` of DynamoDB's answers.

Heartbeats are judged stale by comparing their timestamps with the reaper's clock. A worker
whose clock is behind would look dead while alive (the reaper would kill it), one ahead would
look alive while hung. Every DynamoDB response carries the server's time (1 s resolution),
so the worker measures its offset on the requests it makes anyway and corrects for it.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any

from chalicelib.domain.clock import Clock

MIN_CORRECTION_MS = 1500  # the Date header has 1 s resolution: smaller offsets are noise


class ServerClock:
    """``base`` plus the median offset to the server seen in the last responses."""

    def __init__(self, base: Clock, samples: int = 15) -> None:
        self._base = base
        self._offsets: deque[int] = deque(maxlen=samples)
        self._lock = threading.Lock()

    @property
    def offset_ms(self) -> int:
        """The correction applied now (0 until the offset is clearly more than noise)."""
        with self._lock:
            if not self._offsets:
                return 0
            median = int(statistics.median(self._offsets))
        return median if abs(median) >= MIN_CORRECTION_MS else 0

    def now_ms(self) -> int:
        """Local time, corrected to the server's."""
        return self._base.now_ms() + self.offset_ms

    def observe(self, server_date: str, local_ms: int) -> None:
        """Record one response's ``Date`` header received at ``local_ms``."""
        try:
            server_ms = int(parsedate_to_datetime(server_date).timestamp() * 1000)
        except (TypeError, ValueError):
            return
        # The header is truncated to the second: its middle is the best estimate.
        with self._lock:
            self._offsets.append(server_ms + 500 - local_ms)

    def attach(self, client: Any) -> None:
        """Listen to every response of a botocore client."""

        def on_response(http_response: Any = None, **_: Any) -> None:
            date = getattr(http_response, "headers", {}).get("Date")
            if date:
                self.observe(date, self._base.now_ms())

        client.meta.events.register("after-call.dynamodb", on_response)
