"""A host's room: its maximum, or fewer when its memory says so; and its configuration."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ConfigError
from chalicelib.settings import Settings
from worker_container.config import HostConfig
from worker_container.host import TENANT_FLOOR_MB, room


def test_an_empty_host_with_plenty_of_memory_offers_its_maximum() -> None:
    assert (
        room(max_tenants=16, assigned=0, running=0, host_mb=300, tenant_mb=[], memory_mb=8192) == 16
    )


def test_room_stops_before_the_task_memory_limit_at_the_measured_size() -> None:
    # 8 GB task, 85 % planned: 6963 MB; 300 MB host + 10 tenants of 400 MB = 4300 MB used;
    # 2663 MB left = 6 more tenants of 400 MB: 16 in all, but no more than the maximum.
    got = room(
        max_tenants=40, assigned=10, running=10, host_mb=4300, tenant_mb=[400] * 10, memory_mb=8192
    )
    assert got == 16


def test_a_full_host_offers_no_room_and_never_less_than_zero() -> None:
    assert (
        room(
            max_tenants=40,
            assigned=18,
            running=18,
            host_mb=7900,
            tenant_mb=[430] * 18,
            memory_mb=8192,
        )
        == 18 - 3
    )  # over the limit: three fewer than it holds, so nothing new is placed
    assert (
        room(max_tenants=5, assigned=0, running=0, host_mb=9000, tenant_mb=[], memory_mb=8192) == 0
    )


def test_placements_not_yet_running_are_budgeted_at_the_larger_of_mean_and_floor() -> None:
    idle = room(max_tenants=100, assigned=0, running=0, host_mb=300, tenant_mb=[], memory_mb=2048)
    pending = room(
        max_tenants=100, assigned=4, running=0, host_mb=300, tenant_mb=[], memory_mb=2048
    )
    assert idle == (2048 * 0.85 - 300) // TENANT_FLOOR_MB
    assert pending == idle  # the 4 placed ones already count against the same memory


def test_settings_refuse_a_tenant_count_out_of_range() -> None:
    with pytest.raises(ConfigError, match="WAFLEET_HOST_TENANTS"):
        Settings.from_env({"AWS_REGION": "us-east-1", "WAFLEET_HOST_TENANTS": "many"})
    with pytest.raises(ConfigError, match="WAFLEET_HOST_TENANTS"):
        Settings(host_tenants=500)


def test_only_the_tenant_whose_browser_outgrew_its_limit_is_relaunched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    from types import SimpleNamespace

    from chalicelib.domain.clock import ManualClock
    from chalicelib.domain.values import Lease
    from tests.fakes import MemoryHost
    from worker_container import host as host_module
    from worker_container import memory

    measured = {"a": 180.0, "b": 2100.0, "c": 175.0}  # MB per tenant browser
    port = MemoryHost()

    class FakeSession:
        def __init__(self, tid: str) -> None:
            self.lease = Lease(tid, "o", 1)
            self.browser_mb = measured[tid]  # what its own heartbeat measured
            self.browser_cpu = 0.0
            self.host_share_mb: float | None = None
            self.recycled: list[str] = []

        async def recycle(self, reason: str) -> None:
            self.recycled.append(reason)

    monkeypatch.setattr(memory, "process_tree_pss_mb", lambda: 3000.0)
    cfg = HostConfig("h_1", memory_mb=4096, tenant_memory_mb=1500)

    async def beat() -> dict[str, FakeSession]:
        host = host_module.Host(
            cfg,
            SimpleNamespace(),
            Settings(host_tenants=10),
            port,
            None,
            ManualClock(),
            4096,  # type: ignore[arg-type]
        )
        host.assigned = 3
        sessions = {tid: FakeSession(tid) for tid in measured}
        for tid, session in sessions.items():
            host.sessions[tid] = host_module.Running(session, None)  # type: ignore[arg-type]
        await host._beat()
        await asyncio.gather(*host.ended)
        return sessions

    sessions = asyncio.run(beat())
    assert {tid: s.recycled for tid, s in sessions.items()} == {
        "a": [],
        "b": ["browser memory 2100 MB"],
        "c": [],
    }
    (written,) = port.beats
    assert written["tenant_mb"] == measured and written["pss_mb"] == 3000.0
    # 4096 MB x 85 % = 3482 MB, less the host's 3000 MB = 482 MB: at the mean of 818 MB a
    # tenant, none more fit beside the 3 placed
    assert written["capacity"] == 3
    # What the host itself takes besides the browsers (3000 - 2455 = 545 MB) is split between
    # its sessions, never reported as each one's own.
    assert {round(s.host_share_mb or 0, 1) for s in sessions.values()} == {181.7}


def test_room_honours_cpu_as_well_as_memory_whichever_runs_out_first() -> None:
    plenty = {"max_tenants": 30, "assigned": 4, "running": 4, "host_mb": 600.0}
    by_memory = room(**plenty, tenant_mb=[100.0] * 4, memory_mb=8192)
    # Four browsers each using a fifth of a core on a 2-core task (host total 0.9 core): the
    # CPU allows floor((1.7 - 0.9) / 0.2) = 4 more, far fewer than the memory would.
    cpu = {"host_cpu": 0.9, "tenant_cpu": [0.2] * 4, "cpus": 2.0}
    assert by_memory > 8 and room(**plenty, tenant_mb=[100.0] * 4, memory_mb=8192, **cpu) == 8
    # Unknown CPU (a first beat, no limit known): memory alone, as before.
    assert room(**plenty, tenant_mb=[100.0] * 4, memory_mb=8192, cpus=0.0) == by_memory


def test_a_cpu_share_is_measured_between_two_readings_and_restarts_with_a_new_browser() -> None:
    from worker_container.memory import CpuRate

    rate = CpuRate()
    assert rate.share(10.0, 100.0) is None  # the first reading
    assert rate.share(13.0, 115.0) == 0.2  # 3 s of CPU in 15 s: a fifth of a core
    assert rate.share(1.0, 130.0) is None  # a relaunched browser starts its count again
    assert rate.share(4.0, 145.0) == 0.2
