"""Whether the bot may answer in a chat: takeover, opt-out, the loop guard. Property-based:
what a customer or the owner would notice is checked over any sequence of events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.conversation import (
    HOUR_MS,
    LOOP_LIMIT,
    TAKEOVER_MS,
    Action,
    ChatRecord,
    decide,
    taken_over,
)

WORDS = st.sampled_from(["hi", "menu", "STOP", "Stop!", "START", "start", "prices", "Arrêt"])
STEPS = st.lists(
    st.tuples(st.sampled_from(["customer", "owner"]), WORDS, st.integers(0, 3 * HOUR_MS)),
    max_size=60,
)


def run(steps: list[tuple[str, str, int]]) -> list[tuple[int, str, str, Action]]:
    """Play ``steps`` (who, text, ms since the previous step); what the bot did each time."""
    record, now, done = ChatRecord(), 0, []
    for who, text, gap in steps:
        now += gap
        if who == "owner":
            record = taken_over(record, now_ms=now)
            continue
        choice = decide(text, record, now_ms=now)
        record = choice.record
        done.append((now, text, choice.reason, choice.action))
    return done


@given(STEPS)
def test_never_a_reply_in_a_chat_a_person_took_over(steps: list[tuple[str, str, int]]) -> None:
    owner_at: int | None = None
    now = 0
    replies = iter(run(steps))
    for who, _text, gap in steps:
        now += gap
        if who == "owner":
            owner_at = now
            continue
        at, _, _, action = next(replies)
        if owner_at is not None and at - owner_at < TAKEOVER_MS:
            assert action is Action.SILENT


@given(STEPS)
def test_after_stop_only_start_gets_an_answer(steps: list[tuple[str, str, int]]) -> None:
    opted_out = False
    for _at, text, _reason, action in run([s for s in steps if s[0] == "customer"]):
        word = text.strip("!").lower()
        if opted_out and action is not Action.SILENT:
            assert action is Action.CONFIRM_START
        if action is Action.CONFIRM_STOP:
            opted_out = True
        if action is Action.CONFIRM_START:
            opted_out = False
        if word in ("stop", "arrêt") and not opted_out:
            raise AssertionError("a STOP left replies on")


@given(STEPS)
def test_at_most_the_limit_of_automated_replies_to_one_contact_in_any_hour(
    steps: list[tuple[str, str, int]],
) -> None:
    sent = [at for at, _, _, action in run(steps) if action is not Action.SILENT]
    for i, start in enumerate(sent):
        assert sum(1 for t in sent[i:] if t < start + HOUR_MS) <= LOOP_LIMIT


def test_why_the_bot_stayed_silent_is_said_in_words() -> None:
    record = taken_over(ChatRecord(), now_ms=0)
    assert decide("hi", record, now_ms=1).reason == "you took over this chat"
    assert decide("hi", record, now_ms=TAKEOVER_MS).action is Action.ANSWER
    stopped = decide("STOP", ChatRecord(), now_ms=0).record
    assert decide("menu", stopped, now_ms=1).reason == "opted out of automatic replies"
