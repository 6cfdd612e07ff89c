"""The canary: an operator's tenant that writes to another tenant of the platform (its peer)
every few minutes, the peer's bot answering through the same path as any reply. What comes
back, and how fast, says whether WhatsApp Web still works for the fleet: a probe WhatsApp
acknowledged but nobody answered, a probe never acknowledged, a page not ready.

The texts are the platform's own (no business fact), and only the two numbers paired by an
operator use them: a peer answers probes from its canary's number only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PROBE = "wafleet canary {id}"
ANSWER = "wafleet canary ok {id}"
_ID = r"([0-9a-f]{16})"


def probe_of(text: str) -> str | None:
    """The probe id if ``text`` is a canary's probe."""
    found = re.fullmatch(r"wafleet canary " + _ID, text.strip())
    return found.group(1) if found else None


def answer_of(text: str) -> str | None:
    """The probe id if ``text`` is a peer's answer to a probe."""
    found = re.fullmatch(r"wafleet canary ok " + _ID, text.strip())
    return found.group(1) if found else None


@dataclass(frozen=True)
class Result:
    """One probe: answered (and how fast), and whether WhatsApp's server took the probe."""

    ok: bool
    round_trip_ms: int | None
    server_ack: bool
    timeout_s: float

    @property
    def detail(self) -> str:
        """For the history and the admin page."""
        if self.ok:
            return f"answered in {self.round_trip_ms} ms"
        taken = "WhatsApp took the probe" if self.server_ack else "WhatsApp never took the probe"
        return f"no answer within {self.timeout_s:g} s ({taken})"
