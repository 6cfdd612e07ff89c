"""The store against moto: leases, fenced worker writes, atomic history, reaper re-check."""

from __future__ import annotations

import threading

import pytest

from chalicelib.domain.clock import ManualClock
from chalicelib.domain.errors import (
    ConcurrentUpdateError,
    DuplicateError,
    LeaseHeldError,
    StaleOwnerError,
)
from chalicelib.domain.liveness import stale_cutoff
from chalicelib.domain.statuses import (
    TemplateType,
    WorkerStatus,
)
from chalicelib.domain.transitions import Actor, Event
from chalicelib.settings import Settings
from chalicelib.store import history, messages, setup_requests, tenants
from chalicelib.store.models import HistoryModel, TenantModel
from tests.conftest import new_number

STALE_MS = 1000


@pytest.fixture
def tenant(aws: Settings, clock: ManualClock) -> str:
    return tenants.create_tenant("Pizza Roma", now_ms=clock.now_ms(), phone="+391234567").tenant_id


def launch(tenant_id: str, clock: ManualClock) -> tenants.Lease:
    return tenants.acquire_lease(tenant_id, now_ms=clock.now_ms(), stale_after_ms=STALE_MS)


def all_history(tenant_id: str) -> list[HistoryModel]:
    return list(HistoryModel.query(tenant_id))


def test_create_refuses_to_overwrite(tenant: str, clock: ManualClock) -> None:
    with pytest.raises(DuplicateError):
        tenants.create_tenant("Other", now_ms=clock.now_ms(), tenant_id=tenant)
    assert tenants.get_tenant(tenant).name == "Pizza Roma"


def test_lease_acquire_raises_epoch_and_sets_fresh_owner(tenant: str, clock: ManualClock) -> None:
    first = launch(tenant, clock)
    tenants.apply_event(tenant, Event.STOPPED, Actor.WORKER, now_ms=clock.now_ms(), lease=first)
    second = launch(tenant, clock)
    assert (first.epoch, second.epoch) == (1, 2)
    assert first.owner_id != second.owner_id
    item = tenants.get_tenant(tenant)
    assert (item.owner_id, item.lease_epoch, item.worker_status) == (
        second.owner_id,
        2,
        WorkerStatus.STARTING.value,
    )


def test_lease_refused_while_a_live_worker_holds_it(tenant: str, clock: ManualClock) -> None:
    lease = launch(tenant, clock)
    clock.advance(STALE_MS)  # exactly at the threshold: still live
    with pytest.raises(LeaseHeldError):
        launch(tenant, clock)
    assert tenants.get_tenant(tenant).owner_id == lease.owner_id


def test_lease_taken_over_from_a_stale_worker_with_history(tenant: str, clock: ManualClock) -> None:
    old = launch(tenant, clock)
    clock.advance(STALE_MS + 1)
    new = launch(tenant, clock)
    assert new.epoch == old.epoch + 1
    events = [h.event for h in all_history(tenant)]
    assert events == ["launched", "stale", "launched"]
    with pytest.raises(StaleOwnerError):
        tenants.apply_event(tenant, Event.HEARTBEAT, Actor.WORKER, now_ms=clock.now_ms(), lease=old)


def test_two_concurrent_acquires_exactly_one_wins(tenant: str, clock: ManualClock) -> None:
    for _round in range(5):
        barrier = threading.Barrier(2)
        won: list[tenants.Lease] = []
        lost: list[Exception] = []

        def attempt(
            barrier: threading.Barrier = barrier,
            won: list[tenants.Lease] = won,
            lost: list[Exception] = lost,
        ) -> None:
            barrier.wait()
            try:
                won.append(launch(tenant, clock))
            except LeaseHeldError as exc:
                lost.append(exc)

        threads = [threading.Thread(target=attempt) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and len(lost) == 1
        assert tenants.get_tenant(tenant, consistent=True).owner_id == won[0].owner_id
        tenants.apply_event(
            tenant, Event.STOPPED, Actor.WORKER, now_ms=clock.now_ms(), lease=won[0]
        )


def test_stale_owner_heartbeat_is_refused_and_changes_nothing(
    tenant: str, clock: ManualClock
) -> None:
    old = launch(tenant, clock)
    tenants.apply_event(tenant, Event.HEARTBEAT, Actor.WORKER, now_ms=clock.now_ms(), lease=old)
    clock.advance(STALE_MS + 1)
    new = launch(tenant, clock)
    before = tenants.get_tenant(tenant, consistent=True).attribute_values
    clock.advance(10)
    with pytest.raises(StaleOwnerError):
        tenants.heartbeat(old, now_ms=clock.now_ms(), connected=True)
    with pytest.raises(StaleOwnerError):
        tenants.apply_event(tenant, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=old)
    assert tenants.get_tenant(tenant, consistent=True).attribute_values == before
    assert new.owner_id == before["owner_id"]


def test_late_reconnect_progress_does_not_undo_the_reset_of_ready(
    tenant: str, clock: ManualClock
) -> None:
    lease = launch(tenant, clock)
    tenants.apply_event(tenant, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    tenants.apply_event(
        tenant, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    assert tenants.record_reconnect(lease, attempts=1, next_retry_at_ms=clock.now_ms() + 500)
    assert tenants.get_tenant(tenant, consistent=True).reconnect_attempts == 1
    tenants.apply_event(tenant, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    # The reconnect loop's next write was already on its way when the phone came back.
    assert not tenants.record_reconnect(lease, attempts=2, next_retry_at_ms=clock.now_ms() + 900)
    item = tenants.get_tenant(tenant, consistent=True)
    assert item.reconnect_attempts is None and item.next_retry_at is None
    clock.advance(STALE_MS + 1)
    launch(tenant, clock)
    with pytest.raises(StaleOwnerError):
        tenants.record_reconnect(lease, attempts=3, next_retry_at_ms=None)


def test_zombie_cannot_overwrite_reaper_even_with_same_epoch(
    tenant: str, clock: ManualClock
) -> None:
    lease = launch(tenant, clock)
    tenants.apply_event(tenant, Event.HEARTBEAT, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    clock.advance(STALE_MS + 1)
    item = tenants.get_tenant(tenant, consistent=True)
    tenants.transition(
        tenant,
        Event.STALE,
        Actor.REAPER,
        tenants.guard_of(item, heartbeat_before_ms=stale_cutoff(clock.now_ms(), STALE_MS)),
        now_ms=clock.now_ms(),
        detail="heartbeat stale",
    )
    before = tenants.get_tenant(tenant, consistent=True).attribute_values
    messages.record_inbound(
        tenant, "m1", from_number="+1555", to_number=None, text="hi", at_ms=clock.now_ms()
    )
    # The worker wakes up (SIGCONT) and tries to carry on: every write is refused.
    with pytest.raises(StaleOwnerError):
        tenants.heartbeat(lease, now_ms=clock.now_ms(), connected=True)
    with pytest.raises(StaleOwnerError):
        tenants.apply_event(tenant, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    with pytest.raises(StaleOwnerError):
        tenants.record_reconnect(lease, attempts=1, next_retry_at_ms=None)
    with pytest.raises(StaleOwnerError):  # nor may it answer: the next worker will
        messages.claim_reply(
            lease, "m1", reply_id="r1", to_number="+1555", from_number=None, text="Hi", at_ms=1
        )
    assert tenants.get_tenant(tenant, consistent=True).attribute_values == before
    assert before["worker_status"] == WorkerStatus.ERROR.value
    assert messages.get_inbound(tenant, "m1").state == "RECEIVED"  # type: ignore[union-attr]


def test_transition_and_history_are_one_atomic_write(tenant: str, clock: ManualClock) -> None:
    lease = launch(tenant, clock)
    item = tenants.get_tenant(tenant, consistent=True)
    # History sort key collision forces the transaction to fail: the state must not move.
    clock_ms = clock.now_ms()
    guard = tenants.guard_of(item, owner_id=lease.owner_id)
    HistoryModel(
        tenant,
        "x",
        at=0,
        event="x",
        actor="x",
        epoch=0,
        from_tenant="x",
        from_session="x",
        from_worker="x",
        to_tenant="x",
        to_session="x",
        to_worker="x",
    ).save()

    original = tenants._history_entry

    def colliding(*args: object, **kwargs: object) -> HistoryModel:
        entry = original(*args, **kwargs)  # type: ignore[arg-type]
        entry.sk = "x"
        return entry

    tenants._history_entry = colliding  # type: ignore[assignment]
    try:
        with pytest.raises(ConcurrentUpdateError):
            tenants.transition(tenant, Event.READY, Actor.WORKER, guard, now_ms=clock_ms)
    finally:
        tenants._history_entry = original  # type: ignore[assignment]
    assert tenants.get_tenant(tenant, consistent=True).session_state == "DISCONNECTED"
    tenants.transition(tenant, Event.READY, Actor.WORKER, guard, now_ms=clock_ms)
    entries = [h for h in all_history(tenant) if h.event == "ready"]
    assert len(entries) == 1
    e = entries[0]
    assert (e.from_tenant, e.to_tenant, e.to_session, e.to_worker, e.epoch, e.actor) == (
        "NEW",
        "ACTIVE",
        "CONNECTED",
        "RUNNING",
        lease.epoch,
        "worker",
    )


def test_every_status_change_has_a_history_entry(tenant: str, clock: ManualClock) -> None:
    lease = launch(tenant, clock)
    qr = tenants.QrCode("2@abc,def", 1, 6, clock.now_ms() + 60_000)
    for event in (Event.QR, Event.QR, Event.READY, Event.DISCONNECTED, Event.READY):
        clock.advance(5)
        tenants.apply_event(tenant, event, Actor.WORKER, now_ms=clock.now_ms(), lease=lease, qr=qr)
    # The second QR (a rotation) changes no status and so writes no history.
    assert [h.event for h in all_history(tenant)] == [
        "launched",
        "qr",
        "ready",
        "disconnected",
        "ready",
    ]
    page = history.list_history(tenant, limit=2)
    assert [h.event for h in page.items] == ["ready", "disconnected"]
    rest = history.list_history(tenant, limit=10, cursor_token=page.next_cursor)
    assert [h.event for h in rest.items] == ["ready", "qr", "launched"]


def test_history_keeps_the_order_of_changes_within_one_millisecond(
    tenant: str, clock: ManualClock
) -> None:
    lease = launch(tenant, clock)  # the clock does not move from here on
    qr = tenants.QrCode("2@abc,def", 1, 6, clock.now_ms() + 60_000)
    for event in (Event.QR, Event.READY, Event.DISCONNECTED, Event.READY, Event.STOPPED):
        tenants.apply_event(tenant, event, Actor.WORKER, now_ms=clock.now_ms(), lease=lease, qr=qr)
    newest_first = [h.event for h in history.list_history(tenant, limit=10).items]
    assert newest_first == ["stopped", "ready", "disconnected", "ready", "qr", "launched"]


def test_a_transition_decided_from_an_old_read_is_refused(tenant: str, clock: ManualClock) -> None:
    lease = launch(tenant, clock)
    tenants.apply_event(tenant, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    seen = tenants.get_tenant(tenant, consistent=True)
    # Two changes after the read bring the statuses and the epoch back to what was seen.
    for event in (Event.DISCONNECTED, Event.READY):
        tenants.apply_event(tenant, event, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    assert tenants.statuses_of(tenants.get_tenant(tenant)) == tenants.statuses_of(seen)
    with pytest.raises(ConcurrentUpdateError):
        tenants.transition(
            tenant, Event.PAUSED, Actor.TENANT, tenants.guard_of(seen), now_ms=clock.now_ms()
        )
    assert [h.event for h in history.list_history(tenant, limit=1).items] == ["ready"]


def test_reaper_write_loses_to_a_heartbeat_that_lands_after_its_read(
    tenant: str, clock: ManualClock
) -> None:
    lease = launch(tenant, clock)
    tenants.apply_event(tenant, Event.HEARTBEAT, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    clock.advance(STALE_MS + 1)
    seen = tenants.get_tenant(tenant, consistent=True)  # reaper reads: stale
    tenants.heartbeat(lease, now_ms=clock.now_ms(), connected=False)  # worker was only slow
    guard = tenants.guard_of(seen, heartbeat_before_ms=stale_cutoff(clock.now_ms(), STALE_MS))
    with pytest.raises(ConcurrentUpdateError):
        tenants.transition(tenant, Event.STALE, Actor.REAPER, guard, now_ms=clock.now_ms())
    assert tenants.get_tenant(tenant, consistent=True).worker_status == "RUNNING"


def test_one_open_setup_request_at_a_time(tenant: str, clock: ManualClock) -> None:
    kwargs = dict(
        template=TemplateType.SALON,
        whatsapp_number=new_number(),
        business_name=None,
        notes=None,
        now_ms=clock.now_ms(),
    )
    first = setup_requests.submit(tenant, "u1", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(setup_requests.SetupConflictError):
        setup_requests.submit(tenant, "u1", **kwargs)  # type: ignore[arg-type]
    setup_requests.decide(first.request_id, approve=False, admin_id="a", now_ms=1, reason="no")
    with pytest.raises(setup_requests.SetupConflictError):
        setup_requests.decide(first.request_id, approve=True, admin_id="a", now_ms=2)
    second = setup_requests.submit(tenant, "u1", **kwargs)  # type: ignore[arg-type]
    assert tenants.get_tenant(tenant).setup_id == second.request_id


def test_a_setup_request_and_its_audit_entry_are_one_write(
    tenant: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import portal_events

    kwargs = dict(
        template=TemplateType.SALON,
        whatsapp_number=new_number(),
        business_name=None,
        notes=None,
        now_ms=clock.now_ms(),
    )
    real = portal_events.entry

    def broken(*args: object, **kw: object) -> object:
        entry = real(*args, **kw)  # type: ignore[arg-type]
        entry.payload = "x" * 500_000  # over DynamoDB's item size: this write must fail
        return entry

    monkeypatch.setattr(portal_events, "entry", broken)
    with pytest.raises(Exception):  # noqa: B017 (DynamoDB's refusal, whatever its type)
        setup_requests.submit(tenant, "u1", **kwargs)  # type: ignore[arg-type]
    assert tenants.get_tenant(tenant, consistent=True).setup_id is None  # nothing half-written
    monkeypatch.setattr(portal_events, "entry", real)
    request = setup_requests.submit(tenant, "u1", **kwargs)  # type: ignore[arg-type]
    logged = [e for e in portal_events.list_events(tenant) if e.event_type.startswith("setup")]
    assert len(logged) == 1 and request.request_id in (logged[0].payload or "")


def test_inbound_messages_are_deduplicated_by_whatsapp_id(tenant: str, clock: ManualClock) -> None:
    args = dict(from_number="+15550001", to_number=None, text="menu", at_ms=clock.now_ms())
    assert messages.record_inbound(tenant, "wamid.1", **args) is True  # type: ignore[arg-type]
    assert messages.record_inbound(tenant, "wamid.1", **args) is False  # type: ignore[arg-type]
    page = messages.list_messages(tenant, limit=50)
    assert [m.wa_message_id for m in page.items] == ["wamid.1"]


def test_reply_is_claimed_once_and_only_by_the_lease_holder(
    tenant: str, clock: ManualClock
) -> None:
    lease = launch(tenant, clock)
    messages.record_inbound(
        tenant, "m1", from_number="+1555", to_number=None, text="hi", at_ms=clock.now_ms()
    )
    claim = dict(
        reply_id="r1", to_number="+1555", from_number=None, text="Hello!", at_ms=clock.now_ms() + 1
    )
    assert messages.claim_reply(lease, "m1", **claim) is True  # type: ignore[arg-type]
    assert messages.claim_reply(lease, "m1", **claim) is False  # type: ignore[arg-type]
    messages.record_inbound(
        tenant, "m2", from_number="+1555", to_number=None, text="hi", at_ms=clock.now_ms()
    )
    clock.advance(STALE_MS + 1)
    launch(tenant, clock)
    with pytest.raises(StaleOwnerError):
        messages.claim_reply(lease, "m2", **{**claim, "reply_id": "r2"})  # type: ignore[arg-type]
    assert messages.get_inbound(tenant, "m2").state == "RECEIVED"  # type: ignore[union-attr]


def test_logs_newest_first_with_limit_and_cursor(tenant: str, clock: ManualClock) -> None:
    for i in range(7):
        clock.advance(1000)
        messages.record_inbound(
            tenant, f"m{i}", from_number="+1555", to_number=None, text=f"n{i}", at_ms=clock.now_ms()
        )
    first = messages.list_messages(tenant, limit=3)
    assert [m.wa_message_id for m in first.items] == ["m6", "m5", "m4"]
    second = messages.list_messages(tenant, limit=3, cursor_token=first.next_cursor)
    assert [m.wa_message_id for m in second.items] == ["m3", "m2", "m1"]
    third = messages.list_messages(tenant, limit=3, cursor_token=second.next_cursor)
    assert [m.wa_message_id for m in third.items] == ["m0"]


def test_cursor_of_another_tenant_is_refused(tenant: str, clock: ManualClock) -> None:
    from chalicelib.domain.errors import ValidationError

    other = tenants.create_tenant("Other", now_ms=clock.now_ms()).tenant_id
    for i in range(3):
        messages.record_inbound(
            other, f"o{i}", from_number="+1", to_number=None, text="x", at_ms=clock.now_ms() + i
        )
    foreign = messages.list_messages(other, limit=1).next_cursor
    with pytest.raises(ValidationError, match="cursor"):
        messages.list_messages(tenant, limit=1, cursor_token=foreign)
    with pytest.raises(ValidationError, match="cursor"):
        messages.list_messages(tenant, limit=1, cursor_token="not-a-cursor!")


def test_state_item_stays_under_1kb_in_its_largest_form(tenant: str, clock: ManualClock) -> None:
    from chalicelib.store import models
    from devstack.item_size import item_size

    big = "W" * 500
    tenants.create_tenant(
        big, now_ms=clock.now_ms(), phone="+" + "9" * 30, tenant_id="t_" + "f" * 12
    )
    tid = "t_" + "f" * 12
    request = setup_requests.submit(
        tid,
        "u" * 36,
        template=TemplateType.RESTAURANT,
        whatsapp_number=new_number(),
        business_name=None,
        notes=None,
        now_ms=clock.now_ms(),
    )
    setup_requests.decide(request.request_id, approve=True, admin_id="a", now_ms=clock.now_ms())
    lease = launch(tid, clock)
    tenants.set_task_ref(
        lease, "arn:aws:ecs:ap-southeast-2:123456789012:task/wafleet-workers/" + "0" * 64
    )
    qr = tenants.QrCode("2@" + "Q" * 1000, 6, 6, 9_999_999_999_999)
    tenants.apply_event(tid, Event.QR, Actor.WORKER, now_ms=9_999_999_999_999, lease=lease, qr=qr)
    tenants.heartbeat(
        lease, now_ms=9_999_999_999_999, connected=True, host_share_mb=123.4, browser_mb=345
    )
    tenants.record_reconnect(lease, attempts=99, next_retry_at_ms=9_999_999_999_999)
    tenants.apply_event(
        tid,
        Event.MESSAGE_ERROR,
        Actor.WORKER,
        now_ms=9_999_999_999_999,
        lease=lease,
        detail="E" * 5000,
    )
    item = TenantModel.get(tid)
    wire = item.serialize()
    assert "qr" in wire and "er" in wire and "tk" in wire  # every large attribute present
    assert len(wire["qr"]["S"]) == models.MAX_QR_PAYLOAD
    size = item_size(wire)
    assert size < 1024, size


def test_item_size_matches_dynamodb_rules() -> None:
    from devstack.item_size import item_size

    assert item_size({"ab": {"S": "héllo"}}) == 2 + 6
    assert item_size({"n": {"N": "12345"}}) == 1 + 4
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4


def submit(tenant_id: str, number: str, clock: ManualClock) -> setup_requests.SetupRequestModel:
    return setup_requests.submit(
        tenant_id,
        "u1",
        template=TemplateType.SHOP,
        whatsapp_number=number,
        business_name=None,
        notes=None,
        now_ms=clock.now_ms(),
    )


def test_two_tenants_asking_for_one_number_at_once_one_gets_it(
    aws: Settings, clock: ManualClock
) -> None:
    number = new_number()
    ids = [tenants.create_tenant(f"T{n}", now_ms=1).tenant_id for n in range(8)]
    won: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(len(ids))

    def ask(tenant_id: str) -> None:
        start.wait()
        try:
            submit(tenant_id, number, clock)
            won.append(tenant_id)
        except setup_requests.NumberTakenError as exc:
            assert "another business" in str(exc)
            refused.append(tenant_id)

    threads = [threading.Thread(target=ask, args=(t,)) for t in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(refused) == 7
    assert setup_requests.holder(number) == won[0]
    # The others' tenant items were not touched: no open request, free to ask for another.
    for tenant_id in refused:
        assert tenants.get_tenant(tenant_id, consistent=True).setup_id is None


def test_a_number_is_held_while_asked_for_and_once_approved_and_freed_by_a_rejection(
    aws: Settings, clock: ManualClock
) -> None:
    first, second = (tenants.create_tenant(n, now_ms=1).tenant_id for n in ("A", "B"))
    number, other = new_number(), new_number()
    asked = submit(first, number, clock)
    with pytest.raises(setup_requests.NumberTakenError):
        submit(second, number, clock)
    setup_requests.decide(asked.request_id, approve=False, admin_id="a", now_ms=2, reason="x")
    assert setup_requests.holder(number) is None  # a rejection frees it
    theirs = submit(second, number, clock)
    setup_requests.decide(theirs.request_id, approve=True, admin_id="a", now_ms=3)
    assert tenants.get_tenant(second).phone == number
    with pytest.raises(setup_requests.NumberTakenError):
        submit(first, number, clock)
    # The holder moves to another number: the old one is free for anyone.
    setup_requests.activate(second, now_ms=4)
    moved = submit(second, other, clock)
    setup_requests.decide(moved.request_id, approve=True, admin_id="a", now_ms=5)
    assert setup_requests.holder(other) == second and setup_requests.holder(number) is None
    assert submit(first, number, clock).whatsapp_number == number
