"""Reaper, ECS task events and the restart policy, on moto with an injected clock."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.control import reaper, runtime
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.transitions import Actor, Event
from chalicelib.settings import Settings
from chalicelib.store import tenants
from chalicelib.store.models import HistoryModel, TenantModel
from tests.integration.conftest import FakeLauncher

STALE_MS = 1000  # the FAST settings' stale threshold


@pytest.fixture
def aws(_moto: Settings) -> Iterator[Settings]:
    """Tables of this test's own: the reaper scans (and may restart) every tenant of its
    table, and the session's shared one holds every other test's."""
    from chalicelib.store import models

    prefix = f"liveness-{uuid.uuid4().hex[:8]}"
    tables = {f.name: f"{prefix}-{f.name}" for f in dataclasses.fields(Settings)}
    mine = dataclasses.replace(_moto, **{k: v for k, v in tables.items() if k.endswith("_table")})
    models.bind(mine)
    models.create_tables(wait=False)
    yield mine
    models.bind(_moto)


@pytest.fixture
def control(aws: Settings, clock: ManualClock, launcher: FakeLauncher) -> FakeLauncher:
    runtime.configure(aws, clock=clock, launcher=launcher)
    return launcher


def running(clock: ManualClock, name: str = "Bistro") -> tuple[str, tenants.Lease]:
    tid = tenants.create_tenant(name, now_ms=clock.now_ms()).tenant_id
    lease = tenants.acquire_lease(tid, now_ms=clock.now_ms(), stale_after_ms=STALE_MS)
    tenants.set_task_ref(lease, f"fake:{tid}")
    tenants.apply_event(tid, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    return tid, lease


def state(tid: str) -> tuple[str, str, str]:
    i = tenants.get_tenant(tid, consistent=True)
    return (i.tenant_status, i.session_state, i.worker_status)


def events(tid: str) -> list[tuple[str, str, str | None]]:
    return [(h.event, h.actor, h.detail) for h in HistoryModel.query(tid)]


def test_reaper_marks_only_stale_workers(control: FakeLauncher, clock: ManualClock) -> None:
    dead, _ = running(clock, "Dead")
    clock.advance(STALE_MS + 1)
    alive, _ = running(clock, "Alive")
    report = reaper.reap()
    assert dead in report.reaped and alive not in report.reaped
    assert state(dead) == ("ERROR", "DISCONNECTED", "ERROR")
    assert state(alive) == ("ACTIVE", "CONNECTED", "RUNNING")
    assert events(dead)[-1] == ("stale", "reaper", "heartbeat stale")
    assert tenants.get_tenant(dead).owner_id is None  # lease revoked
    assert reaper.reap().reaped == []  # nothing twice


def test_a_stale_session_stays_placed_so_its_host_falling_silent_next_still_moves_it(
    control: FakeLauncher, clock: ManualClock
) -> None:
    """A session and its host heartbeat at the same pace but not in step: the reaper may see
    the session stale one run before its host. Its tenant must still move with the host."""
    from chalicelib.store import hosts

    beat = {"capacity": 4, "pss_mb": 300.0, "limit_mb": 4096.0, "tenant_mb": {}}

    def on_host(name: str) -> tuple[str, str]:
        tid, lease = running(clock, name)
        host = hosts.new_host(capacity=4, now_ms=clock.now_ms()).host_id
        hosts.heartbeat(host, now_ms=clock.now_ms(), first=True, **beat)  # RUNNING
        hosts.place(host, lease, now_ms=clock.now_ms())
        tenants.set_task_ref(lease, hosts.task_ref(host, tid))
        return tid, host

    tid, host = on_host("Falling silent")
    clock.advance(STALE_MS + 1)
    hosts.heartbeat(host, now_ms=clock.now_ms(), **beat)  # the host beat just in time
    assert tid in reaper.reap().reaped  # the session is stale first
    # The placement stays: the session ends itself at its next write (its lease is revoked)
    # and its host takes it off then.
    assert [p.lease.tenant_id for p in hosts.placements(host)[1]] == [tid]
    assert control.launched == []
    clock.advance(STALE_MS + 1)  # ... but the host falls silent too
    assert host in reaper.reap().hosts.lost
    assert [lease.tenant_id for lease in control.launched] == [tid]  # moved elsewhere


def test_a_heartbeat_between_scan_and_write_wins(
    control: FakeLauncher, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid, lease = running(clock, "Slow")
    clock.advance(STALE_MS + 1)
    real_scan = TenantModel.scan

    def scan_then_heartbeat(*args: Any, **kwargs: Any) -> Iterator[TenantModel]:
        for item in real_scan(*args, **kwargs):
            if item.tenant_id == tid:  # the worker was only slow: it beats right now
                tenants.heartbeat(lease, now_ms=clock.now_ms(), connected=True)
            yield item

    monkeypatch.setattr(TenantModel, "scan", scan_then_heartbeat)
    report = reaper.reap()
    assert tid in report.lost_race and tid not in report.reaped
    assert state(tid) == ("ACTIVE", "CONNECTED", "RUNNING")
    tenants.heartbeat(lease, now_ms=clock.now_ms(), connected=True)  # still holds its lease


def test_reaper_pages_through_the_table(control: FakeLauncher, clock: ManualClock) -> None:
    dead = [running(clock, f"T{i}")[0] for i in range(23)]
    clock.advance(STALE_MS + 1)
    report = reaper.reap(page_size=5)
    assert set(dead) <= set(report.reaped)


def test_an_ecs_stopped_event_of_a_host_records_its_sessions_once_and_moves_them(
    control: FakeLauncher, clock: ManualClock, aws: Settings
) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.launch.ecs import HOST_ENV
    from chalicelib.store import hosts

    tid, lease = running(clock, "Fargate")
    host = hosts.new_host(capacity=4, now_ms=clock.now_ms()).host_id
    hosts.place(host, lease, now_ms=clock.now_ms())
    tenants.set_task_ref(lease, hosts.task_ref(host, tid))

    def event(host_id: str) -> dict[str, Any]:
        return {
            "lastStatus": "STOPPED",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "worker", "exitCode": 137}],
            "overrides": {
                "containerOverrides": [
                    {"name": "worker", "environment": [{"name": HOST_ENV, "value": host_id}]}
                ]
            },
        }

    with Client(app) as client:

        def send(detail: dict[str, Any]) -> Any:
            cw = client.events.generate_cw_event(
                source="aws.ecs",
                detail_type="ECS Task State Change",
                detail=detail,
                resources=[],
            )
            return client.lambda_.invoke("task_stopped", cw)

        send(event("h_other"))  # another host's task: nothing happens to this tenant
        assert state(tid) == ("ACTIVE", "CONNECTED", "RUNNING")
        send(event(host))
        assert "exit code 137" in (tenants.get_tenant(tid).last_error or "")
        assert [e[0] for e in events(tid)].count("crashed") == 1
        assert [moved.tenant_id for moved in control.launched] == [tid]  # started elsewhere
        assert control.launched[0].epoch == lease.epoch + 1  # with a new lease
        send(event(host))  # duplicate delivery
        assert [e[0] for e in events(tid)].count("crashed") == 1
        assert len(control.launched) == 1
        ignored = send({"lastStatus": "STOPPED", "overrides": {}})
        assert ignored.payload["result"].startswith("ignored")


def test_the_reaper_function_logs_json_with_a_request_id_and_publishes_its_metric(
    control: FakeLauncher, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from chalice.test import Client

    from app import app
    from chalicelib import observability

    observability.reset()
    tid, _ = running(clock, "Scheduled")
    clock.advance(STALE_MS + 1)
    try:
        with Client(app) as client:
            result = client.lambda_.invoke(
                "reaper",
                client.events.generate_cw_event(
                    source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
                ),
            )
    finally:
        observability.reset()
    assert result.payload["reaped"] >= 1
    assert state(tid)[2] == "ERROR"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    logs = [line for line in lines if "level" in line]
    assert logs, lines
    for line in logs:
        assert line["level"] and line["timestamp"] and line["service"] == "wafleet-reaper"
        assert line["request_id"]
    marked = [line for line in logs if line.get("tenant_id") == tid]
    assert marked and all("epoch" in line for line in marked)
    (emf,) = [line for line in lines if "ReapedWorkers" in line]
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "wafleet" and directive["Dimensions"] == [["service"]]
    assert emf["service"] == "reaper" and emf["ReapedWorkers"] == [float(result.payload["reaped"])]
    # The whole fleet counted by worker status, for the dashboard.
    counted = sum(emf[f"Workers{s}"][0] for s in ("Running", "Starting", "Error", "Stopped"))
    assert counted == result.payload["scanned"] == 1
    # The worker it reaped counts as the run leaves it: in ERROR, its session disconnected.
    assert (emf["WorkersError"], emf["WorkersRunning"]) == ([1.0], [0.0])
    assert (emf["SessionsDisconnected"], emf["SessionsConnected"]) == ([1.0], [0.0])
    # And by session state, with the share of linked, running bots that are connected.
    states = sum(emf[f"Sessions{s}"][0] for s in ("Connected", "QrReady", "Disconnected"))
    assert states == result.payload["scanned"]
    (share,) = [line for line in lines if "ConnectedShare" in line]
    (unit,) = share["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    assert unit == {"Name": "ConnectedShare", "Unit": "Percent"}
    assert 0 <= share["ConnectedShare"][0] <= 100


def test_auto_restart_backs_off_and_respects_stop_and_pause(
    control: FakeLauncher, clock: ManualClock
) -> None:
    crashed, _ = running(clock, "Crashy")
    stopped, _ = running(clock, "Stopped by operator")
    paused, _ = running(clock, "Paused")
    clock.advance(STALE_MS + 1)
    reaper.reap()  # all three go ERROR now
    tenants.set_desired(stopped, "STOP", now_ms=clock.now_ms())
    tenants.apply_event(paused, Event.PAUSED, Actor.TENANT, now_ms=clock.now_ms())

    ours = {crashed, stopped, paused}
    clock.advance(5_000)
    assert ours.isdisjoint(reaper.reap(auto_restart=True).restarted)  # inside 10 s backoff
    clock.advance(5_001)
    report = reaper.reap(auto_restart=True)
    assert ours & set(report.restarted) == {crashed}
    assert events(crashed)[-1] == ("launched", "launcher", "automatic restart #1")
    assert state(stopped)[2] == "ERROR" and state(paused)[2] == "ERROR"

    # It crashes again at once: the next restart waits 20 s, not 10.
    clock.advance(STALE_MS + 1)
    reaper.reap(auto_restart=True)
    clock.advance(15_000)
    assert crashed not in reaper.reap(auto_restart=True).restarted
    clock.advance(5_001)
    assert crashed in reaper.reap(auto_restart=True).restarted
    assert int(tenants.get_tenant(crashed).restarts) == 2
