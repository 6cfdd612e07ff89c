"""What the worker needs from a WhatsApp Web engine, in the worker's own words.

The worker sees events (a code to show, linked, ready, a message, an ack, the connection
changed, the page was lost) and a few actions (send, look a message up, read recent messages,
refresh the code, ask for a pairing code, take the session back, probe). Only the engine
module (``wajs.py``) knows that there is a browser and that the page speaks wa-js.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Inbound:
    """A message as WhatsApp delivered it.

    ``id`` is the message key id: it stays the same when a chat moves from a phone-number id
    (``…@c.us``) to a LID (``…@lid``), so it is what de-duplicates. ``chat`` is where a reply
    goes; ``phone`` is the sender's number when WhatsApp tells it.
    """

    id: str
    chat: str
    text: str
    at_ms: int
    from_me: bool = False
    is_new: bool = True  # False: delivered by the history sync, never to be answered
    kind: str = "chat"  # wa-js MSG_TYPE; "ciphertext" until decrypted; media: text is the caption
    phone: str | None = None


@dataclass(frozen=True)
class PageState:
    """Where the page stands (from events, or from a probe)."""

    loaded: bool = False  # the library is ready in the page
    authenticated: bool = False  # this browser holds a linked login (wa-js isAuthenticated)
    stream: str | None = None  # wa-js StreamMode: QR, MAIN, SYNCING, OFFLINE, CONFLICT, …
    stream_info: str | None = None  # wa-js StreamInfo: NORMAL, OPENING, PAIRING, RESUMING, …
    online: bool | None = None
    needs_update: bool = False
    logout_reason: str | None = None


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeShown:
    """The page shows a code to link with: a QR payload or an 8-character pairing code."""

    kind: str  # "qr" or "pairing"
    code: str
    made_at_ms: int  # when the page got it (the page's clock)


@dataclass(frozen=True)
class CodesRanOut:
    """The page stopped rotating codes (the user would have to click "reload")."""

    kind: str


@dataclass(frozen=True)
class Linked:
    """A code was accepted by the phone; the page is syncing."""


@dataclass(frozen=True)
class StateChanged:
    """The connection changed (stream mode, online, ready, needs update, logged out)."""

    state: PageState


@dataclass(frozen=True)
class MessageArrived:
    """A message reached the page (ours included: the reactions decide what to answer)."""

    message: Inbound


@dataclass(frozen=True)
class Acked:
    """WhatsApp acknowledged messages: 1 server, 2 delivered, 3 read (wa-js ACK)."""

    ids: tuple[str, ...]
    ack: int


@dataclass(frozen=True)
class PageLost:
    """The page crashed, hung, closed or never loaded the library."""

    reason: str


NOT_LOADED = "WhatsApp Web did not load"
"""How a ``PageLost`` reason starts when wa-js never became ready on the page: what a
change of WhatsApp Web that the pinned wa-js does not know yet looks like."""


PageEvent = CodeShown | CodesRanOut | Linked | StateChanged | MessageArrived | Acked | PageLost


@dataclass(frozen=True)
class File:
    """A picture or document to send."""

    data: bytes
    mimetype: str
    name: str


@dataclass(frozen=True)
class Sent:
    """A send the page accepted: its message id and the ack it has so far."""

    id: str
    ack: int


class Engine(Protocol):
    """One tenant's WhatsApp Web session."""

    async def start(
        self, profile: Path, on_event: Callable[[PageEvent], None], pinned: Path | None = None
    ) -> None:
        """Open the browser on ``profile`` and the site (or, ``pinned``, that WhatsApp Web
        version's page in place of the site's); events go to ``on_event``."""
        ...

    async def reload(self) -> None:
        """Reload the site (a reconnect attempt)."""
        ...

    async def close(self) -> None:
        """Close the browser (the profile stays on disk)."""
        ...

    async def stop(self) -> None:
        """Close the browser and release everything the engine holds (at exit)."""
        ...

    async def probe(self) -> PageState:
        """Ask the page where it stands; raises when it does not answer in time."""
        ...

    async def refresh_code(self) -> None:
        """Start a fresh QR rotation."""
        ...

    async def request_pairing_code(self, phone: str) -> None:
        """Link by phone number: pairing codes for ``phone`` arrive as ``CodeShown``."""
        ...

    async def my_number(self) -> str | None:
        """The phone number this page is linked to ("+<digits>"), if the page tells it."""
        ...

    async def back_to_qr(self) -> None:
        """End the phone-number linking flow and show QR codes again."""
        ...

    async def take_over(self) -> None:
        """Use WhatsApp here after it was opened elsewhere."""
        ...

    async def send(
        self, chat: str, text: str, message_id: str, typing_ms: int = 0, file: File | None = None
    ) -> Sent:
        """Mark ``chat`` read, show "typing…" for ``typing_ms``, then send ``text`` with our own
        message id (so a retry is the same message); with ``file``, the file with ``text`` as
        its caption."""
        ...

    async def ack_of(self, chat: str, message_id: str) -> int | None:
        """The ack of a message we sent, or None when the page has no such message."""
        ...

    async def recent(self, since_ms: int, per_chat: int) -> list[Inbound]:
        """Their messages newer than ``since_ms`` in every chat, read or not."""
        ...

    async def phone_of(self, chat: str) -> str | None:
        """The phone number behind a chat id (LIDs hide it), when WhatsApp knows it."""
        ...
