"""The one transition table: the seed's rules, and no illegal state reachable at random."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from chalicelib.domain.errors import IllegalTransitionError
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import (
    TABLE,
    Actor,
    Effect,
    Event,
    Statuses,
    decide,
    table_rows,
    violations,
)

S, T, W = SessionState, TenantStatus, WorkerStatus
RUNNING_CONNECTED = Statuses(T.ACTIVE, S.CONNECTED, W.RUNNING)
STARTING = Statuses(T.NEW, S.DISCONNECTED, W.STARTING)


def test_qr_puts_tenant_in_qr_pending_and_stores_payload() -> None:
    d = decide(STARTING, Event.QR, Actor.WORKER)
    assert d.after == Statuses(T.QR_PENDING, S.QR_READY, W.RUNNING)
    assert Effect.STORE_QR in d.effects


def test_ready_connects_and_clears_error() -> None:
    d = decide(Statuses(T.QR_PENDING, S.QR_READY, W.RUNNING), Event.READY, Actor.WORKER)
    assert d.after == RUNNING_CONNECTED
    assert {Effect.CLEAR_ERROR, Effect.CLEAR_QR} <= d.effects


def test_disconnect_keeps_worker_running_for_reconnect_but_tenant_sees_error() -> None:
    d = decide(RUNNING_CONNECTED, Event.DISCONNECTED, Actor.WORKER)
    assert d.after == Statuses(T.ERROR, S.DISCONNECTED, W.RUNNING)


@pytest.mark.parametrize(
    ("event", "actor"),
    [
        (Event.AUTH_FAILURE, Actor.WORKER),
        (Event.RECONNECT_EXHAUSTED, Actor.WORKER),
        (Event.STALE, Actor.REAPER),
        (Event.CRASHED, Actor.LAUNCHER),
    ],
)
def test_fatal_events_mark_worker_and_tenant_error_and_revoke_lease(
    event: Event, actor: Actor
) -> None:
    d = decide(RUNNING_CONNECTED, event, actor)
    assert d.after == Statuses(T.ERROR, S.DISCONNECTED, W.ERROR)
    assert {Effect.REVOKE_LEASE, Effect.RECORD_ERROR} <= d.effects


def test_message_error_records_error_without_changing_status() -> None:
    d = decide(RUNNING_CONNECTED, Event.MESSAGE_ERROR, Actor.WORKER)
    assert d.after == RUNNING_CONNECTED
    assert not d.changes_status
    assert d.effects == {Effect.RECORD_ERROR}


def test_pause_survives_worker_events_and_resume_derives_from_session() -> None:
    paused = decide(RUNNING_CONNECTED, Event.PAUSED, Actor.TENANT).after
    assert paused.tenant is T.PAUSED
    dropped = decide(paused, Event.DISCONNECTED, Actor.WORKER).after
    assert dropped.tenant is T.PAUSED
    back = decide(dropped, Event.READY, Actor.WORKER).after
    assert decide(back, Event.RESUMED, Actor.TENANT).after == RUNNING_CONNECTED


def test_operator_stop_of_linked_tenant_is_not_reported_active() -> None:
    d = decide(RUNNING_CONNECTED, Event.STOPPED, Actor.OPERATOR)
    assert d.after == Statuses(T.ERROR, S.DISCONNECTED, W.STOPPED)
    # A never-linked tenant stays NEW when its worker stops.
    assert decide(STARTING, Event.STOPPED, Actor.WORKER).after.tenant is T.NEW


@pytest.mark.parametrize(
    ("current", "event", "actor"),
    [
        (Statuses(T.ERROR, S.DISCONNECTED, W.ERROR), Event.HEARTBEAT, Actor.WORKER),
        (Statuses(T.ERROR, S.DISCONNECTED, W.ERROR), Event.READY, Actor.WORKER),
        (RUNNING_CONNECTED, Event.LAUNCHED, Actor.LAUNCHER),
        (RUNNING_CONNECTED, Event.STALE, Actor.WORKER),
        (RUNNING_CONNECTED, Event.RESUMED, Actor.TENANT),
        (Statuses(), Event.PAUSED, Actor.TENANT),
        (Statuses(T.ERROR, S.DISCONNECTED, W.STOPPED), Event.STALE, Actor.REAPER),
    ],
)
def test_illegal_events_raise_typed_error(current: Statuses, event: Event, actor: Actor) -> None:
    with pytest.raises(IllegalTransitionError):
        decide(current, event, actor)


def test_every_event_has_exactly_one_row_and_readme_shows_them() -> None:
    assert set(TABLE) == set(Event)
    rows = table_rows()
    assert [r[0] for r in rows] == [e.value for e in Event]
    with open("README.md", encoding="utf-8") as readme:
        text = readme.read()
    for row in rows:
        assert "| " + " | ".join(row) + " |" in text, f"README table is stale for {row[0]}"


class RandomEvents(RuleBasedStateMachine):
    """Any sequence of events, by any actor, never reaches an illegal combination."""

    def __init__(self) -> None:
        super().__init__()
        self.state = Statuses()

    @rule(event=st.sampled_from(list(Event)), actor=st.sampled_from(list(Actor)))
    def happen(self, event: Event, actor: Actor) -> None:
        before = self.state
        try:
            decision = decide(before, event, actor)
        except IllegalTransitionError:
            assert self.state == before
            return
        assert decision.before == before
        self.state = decision.after

    @invariant()
    def legal(self) -> None:
        assert violations(self.state) == [], (self.state, violations(self.state))


TestRandomEvents = RandomEvents.TestCase


def test_violations_catches_an_illegal_state() -> None:
    # The invariant above is only worth something if it can fail.
    assert violations(Statuses(T.ACTIVE, S.DISCONNECTED, W.STOPPED))
    assert violations(Statuses(T.ERROR, S.CONNECTED, W.ERROR))


def test_setup_requests_follow_their_lifecycle() -> None:
    from chalicelib.domain.statuses import SETUP_NEXT, SETUP_OPEN, SetupStatus, setup_decision

    assert setup_decision(approve=True) == (SetupStatus.PENDING, SetupStatus.APPROVED)
    assert setup_decision(approve=False) == (SetupStatus.PENDING, SetupStatus.REJECTED)
    assert SetupStatus.REJECTED not in SETUP_OPEN and SetupStatus.ACTIVE not in SETUP_OPEN
    reached = {s for nexts in SETUP_NEXT.values() for s in nexts} | {SetupStatus.PENDING}
    assert reached == set(SetupStatus)  # every status is reachable, from one place
