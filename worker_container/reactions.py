"""What a page state and a message mean for the tenant: pure, unit-tested without a browser."""

from __future__ import annotations

import hashlib
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


def verdict(state: PageState) -> Verdict:
    """What ``state`` means, most serious first."""
    if state.logout_reason is not None:
        words = LOGOUT_WORDS.get(state.logout_reason, f"logged out ({state.logout_reason})")
        return Verdict(Health.LOGGED_OUT, f"{LOGGED_OUT}: {words}")
    if state.stream in BLOCKING_STREAMS:
        return Verdict(Health.BLOCKED, BLOCKING_STREAMS[state.stream])
    if state.stream == "CONFLICT":
        return Verdict(Health.CONFLICT, "WhatsApp Web was opened on another computer")
    if state.needs_update or state.stream == "DEPRECATED_VERSION":
        return Verdict(Health.DISCONNECTED, "WhatsApp Web asks for an update; reloading")
    if not state.main_ready:
        if state.authenticated and state.stream == "OFFLINE":
            return Verdict(Health.DISCONNECTED, "no connection to WhatsApp")
        return Verdict(Health.WAITING)
    if state.stream == "OFFLINE" or state.online is False:
        return Verdict(Health.DISCONNECTED, "no connection to WhatsApp")
    if state.stream != "MAIN" or state.stream_info not in (None, "NORMAL"):
        return Verdict(
            Health.DISCONNECTED, "connected but not receiving messages (the stream stalled)"
        )
    return Verdict(Health.CONNECTED)


def answerable(message: Inbound) -> bool:
    """Whether the bot answers ``message``: someone else's, new, decrypted, in a 1:1 chat."""
    if message.from_me or not message.is_new or message.kind == "ciphertext":
        return False
    return message.chat.endswith(("@c.us", "@lid"))


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
