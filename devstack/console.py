"""What ``make dev`` prints, one whole line at a time: its threads (the webhook receiver, the
reaper, the snapshot keeper) print while it starts, and ``print`` writes a line's text and its
newline apart, so another thread's line could land in between (the tests and scripts read the
``WAFLEET_READY`` line as JSON)."""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


def say(text: str) -> None:
    """Print ``text`` as one line, whole, and flush it."""
    with _lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
