"""Faults against real worker hosts (one tenant each here; test_hosts.py packs several): the
status converges to the truth within its bound, no zombie write is accepted, history stays
complete, no message is lost or answered twice."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

from chalicelib.api import presenters
from chalicelib.control import reaper, workers
from chalicelib.domain.clock import SystemClock
from chalicelib.domain.errors import LeaseHeldError
from chalicelib.store import messages, tenants, views
from chalicelib.store.models import HistoryModel
from tests.processes import PHONE, Sim, Stack, command_line, eventually

pytestmark = pytest.mark.process
FAULTS = str(Path(__file__).parent / "faults")


def new_tenant() -> str:
    return tenants.create_tenant("Chaos Cafe", now_ms=SystemClock().now_ms(), phone=PHONE).tenant_id


def item(tid: str) -> Any:
    return tenants.get_tenant(tid, consistent=True)


def shown(stack: Stack, tid: str) -> dict[str, Any]:
    """What the status API answers right now (the read path's staleness rule included)."""
    return presenters.tenant_status(
        views.tenant(item(tid)),
        None,
        now_ms=SystemClock().now_ms(),
        stale_ms=stack.settings.stale_ms,
    )


def statuses(tid: str) -> tuple[str, str, str]:
    i = item(tid)
    return (i.tenant_status, i.session_state, i.worker_status)


def linked(stack: Stack, sim: Sim) -> str:
    tid = new_tenant()
    workers.start(tid)
    payload = eventually(lambda: item(tid).qr_payload, what="QR")
    sim.link(payload)
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="linked")
    return tid


def history_is_complete(tid: str) -> list[HistoryModel]:
    """Each entry starts where the previous one ended, and the last ends where the item is."""
    entries = sorted(HistoryModel.query(tid), key=lambda h: h.sk)
    for before, after in itertools.pairwise(entries):
        assert (before.to_tenant, before.to_session, before.to_worker) == (
            after.from_tenant,
            after.from_session,
            after.from_worker,
        ), (before.event, after.event)
    last = entries[-1]
    assert (last.to_tenant, last.to_session, last.to_worker) == statuses(tid)
    return entries


def answered_once(sim: Sim, texts: list[str]) -> None:
    replies = [m["text"] for m in sim.sent()]
    assert len(replies) == len(texts), replies


def test_kill_9_of_its_host_is_recorded_at_once_and_the_tenant_resumes_elsewhere(
    stack: Stack, sim: Sim
) -> None:
    tid = linked(stack, sim)
    sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="reply")
    old_host = stack.host_of(tid)
    os.kill(stack.host_pid(tid), signal.SIGKILL)
    sim.inbound("menu")  # arrives while nobody is there
    eventually(
        lambda: "crashed" in [h.event for h in HistoryModel.query(tid)],
        timeout=5,
        what="crash recorded",
    )
    assert any("SIGKILL" in (h.detail or "") for h in HistoryModel.query(tid))
    eventually(
        lambda: (
            statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING") and stack.host_of(tid) != old_host
        ),
        what="back on a new host",
    )
    eventually(lambda: len(sim.sent()) == 2, what="backlog answered")
    answered_once(sim, ["hours", "menu"])
    assert [h.event for h in history_is_complete(tid)].count("qr") == 1


def test_a_sigstopped_host_is_lost_its_tenant_replaced_and_its_writes_refused(
    stack: Stack, sim: Sim
) -> None:
    tid = linked(stack, sim)
    old_pid, old_epoch = stack.host_pid(tid), int(item(tid).lease_epoch)
    old = psutil.Process(old_pid)
    old.suspend()
    try:
        eventually(
            lambda: shown(stack, tid)["worker"]["stale"],
            timeout=5,
            what="the API reports the hung session stale",
        )
        assert shown(stack, tid)["worker"]["status"] == "ERROR"
        assert f"local:{old_pid}" in stack.runner.running()
        # The reaper finds the host silent: it is lost, and its tenant starts elsewhere.
        eventually(lambda: reaper.reap().hosts.lost, what="the silent host lost")
        eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="takeover")
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            old.resume()  # unless the runner's SIGKILL after the stop timeout came first
    new_epoch = int(item(tid).lease_epoch)
    assert new_epoch == old_epoch + 1
    # It wakes up to the reaper's SIGTERM (exit 0), to learning it is gone (exit 3), or, if it
    # stayed stopped past the stop timeout, the runner's SIGKILL ended it (-9, as ECS does):
    # either way it ends, and none of its writes lands (checked on the history below).
    ref = f"local:{old_pid}"
    assert eventually(lambda: stack.runner.exit_codes.get(ref) is not None, what="exit")
    assert stack.runner.exit_codes[ref] in (0, 3, -9)
    sim.inbound("prices")
    eventually(lambda: len(sim.sent()) == 1, what="the new session replies")
    entries = history_is_complete(tid)
    lost_at = next(
        h.sk for h in entries if h.epoch == old_epoch and h.event in ("stale", "crashed")
    )
    zombie = [h.event for h in entries if h.sk > lost_at and h.epoch == old_epoch]
    assert zombie == []  # no write of the old session was accepted after its host was lost
    assert statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING")
    answered_once(sim, ["prices"])


def test_two_starts_at_once_give_one_worker(stack: Stack, sim: Sim) -> None:
    tid = new_tenant()
    barrier = threading.Barrier(2)
    results: list[str] = []

    def start() -> None:
        barrier.wait()
        try:
            workers.start(tid)
            results.append("started")
        except LeaseHeldError:
            results.append("refused")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused", "started"]
    eventually(lambda: statuses(tid)[2] == "RUNNING", what="one session running")
    assert len(stack.runner.running()) == 1
    assert int(item(tid).lease_epoch) == 1


def test_killed_browser_process_is_relaunched(stack: Stack, sim: Sim) -> None:
    tid = linked(stack, sim)
    browsers = [
        p
        for p in psutil.Process(stack.host_pid(tid)).children(recursive=True)
        if "chrom" in command_line(p).split(" ")[0] and "--type=" not in command_line(p)
    ]
    assert browsers
    for browser in browsers:
        browser.kill()
    eventually(
        lambda: "disconnected" in [h.event for h in HistoryModel.query(tid)],
        what="browser loss reported",
    )
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="relaunched")
    sim.inbound("order status")
    eventually(lambda: len(sim.sent()) == 1, what="replies again")
    history_is_complete(tid)


def test_throttled_heartbeats_are_retried_and_the_worker_stays_up(stack: Stack, sim: Sim) -> None:
    # botocore's standard retries (4 attempts) back off up to 1 + 2 + 4 s: the stale threshold
    # must leave room for them, as the AWS defaults do (beat 15 s, stale 45 s). Here: beat
    # 0.3 s, stale 10 s; with 30 % throttled, a gap over 10 s happens in ~1 run in 3,000.
    import dataclasses

    stack.settings = dataclasses.replace(stack.settings, heartbeat_s=0.3, stale_s=10.0)
    stack.configure({"PYTHONPATH": FAULTS, "WAFLEET_FAULT_UPDATES": "throttle:0.3"})
    tid = linked(stack, sim)
    seen = set()
    deadline = SystemClock().now_ms() + stack.settings.stale_ms * 3 // 2
    while SystemClock().now_ms() < deadline:  # past one stale window, sampled as the API would
        doc = shown(stack, tid)
        seen.add((doc["worker"]["status"], doc["worker"]["stale"]))
        threading.Event().wait(0.1)
    assert seen == {("RUNNING", False)}
    assert tid not in reaper.reap().reaped


def test_dynamodb_outage_on_heartbeats_stops_the_worker_and_status_follows(
    stack: Stack, sim: Sim
) -> None:
    stack.configure({"PYTHONPATH": FAULTS, "WAFLEET_FAULT_UPDATES": "error500:1.0"})
    tid = new_tenant()
    workers.start(tid)
    eventually(lambda: statuses(tid)[2] == "ERROR", timeout=20, what="the session gives up")
    assert "no successful heartbeat" in item(tid).last_error


def test_a_worker_clock_30s_behind_is_not_reaped(stack: Stack, sim: Sim) -> None:
    stack.configure({"PYTHONPATH": FAULTS, "WAFLEET_FAULT_CLOCK_SKEW_S": "-30"})
    tid = linked(stack, sim)
    for _ in range(3):
        eventually(
            lambda: int(item(tid).heartbeat_at) > SystemClock().now_ms() - 1000,
            what="heartbeats in server time",
        )
        assert tid not in reaper.reap().reaped
    assert shown(stack, tid)["worker"]["status"] == "RUNNING"


def test_phone_offline_then_online_keeps_history_complete(stack: Stack, sim: Sim) -> None:
    tid = linked(stack, sim)
    sim.control("offline")
    sim.inbound("are you there?")
    eventually(lambda: statuses(tid) == ("ERROR", "DISCONNECTED", "RUNNING"), what="offline")
    sim.control("online")
    eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="online")
    eventually(lambda: len(sim.sent()) == 1, what="the message sent while offline is answered")
    answered_once(sim, ["are you there?"])
    history_is_complete(tid)


def test_a_message_that_reaches_a_hung_workers_page_is_answered_once_by_its_successor(
    stack: Stack, sim: Sim
) -> None:
    tid = linked(stack, sim)
    first = sim.inbound("hours")
    eventually(lambda: len(sim.sent()) == 1, what="reply")
    old = psutil.Process(stack.host_pid(tid))
    old.suspend()  # the host hangs; its Chromium keeps running and takes the next message
    try:
        # In the chat it last answered: nothing about the chat list would bring anyone back.
        lost = sim.inbound("menu")
        eventually(lambda: shown(stack, tid)["worker"]["stale"], timeout=5, what="stale")
        # The silent host is lost; its tenant starts elsewhere.
        eventually(lambda: reaper.reap().hosts.lost, what="the silent host lost")
        eventually(lambda: statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING"), what="takeover")
        eventually(lambda: len(sim.sent()) == 2, what="the successor answers the lost message")
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            old.resume()  # unless the launcher's SIGKILL after the stop timeout came first
    eventually(lambda: not psutil.pid_exists(old.pid) or old.status() == "zombie", what="exit")
    for inbound in (first, lost):
        assert messages.get_inbound(tid, inbound).state == "REPLIED"  # type: ignore[union-attr]
    sim.inbound("prices")
    eventually(lambda: len(sim.sent()) == 3, what="and the next one")
    answered_once(sim, ["hours", "menu", "prices"])
    assert [h.event for h in history_is_complete(tid)].count("qr") == 1  # no new QR


def test_a_login_snapshot_cut_by_a_killed_browser_or_host_never_costs_a_new_code(
    stack: Stack, sim: Sim, tmp_path: Path
) -> None:
    """10 rounds: the browser killed while the login is archived, or the host killed while
    it is stored; then the host is gone, and the next one restores the login, no new code."""
    armed = tmp_path / "armed"
    stack.configure({"PYTHONPATH": FAULTS, "WAFLEET_FAULT_ARMED": str(armed)})
    tid = linked(stack, sim)
    for round_ in range(10):
        kind = ("browser", "upload")[round_ % 2]
        host = stack.host_of(tid)
        pid = stack.host_pid(tid)
        armed.write_text(kind)  # the next snapshot is struck
        eventually(lambda: not armed.exists(), what=f"round {round_}: the {kind} fault")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # (the upload fault killed it already)
        eventually(
            lambda h=host: (
                statuses(tid) == ("ACTIVE", "CONNECTED", "RUNNING") and stack.host_of(tid) != h
            ),
            timeout=40,
            what=f"round {round_} ({kind}): logged in on a new host from the saved login",
        )
    assert [h.event for h in history_is_complete(tid)].count("qr") == 1  # never a new code
