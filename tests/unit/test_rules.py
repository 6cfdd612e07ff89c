"""The owner's replies: validation, hours in their time zone (DST included), topics, away."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationError
from chalicelib.domain.rules import Rules, is_open, parse, respond, to_doc

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
