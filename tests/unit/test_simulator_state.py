"""The simulator's rules, on a manual clock: QR rotation, expiry, linking, messages."""

from __future__ import annotations

import pytest

from chalicelib.domain.clock import ManualClock
from devstack.simulator.state import LinkError, QrTiming, Simulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock.now_ms, QrTiming(first_ms=60_000, next_ms=20_000, count=6))


def test_first_code_for_60s_then_every_20s_six_in_all(sim: Simulator, clock: ManualClock) -> None:
    shown = []
    for at in (0, 59_999, 60_000, 79_999, 80_000, 100_000, 120_000, 140_000):
        clock.advance(at - (clock.now_ms() - 1_700_000_000_000))
        shown.append(sim.current_qr("d1").get("attempt"))
    assert shown == [1, 1, 2, 2, 3, 4, 5, 6]
    clock.advance(20_000)
    assert sim.current_qr("d1") == {"expired": True}
    sim.reload_qr("d1")
    assert sim.current_qr("d1")["attempt"] == 1


def test_only_the_code_on_screen_links(sim: Simulator, clock: ManualClock) -> None:
    first = sim.current_qr("d1")["payload"]
    clock.advance(60_000)
    second = sim.current_qr("d1")["payload"]
    with pytest.raises(LinkError) as expired:
        sim.link(first, "+4915100000001")
    assert expired.value.status == 410
    with pytest.raises(LinkError) as unknown:
        sim.link("2@made-up", "+4915100000001")
    assert unknown.value.status == 404
    assert sim.link(second, "+4915100000001")["device"] == "d1"
    assert sim.boot("d1")["screen"] == "main"


def test_linking_a_new_device_logs_the_old_one_out(sim: Simulator) -> None:
    sim.link(sim.current_qr("old")["payload"], "+4915100000001")
    sim.link(sim.current_qr("new")["payload"], "+4915100000001")
    assert sim.boot("old") == {"screen": "logged_out"}
    assert sim.boot("new")["screen"] == "main"


def test_messages_unread_until_opened_and_sent_listed(sim: Simulator) -> None:
    sim.link(sim.current_qr("d1")["payload"], "+4915100000001")
    sim.inbound("+4915100000001", "+1555", "hi", None)
    assert sim.boot("d1")["chats"] == [{"peer": "+1555", "unread": 1, "lastAt": sim.clock()}]
    assert [m["text"] for m in sim.open_chat("d1", "+1555")] == ["hi"]
    assert sim.boot("d1")["chats"][0]["unread"] == 0
    sim.send("d1", "+1555", "hello")
    assert [m["text"] for m in sim.sent("+4915100000001")] == ["hello"]
    sim.set_online("+4915100000001", False)
    with pytest.raises(LinkError):
        sim.send("d1", "+1555", "while offline")
