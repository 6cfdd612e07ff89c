"""The owner's replies: validation, hours in their time zone (DST included), topics, away."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.conversation import ChatRecord
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.rules import (
    DAY_MS,
    DAYS,
    Outcome,
    Rules,
    is_open,
    parse,
    reply,
    respond,
    to_doc,
)

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SALON = {
    "timeZone": "Europe/Berlin",
    "hours": {
        "mon": None,
        "tue": ["09:00", "18:00"],
        "wed": ["09:00", "18:00"],
        "thu": ["09:00", "20:00"],
        "fri": ["09:00", "18:00"],
        "sat": ["10:00", "14:00"],
        "sun": None,
    },
    "address": "Hauptstr. 5",
    "topics": [
        {"keywords": ["prices", "Price"], "answer": "Cut 30, colour 55. Today: {hours_today}."},
        {"keywords": ["where"], "answer": "{name}, {address}"},
    ],
    "away": "We are closed now; we open {next_open}.",
    "fallback": "Someone from {name} answers you soon.",
    "neverAnswer": ["+49 151 1111 2222", "+4915111112222"],
}
SALON_RULES = parse(SALON)
HOURS: dict[str, list[str] | None] = SALON["hours"]  # type: ignore[assignment]
HOUR_MS = 3600 * 1000  # the salon is open for 4 hours at least, so an hourly look finds it


def at(*when: int) -> int:
    return int(dt.datetime(*when, tzinfo=BERLIN).timestamp() * 1000)


def test_the_owners_words_answer_with_their_facts_and_why() -> None:
    rules = parse(SALON)
    tuesday_noon = at(2026, 3, 3, 12, 0)
    answer = respond(rules, "SALON", "Ana's", "what are your PRICES?", now_ms=tuesday_noon)
    assert answer.text == "Cut 30, colour 55. Today: 09:00-18:00."
    assert answer.why == "matched topic prices"
    assert respond(rules, "SALON", "Ana's", "2", now_ms=tuesday_noon).text == "Ana's, Hauptstr. 5"
    other = respond(rules, "SALON", "Ana's", "hello", now_ms=tuesday_noon)
    assert (other.text, other.why) == ("Someone from Ana's answers you soon.", "no topic matched")
    sunday = respond(rules, "SALON", "Ana's", "prices", now_ms=at(2026, 3, 8, 12, 0))
    assert (sunday.text, sunday.why) == (
        "We are closed now; we open Tuesday at 09:00.",
        "away: closed now",
    )
    assert rules.never == ("+4915111112222",)  # one number, written twice
    assert parse(to_doc(rules)) == rules


def test_nothing_saved_is_the_starting_template_which_states_no_fact() -> None:
    answer = respond(Rules(), "RESTAURANT", "Roma", "when are you open?", now_ms=0)
    assert "opening hours in person" in answer.text and "template" in answer.why


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"hours": {"mon": ["18:00", "09:00"]}}, "hours.mon"),
        ({"hours": {"monday": None}}, "hours"),
        ({"hours": {"tue": ["9", "18:00"]}}, "hours.tue"),
        ({"topics": [{"keywords": [], "answer": "x"}]}, "topics.0.keywords"),
        ({"topics": [{"keywords": ["a"], "answer": "{price}"}]}, "topics.0.answer"),
        ({"hours": None}, "away"),
        ({"fallback": "x" * 1001}, "fallback"),
        ({"neverAnswer": ["+49", "mum"]}, "neverAnswer.0"),
    ],
)
def test_a_mistake_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse({**SALON, **change})
    assert refused.value.field == field


@given(st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1)))
def test_open_follows_the_wall_clock_in_the_owners_zone_across_dst(local: dt.datetime) -> None:
    rules = SALON_RULES
    wall = local.replace(tzinfo=BERLIN, fold=0)
    now_ms = int(wall.timestamp() * 1000)
    back = dt.datetime.fromtimestamp(now_ms / 1000, BERLIN)  # a skipped hour moves on
    minute = back.hour * 60 + back.minute
    span = rules.hours[back.weekday()]
    assert is_open(rules, now_ms) is (span is not None and span[0] <= minute < span[1])


# A contact's messages: what they write and the ms since their previous one (up to 4 days).
MESSAGES = st.lists(
    st.tuples(st.sampled_from(["hi", "prices", "where", "STOP", "START", "ok"]),
              st.integers(0, 4 * DAY_MS)),
    max_size=40,
)  # fmt: skip
GREETER = parse({**SALON, "greeting": "Welcome to {name}!", "greetingDays": 3})


def talk(rules: Rules, start_ms: int, messages: list[tuple[str, int]]) -> list[tuple[int, str]]:
    """One contact writes ``messages``; what the bot sent and when (the worker's function)."""
    record, now, sent = ChatRecord(), start_ms, []
    for text, gap in messages:
        now += gap
        outcome = reply(rules, "SALON", "Ana's", "+4917000000001", text, record=record, now_ms=now)
        if outcome.text is not None:
            record = outcome.record
            sent.append((now, outcome.text))
    return sent


@given(st.integers(at(2025, 1, 1), at(2027, 1, 1)), MESSAGES)
def test_a_contact_is_greeted_at_most_once_within_the_greeting_window(
    start_ms: int, messages: list[tuple[str, int]]
) -> None:
    greeted = [t for t, text in talk(GREETER, start_ms, messages) if "Welcome to Ana's!" in text]
    assert all(b - a >= 3 * DAY_MS for a, b in itertools.pairwise(greeted))


@given(st.integers(at(2025, 1, 1), at(2027, 1, 1)), MESSAGES)
def test_away_goes_only_while_closed_in_the_owners_zone_and_once_per_closed_period(
    start_ms: int, messages: list[tuple[str, int]]
) -> None:
    aways = [t for t, text in talk(SALON_RULES, start_ms, messages) if text.startswith("We are")]
    for t in aways:  # the wall clock in Berlin, read independently of the rules module
        local = dt.datetime.fromtimestamp(t / 1000, BERLIN)
        span = HOURS[DAYS[local.weekday()]]
        assert span is None or not (span[0] <= f"{local:%H:%M}" < span[1])
    # Between two away messages the business opened (one per closed period).
    for a, b in itertools.pairwise(aways):
        assert any(is_open(SALON_RULES, m) for m in range(a, b, HOUR_MS)), (a, b)


def test_a_holiday_closes_a_working_day_and_moves_the_next_opening() -> None:
    rules = parse({**SALON, "exceptions": {"2026-12-24": ["09:00", "12:00"], "2026-12-25": None}})
    christmas_eve = respond(rules, "SALON", "Ana's", "prices", now_ms=at(2026, 12, 24, 11, 0))
    assert christmas_eve.text == "Cut 30, colour 55. Today: 09:00-12:00."
    closed = respond(rules, "SALON", "Ana's", "prices", now_ms=at(2026, 12, 24, 13, 0))
    # The 25th (a Friday) is a holiday: the next opening is Saturday's.
    assert (closed.text, closed.why) == (
        "We are closed now; we open Saturday at 10:00.",
        "away: closed now",
    )
    assert parse(to_doc(rules)) == rules


def say(
    text: str,
    record: ChatRecord,
    now_ms: int,
    number: str = "+4917000000001",
    rules: Rules = SALON_RULES,
) -> Outcome:
    """What the bot does with ``text`` from ``number`` (the worker's function)."""
    return reply(rules, "SALON", "Ana's", number, text, record=record, now_ms=now_ms)


def test_after_the_away_message_only_a_topic_asked_for_is_answered_until_they_open() -> None:
    sunday, monday = at(2026, 3, 8, 12, 0), at(2026, 3, 9, 12, 0)  # the salon closes Sun+Mon
    first = say("hi", ChatRecord(), sunday)
    assert first.text == "We are closed now; we open Tuesday at 09:00."
    again = say("hello?", first.record, monday)
    assert (again.text, again.why) == (None, "away: already told them you are closed")
    asked = say("prices", first.record, monday)
    assert asked.text == "Cut 30, colour 55. Today: closed today."
    tuesday_night = say("hi", asked.record, at(2026, 3, 10, 22, 0))  # a new closed period
    assert tuesday_night.text == "We are closed now; we open tomorrow at 09:00."
    never = say("hi", ChatRecord(), sunday, number="+4915111112222")
    assert (never.text, never.why) == (None, "on your never-answer list")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"exceptions": {"24.12.": None}}, "exceptions"),
        ({"exceptions": {"2026-02-30": None}}, "exceptions"),
        ({"exceptions": {"2026-12-24": ["13:00", "09:00"]}}, "exceptions.2026-12-24"),
        ({"hours": None, "away": None, "exceptions": {"2026-12-24": None}}, "exceptions"),
        ({"greetingDays": 0}, "greetingDays"),
        ({"greeting": "Hi {firstname}"}, "greeting"),
    ],
)
def test_a_mistake_in_dates_or_the_greeting_names_its_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        parse({**SALON, **change})
    assert refused.value.field == field


def test_the_owners_name_and_links_fill_their_answers() -> None:
    rules = parse(
        {
            "businessName": "Ana's Hair Studio",
            "links": [{"label": "Book online", "url": "https://book.example/ana"}],
            "topics": [{"keywords": ["book"], "answer": "{name}: book here\n{links}"}],
        }
    )
    answer = respond(rules, "SALON", "Ana's", "can I book?", now_ms=0)
    assert answer.text == "Ana's Hair Studio: book here\nBook online: https://book.example/ana"
    assert parse(to_doc(rules)) == rules


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"links": [{"label": "Shop", "url": "javascript:alert(1)"}]}, "links.0.url"),
        ({"links": [{"label": "", "url": "https://a.example"}]}, "links.0.label"),
        ({"links": [{"label": "x", "url": "https://a.example"}] * 6}, "links"),
        ({"businessName": "x" * 65}, "businessName"),
    ],
)
def test_a_mistake_in_the_profile_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse({**SALON, **change})
    assert refused.value.field == field


def test_the_owner_sets_the_chat_rules_their_own_stop_words_limit_and_silence() -> None:
    rules = parse(
        {
            "topics": [{"keywords": ["prices"], "answer": "Cut 30."}],
            "silentWhenUnmatched": True,
            "hourlyLimit": 2,
            "stopWords": ["Genug!", "STOP"],
            "startWords": ["weiter"],
            "takeoverHours": 2,
        }
    )
    assert say("hello", ChatRecord(), 0, rules=rules).why.startswith("no topic matched: you chose")
    first = say("prices", ChatRecord(), 0, rules=rules)
    second = say("prices", first.record, 1, rules=rules)
    third = say("prices", second.record, 2, rules=rules)
    assert (first.text, second.text, third.text) == ("Cut 30.", "Cut 30.", None)
    assert third.why == "2 automatic replies to this contact this hour"
    stopped = say("genug", ChatRecord(), 0, rules=rules)
    assert stopped.why == "the customer wrote STOP" and stopped.record.opted_out
    assert say("start", stopped.record, 1, rules=rules).text is None  # not their start word
    assert say("Weiter.", stopped.record, 1, rules=rules).why == "the customer wrote START"
    assert parse(to_doc(rules)) == rules
    with pytest.raises(ValidationError) as both:
        parse({"stopWords": ["halt"], "startWords": ["halt"]})
    assert both.value.field == "startWords"
