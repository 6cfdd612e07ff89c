"""Whether the bot may answer in a chat, decided from the chat's own record: a person took the
chat over from the phone, the customer opted out, or the bot already answered that contact
often this hour (another bot at the other end). One pure function, for the worker and tests.

A takeover is the owner writing in the chat from the phone (a message of the account that the
bot did not send): the bot stays silent there for ``TAKEOVER_MS``. "STOP" (and its usual
translations) ends automated replies to that contact until "START"; each is confirmed once.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

TAKEOVER_MS = 12 * 3600 * 1000
HOUR_MS = 3600 * 1000
LOOP_LIMIT = 10  # automated replies to one contact per hour at most
STOP_WORDS = frozenset({"stop", "stopp", "unsubscribe", "arret", "alto", "basta", "parar"})
START_WORDS = frozenset({"start", "unstop", "subscribe"})
STOPPED_TEXT = "You will get no more automatic replies. Write START to get them again."
STARTED_TEXT = "Automatic replies are on again. Write STOP to turn them off."


class Action(StrEnum):
    """What the bot does with one customer message."""

    ANSWER = "answer"
    CONFIRM_STOP = "confirm_stop"
    CONFIRM_START = "confirm_start"
    SILENT = "silent"


# What the bot says to confirm a STOP or a START (the platform's words, no business fact).
CONFIRMATIONS = {Action.CONFIRM_STOP: STOPPED_TEXT, Action.CONFIRM_START: STARTED_TEXT}


@dataclass(frozen=True)
class ChatRecord:
    """What the store keeps about one chat."""

    taken_over_until: int | None = None
    opted_out: bool = False
    replies: tuple[int, ...] = ()  # when automated replies went out in the last hour (ms)
    greeted_at: int | None = None  # when the owner's greeting last went to this contact
    away_for: int | None = None  # the closed period (when it ends) the away message was for


@dataclass(frozen=True)
class Choice:
    """The decision, why (for the message log), and the chat's record after it."""

    action: Action
    reason: str
    record: ChatRecord


def _word(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.strip().strip(".!").lower()


def decide(
    text: str,
    record: ChatRecord,
    *,
    now_ms: int,
    limit: int = LOOP_LIMIT,
    stop_words: frozenset[str] = STOP_WORDS,
    start_words: frozenset[str] = START_WORDS,
) -> Choice:
    """What to do with a customer's ``text`` in a chat with ``record`` (the owner may have
    their own stop and start words, and their own hourly limit)."""
    recent = tuple(t for t in record.replies if t > now_ms - HOUR_MS)
    record = dataclasses.replace(record, replies=recent)
    word = _word(text)
    if record.taken_over_until is not None and now_ms < record.taken_over_until:
        return Choice(Action.SILENT, "you took over this chat", record)
    if word in stop_words:
        if record.opted_out:
            return Choice(Action.SILENT, "opted out of automatic replies", record)
        done = dataclasses.replace(record, opted_out=True, replies=(*recent, now_ms))
        return Choice(Action.CONFIRM_STOP, "the customer wrote STOP", done)
    if word in start_words and record.opted_out:
        done = dataclasses.replace(record, opted_out=False, replies=(*recent, now_ms))
        return Choice(Action.CONFIRM_START, "the customer wrote START", done)
    if record.opted_out:
        return Choice(Action.SILENT, "opted out of automatic replies", record)
    if len(recent) >= limit:
        return Choice(Action.SILENT, f"{limit} automatic replies to this contact this hour", record)
    return Choice(Action.ANSWER, "", dataclasses.replace(record, replies=(*recent, now_ms)))


def taken_over(record: ChatRecord, *, now_ms: int, for_ms: int = TAKEOVER_MS) -> ChatRecord:
    """The owner wrote in the chat from the phone: silent there for ``for_ms``."""
    return dataclasses.replace(record, taken_over_until=now_ms + for_ms)


def word(text: str) -> str:
    """A stop or start word as it is compared (no accents, case or trailing ! or .)."""
    return _word(text)
