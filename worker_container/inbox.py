"""Which of their messages in the open chat still need an answer."""

from __future__ import annotations

from collections.abc import Container

from worker_container.whatsapp_page import Inbound, Screen


class ChatCursor:
    """Remembers, for the open chat, the last bubble it showed when the worker first saw it.

    Their messages after our last reply at that moment are unanswered; so is any message that
    appears after that bubble later, even when a reply of ours lands below it first. Older
    history that WhatsApp Web loads later (above the mark) is never answered.
    """

    def __init__(self) -> None:
        self.peer: str | None = None
        self.mark: str | None = None

    def new_inbound(self, screen: Screen, handled: Container[str]) -> list[Inbound]:
        """Their messages in ``screen``'s open chat that are not in ``handled``."""
        if screen.open_peer is None:
            return []
        if screen.open_peer != self.peer:
            pending = {m.id for m in screen.pending}
            earlier = [b.id for b in screen.bubbles if b.id not in pending]
            self.peer, self.mark = screen.open_peer, (earlier[-1] if earlier else None)
        ids = [b.id for b in screen.bubbles]
        start = ids.index(self.mark) + 1 if self.mark in ids else 0
        return [b.inbound() for b in screen.bubbles[start:] if not b.out and b.id not in handled]
