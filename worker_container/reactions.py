"""What a page state and a message mean for the tenant: pure, unit-tested without a browser."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

from chalicelib.domain.words import LOGGED_OUT
from worker_container.engine import Inbound, PageState


class Health(Enum):
    """The session as the transition table needs it."""

    WAITING = "waiting"  # showing a code or syncing: nothing to report yet
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # reconnect manager: retry with backoff
    CONFLICT = "conflict"  # opened elsewhere: take over or stop, by policy
    LOGGED_OUT = "logged_out"  # only the owner can fix: a new code
    BLOCKED = "blocked"  # WhatsApp refuses this number: an operator must look


@dataclass(frozen=True)
class Verdict:
    """A health and, for anything but WAITING and CONNECTED, the cause in a tenant's words."""

    health: Health
    cause: str = ""


# wa-js LogoutReason values (whatsapp/enums/LogoutReason.d.ts) in words a shop owner reads.
LOGOUT_WORDS = {
    "user_initiated": "the phone logged this bot out (Linked devices)",
    "account_locked": "WhatsApp locked this account",
    "client_version_outdated": "WhatsApp Web was too old and logged out",
    "unknown_companion": "the phone no longer knows this device (linked again elsewhere?)",
    "primary_identity_key_change": "WhatsApp was reinstalled on the phone",
}

# StreamMode values that WhatsApp uses to refuse the account, not the connection.
BLOCKING_STREAMS = {
    "TOS_BLOCK": "WhatsApp blocked this number for breaking its terms",
    "SMB_TOS_BLOCK": "WhatsApp blocked this business number for breaking its terms",
    "PROXYBLOCK": "WhatsApp refuses connections from this network",
}


# The only message types answered (wa-js MSG_TYPE): what a person wrote, as text or as the
# caption of a picture, video or document. Everything else the site delivers as a "new
# message" (notification_template, e2e_notification, gp2, protocol, revoked, call_log,
# ciphertext until decrypted, stickers, voice notes, …) is never answered.
ANSWERED_TYPES = frozenset({"chat", "image", "video", "document"})


def verdict(state: PageState, *, stuck: bool = False) -> Verdict:
    """What ``state`` means, most serious first. ``stuck``: the page has been authenticated
    but not connected for longer than it may take to sync or resume."""
    if state.logout_reason is not None:
        words = LOGOUT_WORDS.get(state.logout_reason, f"logged out ({state.logout_reason})")
        return Verdict(Health.LOGGED_OUT, f"{LOGGED_OUT}: {words}")
    if state.stream in BLOCKING_STREAMS:
        return Verdict(Health.BLOCKED, BLOCKING_STREAMS[state.stream])
    if not state.authenticated:
        # QR, pairing code, opening: waiting for the owner's phone. Never a reason to reload:
        # that would replace the code the owner is scanning.
        return Verdict(Health.WAITING)
    if state.stream == "CONFLICT":
        return Verdict(Health.CONFLICT, "WhatsApp Web was opened on another computer")
    if state.needs_update or state.stream == "DEPRECATED_VERSION":
        return Verdict(Health.DISCONNECTED, "WhatsApp Web asks for an update; reloading")
    if state.stream == "OFFLINE" or state.online is False:
        return Verdict(Health.DISCONNECTED, "no connection to WhatsApp")
    if state.stream == "MAIN" and state.stream_info in (None, "NORMAL"):
        return Verdict(Health.CONNECTED)
    if stuck:
        return Verdict(
            Health.DISCONNECTED,
            f"connected but not receiving messages (WhatsApp Web stuck in "
            f"{state.stream or 'no stream'}/{state.stream_info or '-'})",
        )
    # SYNCING, RESUMING, OPENING, CONNECTING: on its way.
    return Verdict(Health.WAITING)


def answerable(message: Inbound) -> bool:
    """Whether the bot answers ``message``: someone else's, new, a type a person writes, in a
    1:1 chat (a picture's text is its caption, possibly empty)."""
    if message.from_me or not message.is_new or message.kind not in ANSWERED_TYPES:
        return False
    return message.chat.endswith(("@c.us", "@lid"))


def owner_wrote(message: Inbound) -> bool:
    """The account wrote ``message`` in a 1:1 chat and the bot did not: the owner on the
    phone (or another of their devices), taking the chat over."""
    return (
        message.from_me
        and message.is_new
        and message.chat.endswith(("@c.us", "@lid"))
        and not is_our_reply(message.id)
    )


def is_our_reply(message_id: str) -> bool:
    """Whether ``message_id`` has the shape of ``reply_id``'s ids (the bot's own sends)."""
    return re.fullmatch(r"3EB0[0-9A-F]{16}", message_id) is not None


def reply_id(inbound_id: str) -> str:
    """The message id of our reply to ``inbound_id``: the same after any restart, so a resend
    is the same message and a lookup finds it (shaped like WhatsApp Web's own ids)."""
    return "3EB0" + hashlib.sha256(inbound_id.encode()).hexdigest()[:16].upper()


def display_phone(phone: str | None) -> str | None:
    """A number as WhatsApp ids spell it (digits) in the form people write it (+digits)."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "+" + digits if digits else None
