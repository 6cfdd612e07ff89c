"""Placing tenants on hosts (moto): room, least loaded first, a new host only when all are
full, concurrent starts never overfill, a lost host's tenants move with new leases, drains,
and the reaper's host checks."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chalicelib.control import reaper, runtime, workers
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.transitions import Actor, Event
from chalicelib.launch.placer import HostPlacer, NoRoomError
from chalicelib.settings import Settings
from chalicelib.store import hosts, tenants
from chalicelib.store.models import HostModel


class Runner:
    """Starts no process: records the hosts it was asked for."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.stopped: list[str] = []

    def start_host(self, host_id: str) -> str:
        self.started.append(host_id)
        return f"task-{host_id}"

    def stop_host(self, ref: str, reason: str) -> None:
        self.stopped.append(ref)


@pytest.fixture
def placer(aws: Settings, clock: ManualClock) -> HostPlacer:
    # Hosts are shared by every tenant: each test starts with none (the session's one moto).
    for item in HostModel.scan():
        item.delete()
    settings = dataclasses.replace(aws, host_tenants=3, stale_s=45, host_start_s=120)
    placer = HostPlacer(settings, clock, runner=Runner())
    runtime.configure(settings, clock=clock, launcher=placer)
    return placer


def runner(placer: HostPlacer) -> Runner:
    assert isinstance(placer.runner, Runner)
    return placer.runner


def new_tenants(clock: ManualClock, n: int) -> list[str]:
    return [tenants.create_tenant(f"T{i}", now_ms=clock.now_ms()).tenant_id for i in range(n)]


def host_of(tenant_id: str) -> str:
    parsed = hosts.parse_ref(tenants.get_tenant(tenant_id, consistent=True).task_ref)
    assert parsed is not None
    return parsed[0]


def beat(host_id: str, clock: ManualClock, capacity: int = 3) -> Any:
    return hosts.heartbeat(
        host_id,
        now_ms=clock.now_ms(),
        capacity=capacity,
        pss_mb=300,
        limit_mb=2048,
        tenant_mb={},
        first=hosts.get_host(host_id).status == "STARTING",
    )


def test_a_new_host_is_started_only_when_every_live_host_is_full(
    placer: HostPlacer, clock: ManualClock
) -> None:
    ids = new_tenants(clock, 7)
    for tid in ids:
        workers.start(tid)
    placed = [host_of(t) for t in ids]
    assert len(set(placed)) == 3  # 3 + 3 + 1
    assert sorted(placed.count(h) for h in set(placed)) == [1, 3, 3]
    assert runner(placer).started == list(dict.fromkeys(placed))
    for host_id in set(placed):
        item, on_it = hosts.placements(host_id)
        assert item is not None and int(item.assigned) == placed.count(host_id) == len(on_it)
        # every placement carries the lease the tenant item holds
        for p in on_it:
            t = tenants.get_tenant(p.lease.tenant_id, consistent=True)
            assert (p.lease.owner_id, p.lease.epoch) == (t.owner_id, int(t.lease_epoch))


def test_the_least_loaded_live_host_is_chosen(placer: HostPlacer, clock: ManualClock) -> None:
    a = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    b = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    first = new_tenants(clock, 1)[0]
    workers.start(first)
    loaded = host_of(first)
    second = new_tenants(clock, 1)[0]
    workers.start(second)
    assert {loaded, host_of(second)} == {a, b}
    assert runner(placer).started == []


def test_concurrent_starts_never_overfill_a_host(placer: HostPlacer, clock: ManualClock) -> None:
    ids = new_tenants(clock, 9)
    hosts.new_host(capacity=3, now_ms=clock.now_ms())
    with ThreadPoolExecutor(max_workers=9) as pool:
        list(pool.map(workers.start, ids))
    for host in hosts.all_hosts():
        _, on_it = hosts.placements(host.host_id)
        assert len(on_it) == int(host.assigned) <= 3
    assert sum(int(h.assigned) for h in hosts.all_hosts()) == 9


def test_stale_and_draining_hosts_take_no_tenants(placer: HostPlacer, clock: ManualClock) -> None:
    stale = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    draining = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    beat(stale, clock)
    beat(draining, clock)
    hosts.drain(draining, "operator")
    clock.advance(50_000)  # past stale_s for the RUNNING one (heartbeat 50 s old)
    beat(draining, clock)
    tid = new_tenants(clock, 1)[0]
    workers.start(tid)
    assert host_of(tid) not in {stale, draining}
    assert len(runner(placer).started) == 1


def test_a_full_host_refuses_a_placement_and_a_placer_without_runner_says_no_room(
    placer: HostPlacer, clock: ManualClock, aws: Settings
) -> None:
    host = hosts.new_host(capacity=1, now_ms=clock.now_ms()).host_id
    a, b = new_tenants(clock, 2)
    workers.start(a)
    assert host_of(a) == host
    with pytest.raises(ConcurrentUpdateError):
        hosts.place(host, tenants.get_tenant(b) and _lease(b), now_ms=clock.now_ms())
    lone = HostPlacer(placer.settings, clock, runner=None)
    assert not lone.has_room()
    with pytest.raises(NoRoomError):
        lone.launch(_lease(b))


def _lease(tid: str) -> Any:
    from chalicelib.domain.values import Lease

    return Lease(tid, "o", 1)


def test_stop_takes_the_tenant_off_its_host(placer: HostPlacer, clock: ManualClock) -> None:
    tid = new_tenants(clock, 1)[0]
    workers.start(tid)
    host = host_of(tid)
    workers.stop(tid)
    item, on_it = hosts.placements(host)
    assert on_it == [] and item is not None and int(item.assigned) == 0


def test_a_lost_host_has_every_tenant_moved_with_a_new_lease(
    placer: HostPlacer, clock: ManualClock
) -> None:
    ids = new_tenants(clock, 3)
    for tid in ids:
        workers.start(tid)
    lost = host_of(ids[0])
    workers.stop(ids[2])  # an operator's stop is kept: it does not move
    epochs = {t: int(tenants.get_tenant(t).lease_epoch) for t in ids}
    moved = workers.host_lost(lost, "killed by SIGKILL")
    assert sorted(moved) == sorted(ids[:2])
    for tid in ids[:2]:
        item = tenants.get_tenant(tid, consistent=True)
        assert host_of(tid) != lost
        assert int(item.lease_epoch) == epochs[tid] + 1
        assert item.worker_status == "STARTING"
    assert tenants.get_tenant(ids[2], consistent=True).worker_status == "STOPPED"
    gone, left = hosts.placements(lost)
    assert gone is not None and gone.status == "GONE" and left == []
    assert workers.host_lost(lost, "reported twice") == []  # idempotent


def test_a_drained_session_moves_only_where_there_is_room(
    placer: HostPlacer, clock: ManualClock
) -> None:
    tid = new_tenants(clock, 1)[0]
    workers.start(tid)
    host = host_of(tid)
    item = tenants.get_tenant(tid, consistent=True)
    lease = _lease_of(item)
    hosts.drain(host, "spot interruption")
    tenants.apply_event(tid, Event.STOPPED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease)
    # The draining host itself has no runner: with no other host, the placement stays.
    lone = HostPlacer(placer.settings, clock, runner=None)
    runtime.configure(placer.settings, clock=clock, launcher=lone)
    assert workers.move_off(host, lease, reason="spot interruption") is False
    assert [p.lease for p in hosts.placements(host)[1]] == [lease]
    other = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    assert workers.move_off(host, lease, reason="spot interruption") is True
    assert host_of(tid) == other
    assert hosts.placements(host)[1] == []


def _lease_of(item: Any) -> Any:
    from chalicelib.domain.values import Lease

    return Lease(item.tenant_id, item.owner_id, int(item.lease_epoch))


def test_reaper_loses_silent_hosts_and_drains_all_but_one_empty_host(
    placer: HostPlacer, clock: ManualClock
) -> None:
    silent = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    hosts.set_task_ref(silent, "task-silent")
    beat(silent, clock)
    tid = new_tenants(clock, 1)[0]
    workers.start(tid)
    assert host_of(tid) == silent
    clock.advance(30_000)
    empty = [hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id for _ in range(3)]
    for host in empty:
        beat(host, clock)
    clock.advance(20_000)  # silent: 50 s without a heartbeat; the empty ones beat again
    for host in empty:
        beat(host, clock)
    report = reaper.reap()
    assert report.hosts.lost == [silent]
    assert "task-silent" in runner(placer).stopped
    assert host_of(tid) in empty
    statuses = {h: hosts.get_host(h).status for h in empty}
    # the tenant's host and one spare stay; the other empty one drains
    assert sorted(statuses.values()) == ["DRAINING", "RUNNING", "RUNNING"]


def test_a_gone_host_heartbeat_is_refused(placer: HostPlacer, clock: ManualClock) -> None:
    host = hosts.new_host(capacity=3, now_ms=clock.now_ms()).host_id
    beat(host, clock)
    assert hosts.gone(host, "test", now_ms=clock.now_ms())
    with pytest.raises(ConcurrentUpdateError):
        beat(host, clock)
    assert HostModel.get(host, hosts.HOST).capacity == 0


def test_operators_see_hosts_with_their_tenants_and_memory_and_can_drain_one(
    client: Any, admin: dict[str, str], api_settings: Settings, clock: ManualClock
) -> None:
    import json

    for old in HostModel.scan():
        old.delete()
    settings = dataclasses.replace(api_settings, host_tenants=3)
    runtime.configure(settings, clock=clock, launcher=HostPlacer(settings, clock, Runner()))
    tid = new_tenants(clock, 1)[0]
    workers.start(tid)
    host = host_of(tid)
    hosts.heartbeat(
        host,
        now_ms=clock.now_ms(),
        capacity=3,
        pss_mb=512.3,
        limit_mb=4096,
        tenant_mb={tid: 88.0},
        first=True,
    )
    listed = json.loads(client.http.get("/admin/hosts", headers=admin).body)["items"]
    (row,) = [h for h in listed if h["id"] == host]
    assert row["status"] == "RUNNING" and row["live"] is True
    assert row["tenants"] == [{"id": tid, "pssMb": 88.0}]
    assert (row["assigned"], row["capacity"], row["pssMb"], row["limitMb"]) == (1, 3, 512.3, 4096)
    fleet_rows = json.loads(client.http.get("/admin/tenants?limit=500", headers=admin).body)
    assert next(r for r in fleet_rows["items"] if r["id"] == tid)["host"] == host
    drained = client.http.post(f"/admin/hosts/{host}/drain", headers=admin, body="")
    assert drained.status_code == 202 and json.loads(drained.body)["status"] == "DRAINING"
    assert client.http.post(f"/admin/hosts/{host}/drain", headers=admin, body="").status_code == 409
    assert client.http.post("/admin/hosts/h_nope/drain", headers=admin, body="").status_code == 404
    # a drained host takes nobody: the next start goes to a new host
    other = new_tenants(clock, 1)[0]
    workers.start(other)
    assert host_of(other) != host


def test_an_ecs_stopped_event_for_a_host_task_moves_its_tenants(
    placer: HostPlacer, clock: ManualClock
) -> None:
    from chalicelib.control.ecs_events import handle_task_stopped
    from chalicelib.launch.ecs import HOST_ENV

    ids = new_tenants(clock, 2)
    for tid in ids:
        workers.start(tid)
    lost = host_of(ids[0])
    detail = {
        "lastStatus": "STOPPED",
        "stoppedReason": "Your Spot Task was interrupted.",
        "containers": [{"exitCode": 137}],
        "overrides": {"containerOverrides": [{"environment": [{"name": HOST_ENV, "value": lost}]}]},
    }
    assert handle_task_stopped(detail) == "host lost: 2 tenants moved"
    for tid in ids:
        assert host_of(tid) != lost
        assert "Spot Task was interrupted" in (tenants.get_tenant(tid).last_error or "")
    assert handle_task_stopped(detail) == "host lost: 0 tenants moved"  # a duplicate event


def test_a_host_that_was_never_registered_refuses_to_start(
    aws: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from worker_container import host

    env = {
        **aws.as_env(),
        "WAFLEET_HOST_ID": "h_unknown",
        "WAFLEET_HOST_TENANTS": "4",
        "WAFLEET_SESSION_DIR": str(tmp_path),
    }
    assert host.run(env) == 2
    assert "h_unknown" in capsys.readouterr().err
