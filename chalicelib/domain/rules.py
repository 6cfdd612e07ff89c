"""The owner's own replies: opening hours in their time zone, their address, their topics
(words -> their answer), an away message for when they are closed and a fallback. Nothing here
is invented: a field the owner left empty falls back to the business type's starting template,
which states no fact about the business.

``respond`` is the one pure function the worker answers with and the portal's preview shows,
with why ("matched topic prices", "away: closed now").
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import templates, validation
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.templates import Topic

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_TOPICS = 30
MAX_NEVER = 500
MAX_TEXT = 1000
PLACEHOLDERS = ("name", "address", "hours_today", "next_open")
OWN_MENU = "{name}: reply with a number or a word:"  # the menu of the owner's own topics


@dataclass(frozen=True)
class Rules:
    """One tenant's replies, as the owner saved them (all optional)."""

    time_zone: str = "UTC"
    hours: tuple[tuple[int, int] | None, ...] = ()  # Mon..Sun: (open, close) minutes, or closed
    address: str | None = None
    topics: tuple[Topic, ...] = ()
    away: str | None = None  # instead of any answer while closed (needs hours)
    fallback: str | None = None  # when no topic matched (else the template's menu)
    never: tuple[str, ...] = ()  # numbers the bot never answers (friends, family, suppliers)


@dataclass(frozen=True)
class Response:
    """What the bot answers and why, in the owner's words."""

    text: str
    why: str


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # reads the zone files: once


def _minutes(value: Any, field: str) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValidationError(field, "must be a time like 09:30")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _text(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValidationError(field, f"must be text of at most {MAX_TEXT} characters")
    for name in re.findall(r"\{([^{}]*)\}", value):
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ValidationError(field, f"{{{name}}} is no placeholder; use {allowed}")
    return value.strip()


def parse(doc: Any) -> Rules:
    """Rules from the API's JSON; every mistake is a ``ValidationError`` naming its field."""
    if not isinstance(doc, dict):
        raise ValidationError("rules", "must be an object")
    zone = doc.get("timeZone") or "UTC"
    if not isinstance(zone, str) or zone not in _zones():
        raise ValidationError("timeZone", "must be a time zone like Europe/Berlin")
    hours: tuple[tuple[int, int] | None, ...] = ()
    if doc.get("hours") is not None:
        given = doc["hours"]
        if not isinstance(given, dict) or set(given) - set(DAYS):
            raise ValidationError("hours", "must name days as " + ", ".join(DAYS))
        days: list[tuple[int, int] | None] = []
        for day in DAYS:
            span = given.get(day)
            if span is None:
                days.append(None)
                continue
            if not isinstance(span, list) or len(span) != 2:
                raise ValidationError(f"hours.{day}", 'must be ["09:00", "18:00"] or null')
            opens, closes = _minutes(span[0], f"hours.{day}"), _minutes(span[1], f"hours.{day}")
            if closes <= opens:
                raise ValidationError(f"hours.{day}", "must close after it opens")
            days.append((opens, closes))
        hours = tuple(days)
    topics = []
    raw_topics = doc.get("topics") or []
    if not isinstance(raw_topics, list) or len(raw_topics) > MAX_TOPICS:
        raise ValidationError("topics", f"must be a list of at most {MAX_TOPICS}")
    for n, topic in enumerate(raw_topics):
        field = f"topics.{n}"
        words = topic.get("keywords") if isinstance(topic, dict) else None
        if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
            raise ValidationError(f"{field}.keywords", "must list the words that select it")
        keywords = tuple(w for word in words for w in templates.words(word))
        answer = _text(topic.get("answer"), f"{field}.answer")
        if not keywords or not answer:
            raise ValidationError(field, "needs words and an answer")
        topics.append(Topic(keywords, answer))
    raw_never = doc.get("neverAnswer") or []
    if not isinstance(raw_never, list) or len(raw_never) > MAX_NEVER:
        raise ValidationError("neverAnswer", f"must be a list of at most {MAX_NEVER} numbers")
    never = tuple(
        dict.fromkeys(
            validation.whatsapp_number(n, f"neverAnswer.{i}") for i, n in enumerate(raw_never)
        )
    )
    away = _text(doc.get("away"), "away")
    if away and not hours:
        raise ValidationError("away", "needs opening hours to know when you are closed")
    return Rules(
        time_zone=zone,
        hours=hours,
        address=_text(doc.get("address"), "address"),
        topics=tuple(topics),
        away=away,
        fallback=_text(doc.get("fallback"), "fallback"),
        never=never,
    )


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def to_doc(rules: Rules) -> dict[str, Any]:
    """The API's JSON for ``rules`` (what ``parse`` reads back)."""
    return {
        "timeZone": rules.time_zone,
        "hours": (
            {
                day: [_clock(span[0]), _clock(span[1])] if span else None
                for day, span in zip(DAYS, rules.hours, strict=True)
            }
            if rules.hours
            else None
        ),
        "address": rules.address,
        "topics": [{"keywords": list(t.keywords), "answer": t.answer} for t in rules.topics],
        "away": rules.away,
        "fallback": rules.fallback,
        "neverAnswer": list(rules.never),
    }


def _local(rules: Rules, now_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(now_ms / 1000, zoneinfo.ZoneInfo(rules.time_zone))


def is_open(rules: Rules, now_ms: int) -> bool | None:
    """Open at ``now_ms`` in the owner's time zone (None: no hours given)."""
    if not rules.hours:
        return None
    local = _local(rules, now_ms)
    span = rules.hours[local.weekday()]
    minute = local.hour * 60 + local.minute
    return span is not None and span[0] <= minute < span[1]


def _hours_today(rules: Rules, now_ms: int) -> str:
    if not rules.hours:
        return ""
    span = rules.hours[_local(rules, now_ms).weekday()]
    return f"{_clock(span[0])}-{_clock(span[1])}" if span else "closed today"


def _next_open(rules: Rules, now_ms: int) -> str:
    if not rules.hours:
        return ""
    local = _local(rules, now_ms)
    minute = local.hour * 60 + local.minute
    for ahead in range(8):
        span = rules.hours[(local.weekday() + ahead) % 7]
        if span is None or (ahead == 0 and minute >= span[0]):
            continue
        names = {0: "today", 1: "tomorrow"}
        day = names.get(ahead) or DAY_NAMES[(local.weekday() + ahead) % 7]
        return f"{day} at {_clock(span[0])}"
    return ""


def fill(text: str, rules: Rules, name: str, now_ms: int) -> str:
    """The answer with its placeholders filled (an unknown value is left out)."""
    values = {
        "name": name,
        "address": rules.address or "",
        "hours_today": _hours_today(rules, now_ms),
        "next_open": _next_open(rules, now_ms),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def respond(
    rules: Rules, template_type: str | None, name: str, text: str, *, now_ms: int
) -> Response:
    """What the bot answers to ``text`` at ``now_ms``, and why."""
    if rules.away and is_open(rules, now_ms) is False:
        return Response(fill(rules.away, rules, name, now_ms), "away: closed now")
    if not rules.topics:  # the business type's starting template, which states no fact
        template = templates.of(template_type)
        topic = templates.match(template.topics, text)
        if topic is None and rules.fallback:
            return Response(fill(rules.fallback, rules, name, now_ms), "no topic matched")
        answer = topic.answer if topic else templates.menu(template, name)
        return Response(answer, "the starting template (no topics of your own yet)")
    topic = templates.match(rules.topics, text)
    if topic is not None:
        answer = fill(topic.answer, rules, name, now_ms)
        return Response(answer, f"matched topic {topic.keywords[0]}")
    if rules.fallback:
        return Response(fill(rules.fallback, rules, name, now_ms), "no topic matched")
    own = templates.Template(OWN_MENU, rules.topics)
    return Response(templates.menu(own, name), "no topic matched: the menu")
