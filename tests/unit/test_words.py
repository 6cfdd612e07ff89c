"""The status in words: every state the transition table can reach has words that name no
technical status, say who has to act, and the right next step."""

from __future__ import annotations

import itertools
import re

import pytest

from chalicelib.domain.errors import IllegalTransitionError
from chalicelib.domain.statuses import SessionState, SetupStatus, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import TABLE, Actor, Event, Statuses, decide
from chalicelib.domain.words import (
    LOGGED_OUT,
    OUR_SIDE,
    WHATSAPP_CHANGED,
    Situation,
    Who,
    explain,
    sentence,
)

TECHNICAL = re.compile(
    "|".join(
        re.escape(v.value)
        for v in itertools.chain(TenantStatus, SessionState, WorkerStatus, SetupStatus)
    )
    + r"|heartbeat|epoch|lease"
)


def reachable() -> set[tuple[Statuses, Event | None]]:
    """Every (statuses, event that led there) the table allows from a new tenant."""
    start = (Statuses(), None)
    seen = {start}
    todo = [start[0]]
    while todo:
        current = todo.pop()
        for event, rule in TABLE.items():
            for actor in rule.actors:
                try:
                    decision = decide(current, event, actor)
                except IllegalTransitionError:
                    continue
                if not decision.changes_status:
                    continue
                found = (decision.after, event)
                if found not in seen:
                    seen.add(found)
                    todo.append(decision.after)
    return seen


STATES = sorted(reachable(), key=repr)


def test_the_table_reaches_every_tenant_status() -> None:
    assert {s.tenant for s, _ in STATES} == set(TenantStatus)


@pytest.mark.parametrize(("statuses", "event"), STATES, ids=lambda v: repr(v))
def test_every_reachable_state_has_plain_words(statuses: Statuses, event: Event | None) -> None:
    for setup, stop, restart, error, saved in itertools.product(
        [None, *SetupStatus],
        [False, True],
        [None, 1_000],
        [None, f"{LOGGED_OUT}: the phone logged this bot out", "no connection to WhatsApp"],
        [False, True],
    ):
        words = explain(
            Situation(
                statuses,
                setup=setup,
                desired_stop=stop,
                last_event=event,
                last_error=error,
                next_restart_at_ms=restart,
                next_retry_at_ms=2_000,
                saved_login=saved,
            )
        )
        said = f"{words.headline} {words.next}"
        if not saved:  # without a saved login nothing comes back by itself: a code is needed
            assert ("comes back linked" not in said and "nothing to do" not in said.lower()) or (
                statuses.session is SessionState.CONNECTED or setup is SetupStatus.PENDING
            ), said
        assert words.headline and words.next, words
        assert not TECHNICAL.search(said), said
        assert words.who in Who
        if words.action is not None:  # the owner is told where to act
            assert words.action.href in {"setup.html", "whatsapp.html"}
        if words.who is Who.OWNER and statuses.tenant is not TenantStatus.PAUSED:
            assert words.action is not None or "phone" in words.next, words


def test_a_logged_out_bot_asks_the_owner_to_link_again_and_says_when_the_code_comes() -> None:
    down = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.ERROR)
    words = explain(
        Situation(
            down,
            setup=SetupStatus.ACTIVE,
            last_event=Event.AUTH_FAILURE,
            last_error=f"{LOGGED_OUT}: the phone logged this bot out (Linked devices)",
            next_restart_at_ms=90_000,
        )
    )
    assert words.who is Who.OWNER
    assert words.action is not None and words.action.href == "whatsapp.html"
    assert words.at_ms == 90_000
    assert "We are on it" not in words.next


def test_a_restart_after_a_logout_or_of_a_never_linked_bot_asks_for_a_code() -> None:
    starting = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.STARTING)
    fresh = explain(Situation(starting, setup=SetupStatus.ACTIVE, saved_login=False))
    assert fresh.who is Who.OWNER and fresh.action is not None
    assert "code" in fresh.next and "nothing to do" not in fresh.next
    again = explain(Situation(starting, setup=SetupStatus.ACTIVE, saved_login=True))
    assert again.who is Who.NOBODY and "comes back linked" in again.next
    down = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.ERROR)
    crashed = explain(Situation(down, last_event=Event.CRASHED, next_restart_at_ms=5))
    assert "our side" in crashed.next and "code" in crashed.next


def test_a_number_whatsapp_refuses_is_for_an_operator() -> None:
    down = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.ERROR)
    words = explain(
        Situation(down, last_event=Event.AUTH_FAILURE, last_error="WhatsApp blocked this number")
    )
    assert words.who is Who.OPERATOR


def test_reconnecting_needs_nobody_and_says_when_the_next_try_is() -> None:
    live = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    words = explain(
        Situation(
            live, last_event=Event.DISCONNECTED, reconnect_attempts=3, next_retry_at_ms=55_000
        )
    )
    assert (words.who, words.at_ms) == (Who.NOBODY, 55_000)
    assert "attempt 3" in words.next


def test_a_hung_browser_is_our_problem_and_never_blames_the_phone() -> None:
    live = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    words = explain(
        Situation(live, last_event=Event.DISCONNECTED, last_error=f"{OUR_SIDE} not responding")
    )
    assert words.who is Who.NOBODY
    assert "our side" in words.headline and "phone" not in words.next
    assert sentence("disconnected", "worker", f"{OUR_SIDE} page crashed; relaunching") == (
        "The bot's browser stopped responding; reconnecting"
    )


def test_a_site_wa_js_cannot_load_is_up_to_the_operators_and_says_when_it_tries_again() -> None:
    live = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.RUNNING)
    cause = f"{WHATSAPP_CHANGED}: it did not load 3 times"
    words = explain(
        Situation(live, last_event=Event.DISCONNECTED, last_error=cause, next_retry_at_ms=9)
    )
    assert (words.who, words.at_ms) == (Who.OPERATOR, 9)
    assert "phone" not in words.next and "operators" in words.headline
    assert "waiting for an update" in sentence("disconnected", "worker", cause)


def test_an_approved_request_does_not_ask_for_a_setup_request() -> None:
    words = explain(Situation(Statuses(), setup=SetupStatus.APPROVED))
    assert words.who is Who.OPERATOR
    assert words.action is None
    assert "approved" in words.headline


def test_no_request_yet_points_to_the_setup_page() -> None:
    words = explain(Situation(Statuses()))
    assert (words.who, words.action and words.action.href) == (Who.OWNER, "setup.html")


def test_a_crash_restarts_by_itself_or_waits_for_an_operator() -> None:
    down = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.ERROR)
    automatic = explain(Situation(down, last_event=Event.CRASHED, next_restart_at_ms=80_000))
    manual = explain(Situation(down, last_event=Event.CRASHED))
    assert (automatic.who, automatic.at_ms) == (Who.NOBODY, 80_000)
    assert manual.who is Who.OPERATOR


def test_an_operator_stop_is_not_presented_as_a_fault_the_owner_can_fix() -> None:
    down = Statuses(TenantStatus.ERROR, SessionState.DISCONNECTED, WorkerStatus.STOPPED)
    words = explain(Situation(down, desired_stop=True, last_event=Event.STOPPED))
    assert words.who is Who.OPERATOR


def test_the_code_page_says_scan_or_type_as_the_owner_chose() -> None:
    showing = Statuses(TenantStatus.QR_PENDING, SessionState.QR_READY, WorkerStatus.RUNNING)
    assert "scan" in explain(Situation(showing)).next
    assert "type the code" in explain(Situation(showing, pairing=True)).next


@pytest.mark.parametrize("event", list(Event))
def test_every_event_reads_as_a_sentence(event: Event) -> None:
    for actor in Actor:
        said = sentence(event.value, actor.value, None)
        assert said and not TECHNICAL.search(said), said
        assert "→" not in said


def test_history_sentences_tell_causes_apart() -> None:
    assert sentence("launched", "launcher", "automatic restart #2") == "Bot restarted automatically"
    assert (
        sentence("auth_failure", "worker", f"{LOGGED_OUT}: the phone logged this bot out")
        == "Your phone logged the bot out"
    )
    assert sentence("paused", "tenant", None) == "Replies paused by you"
    assert sentence("no_such_event", "worker", None) == "Status changed"
