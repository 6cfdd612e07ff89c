"""The owner's own replies: opening hours in their time zone (with dates that differ, such as
holidays), their address, their topics (words -> their answer), a greeting sent to a contact
at most once every few days, an away message sent at most once per contact while they are
closed, and a fallback. Nothing here
is invented: a field the owner left empty falls back to the business type's starting template,
which states no fact about the business.

``respond`` is the one pure function the worker answers with and the portal's preview shows,
with why ("matched topic prices", "away: closed now").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import conversation, templates, validation
from chalicelib.domain.conversation import Action, ChatRecord
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.templates import Attachment, Topic

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_TOPICS = 30
MAX_NEVER = 500
MAX_TEXT = 1000
MAX_EXCEPTIONS = 60
MEDIA_TYPES = ("image/jpeg", "image/png", "application/pdf")
MAX_MEDIA_BYTES = 5 * 1024 * 1024
DAY_MS = 24 * 3600 * 1000
NEW_CHAT = ChatRecord()  # a contact the bot never wrote to
Span = tuple[int, int]  # open, close: minutes after midnight, local time
PLACEHOLDERS = ("name", "address", "hours_today", "next_open", "links")
MAX_LINKS = 5
OWN_MENU = "{name}: reply with a number or a word:"  # the menu of the owner's own topics


@dataclass(frozen=True)
class Rules:
    """One tenant's replies, as the owner saved them (all optional)."""

    time_zone: str = "UTC"
    hours: tuple[Span | None, ...] = ()  # Mon..Sun: (open, close) minutes, or closed
    exceptions: tuple[tuple[str, Span | None], ...] = ()  # dates (2026-12-24) unlike their day
    address: str | None = None
    business_name: str | None = None  # {name} in answers (else the name from the setup)
    links: tuple[tuple[str, str], ...] = ()  # (label, https URL): a website, a booking page
    topics: tuple[Topic, ...] = ()
    greeting: str | None = None  # before the first answer to a contact, every greeting_days
    greeting_days: int = 7
    away: str | None = None  # once per contact while closed (needs hours)
    fallback: str | None = None  # when no topic matched (else the template's menu)
    never: tuple[str, ...] = ()  # numbers the bot never answers (friends, family, suppliers)
    silent_unmatched: bool = False  # no topic matched: say nothing (not the fallback or menu)
    takeover_hours: int = 12  # after the owner wrote in a chat from the phone, silent there
    hourly_limit: int = conversation.LOOP_LIMIT  # automated replies to one contact an hour
    stop_words: frozenset[str] = conversation.STOP_WORDS  # end automated replies ...
    start_words: frozenset[str] = conversation.START_WORDS  # ... until one of these


@dataclass(frozen=True)
class Response:
    """What the bot answers (None: nothing) and why, in the owner's words."""

    text: str | None
    why: str
    greeted: bool = False  # the answer carries the greeting
    away_for: int | None = None  # the answer is the away message for the period ending then
    media: Attachment | None = None  # sent with the text as its caption


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


def _span(value: Any, field: str) -> Span | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ValidationError(field, 'must be ["09:00", "18:00"] or null')
    opens, closes = _minutes(value[0], field), _minutes(value[1], field)
    if closes <= opens:
        raise ValidationError(field, "must close after it opens")
    return opens, closes


def _whole(given: Any, field: str, low: int, high: int) -> int:
    if isinstance(given, bool) or not isinstance(given, int) or not low <= given <= high:
        raise ValidationError(field, f"must be a whole number from {low} to {high}")
    return given


def _words(given: Any, field: str, default: frozenset[str]) -> frozenset[str]:
    if given is None:
        return default
    ok = isinstance(given, list) and 0 < len(given) <= 20
    if not ok or not all(isinstance(w, str) and 0 < len(w.strip()) <= 20 for w in given):
        raise ValidationError(field, "must list 1 to 20 single words")
    found = frozenset(conversation.word(w) for w in given)
    if not all(w and " " not in w for w in found):
        raise ValidationError(field, "must list single words (letters, no spaces)")
    return found


def _name(given: Any) -> str | None:
    if given is None or given == "":
        return None
    if not isinstance(given, str) or not 0 < len(given.strip()) <= 64 or "{" in given:
        raise ValidationError("businessName", "must be a name of at most 64 characters")
    return given.strip()


def _attachment(given: Any, field: str) -> Attachment | None:
    if given is None:
        return None
    ok = isinstance(given, dict) and isinstance(given.get("id"), str)
    if not ok or not re.fullmatch(r"m_[0-9a-f]{16}", given["id"]):
        raise ValidationError(field, "must name an uploaded file by its id")
    name, kind, size = given.get("name"), given.get("type"), given.get("size")
    if not isinstance(name, str) or not 0 < len(name) <= 100:
        raise ValidationError(field, "needs the file's name (at most 100 characters)")
    if kind not in MEDIA_TYPES:
        raise ValidationError(field, "must be a JPEG, PNG or PDF")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_MEDIA_BYTES:
        raise ValidationError(field, "must be a file of at most 5 MB")
    return Attachment(given["id"], name, kind, size)


def _links(given: Any) -> tuple[tuple[str, str], ...]:
    if given is None:
        return ()
    if not isinstance(given, list) or len(given) > MAX_LINKS:
        raise ValidationError("links", f"must be a list of at most {MAX_LINKS} links")
    found = []
    for n, link in enumerate(given):
        label = link.get("label") if isinstance(link, dict) else None
        url = link.get("url") if isinstance(link, dict) else None
        if not isinstance(label, str) or not 0 < len(label.strip()) <= 40:
            raise ValidationError(
                f"links.{n}.label", "must be a short name (at most 40 characters)"
            )
        if not isinstance(url, str) or len(url) > 200 or not re.fullmatch(r"https://\S+\.\S+", url):
            raise ValidationError(f"links.{n}.url", "must be a web address starting with https://")
        found.append((label.strip(), url))
    return tuple(found)


def _exceptions(given: Any) -> tuple[tuple[str, Span | None], ...]:
    if given is None:
        return ()
    if not isinstance(given, dict) or len(given) > MAX_EXCEPTIONS:
        raise ValidationError("exceptions", f"must map at most {MAX_EXCEPTIONS} dates to hours")
    found = []
    for day, span in given.items():
        try:
            date = dt.date.fromisoformat(day) if re.fullmatch(r"\d{4}-\d\d-\d\d", day) else None
        except ValueError:
            date = None
        if date is None:
            raise ValidationError("exceptions", f"{day!r} is no date like 2026-12-24")
        found.append((date.isoformat(), _span(span, f"exceptions.{day}")))
    return tuple(sorted(found))


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
        hours = tuple(_span(given.get(day), f"hours.{day}") for day in DAYS)
    exceptions = _exceptions(doc.get("exceptions"))
    if exceptions and not hours:
        raise ValidationError("exceptions", "need opening hours to differ from")
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
        topics.append(Topic(keywords, answer, _attachment(topic.get("media"), f"{field}.media")))
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
    hours_off = _whole(doc.get("takeoverHours", 12), "takeoverHours", 1, 168)
    limit = _whole(doc.get("hourlyLimit", conversation.LOOP_LIMIT), "hourlyLimit", 1, 60)
    stop = _words(doc.get("stopWords"), "stopWords", conversation.STOP_WORDS)
    start = _words(doc.get("startWords"), "startWords", conversation.START_WORDS)
    if stop & start:
        raise ValidationError("startWords", "a word cannot both stop and start replies")
    silent = doc.get("silentWhenUnmatched", False)
    if not isinstance(silent, bool):
        raise ValidationError("silentWhenUnmatched", "must be true or false")
    days = doc.get("greetingDays", 7)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise ValidationError("greetingDays", "must be a number of days from 1 to 365")
    return Rules(
        time_zone=zone,
        hours=hours,
        exceptions=exceptions,
        address=_text(doc.get("address"), "address"),
        business_name=_name(doc.get("businessName")),
        links=_links(doc.get("links")),
        topics=tuple(topics),
        greeting=_text(doc.get("greeting"), "greeting"),
        greeting_days=days,
        away=away,
        fallback=_text(doc.get("fallback"), "fallback"),
        never=never,
        silent_unmatched=silent,
        takeover_hours=hours_off,
        hourly_limit=limit,
        stop_words=stop,
        start_words=start,
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
        "exceptions": {
            day: [_clock(span[0]), _clock(span[1])] if span else None
            for day, span in rules.exceptions
        },
        "address": rules.address,
        "businessName": rules.business_name,
        "links": [{"label": label, "url": url} for label, url in rules.links],
        "topics": [_topic_doc(t) for t in rules.topics],
        "greeting": rules.greeting,
        "greetingDays": rules.greeting_days,
        "away": rules.away,
        "fallback": rules.fallback,
        "neverAnswer": list(rules.never),
        "silentWhenUnmatched": rules.silent_unmatched,
        "takeoverHours": rules.takeover_hours,
        "hourlyLimit": rules.hourly_limit,
        "stopWords": sorted(rules.stop_words),
        "startWords": sorted(rules.start_words),
    }


def _topic_doc(topic: Topic) -> dict[str, Any]:
    doc: dict[str, Any] = {"keywords": list(topic.keywords), "answer": topic.answer}
    if topic.media is not None:
        doc["media"] = dataclasses.asdict(topic.media)
    return doc


def _local(rules: Rules, now_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(now_ms / 1000, zoneinfo.ZoneInfo(rules.time_zone))


def _day(rules: Rules, date: dt.date) -> Span | None:
    """The hours of ``date``: its exception if the owner gave one, else its weekday's."""
    iso = date.isoformat()
    for day, span in rules.exceptions:
        if day == iso:
            return span
    return rules.hours[date.weekday()]


def is_open(rules: Rules, now_ms: int) -> bool | None:
    """Open at ``now_ms`` in the owner's time zone (None: no hours given)."""
    if not rules.hours:
        return None
    local = _local(rules, now_ms)
    span = _day(rules, local.date())
    minute = local.hour * 60 + local.minute
    return span is not None and span[0] <= minute < span[1]


def _hours_today(rules: Rules, now_ms: int) -> str:
    if not rules.hours:
        return ""
    span = _day(rules, _local(rules, now_ms).date())
    return f"{_clock(span[0])}-{_clock(span[1])}" if span else "closed today"


def _next_opening(rules: Rules, now_ms: int) -> tuple[int, dt.datetime] | None:
    """How many days ahead and when (local) the business next opens, None: never again."""
    if not rules.hours:
        return None
    local = _local(rules, now_ms)
    minute = local.hour * 60 + local.minute
    for ahead in range(8 + len(rules.exceptions)):  # a week, plus every date unlike its day
        date = local.date() + dt.timedelta(days=ahead)
        span = _day(rules, date)
        if span is None or (ahead == 0 and minute >= span[0]):
            continue
        opens = dt.datetime.combine(date, dt.time(span[0] // 60, span[0] % 60), local.tzinfo)
        return ahead, opens
    return None


def _next_open(rules: Rules, now_ms: int) -> str:
    found = _next_opening(rules, now_ms)
    if found is None:
        return ""
    ahead, opens = found
    day = {0: "today", 1: "tomorrow"}.get(ahead) or (
        DAY_NAMES[opens.weekday()] if ahead < 7 else opens.strftime("%A %d %B")
    )
    return f"{day} at {opens:%H:%M}"


def closed_until(rules: Rules, now_ms: int) -> int | None:
    """While closed: when the closed period ends (ms; 0: not open again within the dates
    known). None while open or without hours. Every moment of one closed period gives the
    same value, so it names the period."""
    if is_open(rules, now_ms) is not False:
        return None
    found = _next_opening(rules, now_ms)
    return int(found[1].timestamp() * 1000) if found else 0


def fill(text: str, rules: Rules, name: str, now_ms: int) -> str:
    """The answer with its placeholders filled (an unknown value is left out)."""
    values = {
        "name": name,
        "address": rules.address or "",
        "hours_today": _hours_today(rules, now_ms),
        "next_open": _next_open(rules, now_ms),
        "links": "\n".join(f"{label}: {url}" for label, url in rules.links),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def _answer(rules: Rules, template_type: str | None, name: str, text: str, now_ms: int) -> Response:
    """The answer to ``text`` itself: a topic, the fallback or the menu."""
    if not rules.topics:  # the business type's starting template, which states no fact
        template = templates.of(template_type)
        topic = templates.match(template.topics, text)
        if topic is None and rules.silent_unmatched:
            return Response(None, "no topic matched: you chose to say nothing then")
        if topic is None and rules.fallback:
            return Response(fill(rules.fallback, rules, name, now_ms), "no topic matched")
        answer = topic.answer if topic else templates.menu(template, name)
        return Response(answer, "the starting template (no topics of your own yet)")
    topic = templates.match(rules.topics, text)
    if topic is not None:
        answer = fill(topic.answer, rules, name, now_ms)
        return Response(answer, f"matched topic {topic.keywords[0]}", media=topic.media)
    if rules.silent_unmatched:
        return Response(None, "no topic matched: you chose to say nothing then")
    if rules.fallback:
        return Response(fill(rules.fallback, rules, name, now_ms), "no topic matched")
    own = templates.Template(OWN_MENU, rules.topics)
    return Response(templates.menu(own, name), "no topic matched: the menu")


def respond(
    rules: Rules,
    template_type: str | None,
    name: str,
    text: str,
    *,
    now_ms: int,
    chat: ChatRecord = NEW_CHAT,
) -> Response:
    """What the bot answers to ``text`` at ``now_ms`` in a chat with record ``chat``, and why.

    While closed, the away message goes once per closed period; after it only a topic the
    customer asks for is answered. The greeting opens the first answer to a contact, and
    again once ``greeting_days`` have passed (the away message does not count as one).
    ``name`` is the business's (the owner's ``business_name`` wins).
    """
    name = rules.business_name or name
    period = closed_until(rules, now_ms) if rules.away else None
    if rules.away and period is not None:
        if chat.away_for != period:
            return Response(
                fill(rules.away, rules, name, now_ms), "away: closed now", away_for=period
            )
        topics = rules.topics or templates.of(template_type).topics
        if templates.match(topics, text) is None:
            return Response(None, "away: already told them you are closed")
        return _answer(rules, template_type, name, text, now_ms)
    answer = _answer(rules, template_type, name, text, now_ms)
    due = chat.greeted_at is None or now_ms - chat.greeted_at >= rules.greeting_days * DAY_MS
    if rules.greeting and due and answer.text is not None:
        greeting = fill(rules.greeting, rules, name, now_ms)
        text = f"{greeting}\n\n{answer.text}"
        return dataclasses.replace(answer, text=text, why=f"greeting, {answer.why}", greeted=True)
    return answer


def remember(record: ChatRecord, response: Response, *, now_ms: int) -> ChatRecord:
    """The chat's record once ``response`` went out."""
    if response.greeted:
        record = dataclasses.replace(record, greeted_at=now_ms)
    if response.away_for is not None:
        record = dataclasses.replace(record, away_for=response.away_for)
    return record


@dataclass(frozen=True)
class Outcome:
    """The whole decision for one customer message: what goes out (None: nothing), why, and
    the chat's record to keep if it goes out."""

    text: str | None
    why: str
    record: ChatRecord
    media: Attachment | None = None  # a picture or PDF sent with the text as its caption


def reply(
    rules: Rules,
    template_type: str | None,
    name: str,
    number: str,
    text: str,
    *,
    record: ChatRecord,
    now_ms: int,
) -> Outcome:
    """What the bot does with ``text`` from ``number`` in a chat with ``record``: the one
    function the worker answers with and the portal's preview shows."""
    if number in rules.never:
        return Outcome(None, "on your never-answer list", record)
    choice = conversation.decide(
        text,
        record,
        now_ms=now_ms,
        limit=rules.hourly_limit,
        stop_words=rules.stop_words,
        start_words=rules.start_words,
    )
    if choice.action is Action.SILENT:
        return Outcome(None, choice.reason, record)
    if choice.action is not Action.ANSWER:
        return Outcome(conversation.CONFIRMATIONS[choice.action], choice.reason, choice.record)
    response = respond(rules, template_type, name, text, now_ms=now_ms, chat=choice.record)
    if response.text is None:
        return Outcome(None, response.why, record)
    record = remember(choice.record, response, now_ms=now_ms)
    return Outcome(response.text, response.why, record, response.media)
