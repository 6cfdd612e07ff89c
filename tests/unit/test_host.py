"""The worker host with fakes of its ports and engines: no browser, no DynamoDB. What an
operator would notice: placed tenants run, a drain stops each session and moves it, a host
recorded as gone stops writing for tenants that run elsewhere now."""

from __future__ import annotations

import asyncio
from pathlib import Path

from chalicelib.domain.clock import ManualClock
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Statuses
from chalicelib.domain.values import Lease
from chalicelib.settings import Settings
from tests.fakes import MemoryHost, MemoryStore
from tests.unit.test_worker_loop import FakeEngine, Saved
from worker_container.config import HostConfig, WorkerConfig
from worker_container.host import Host, Wiring
from worker_container.ports import GONE, HostOrders, TenantConfig

A, B = Lease("t_a", "owner-a", 1), Lease("t_b", "owner-b", 4)


def new_host(tmp_path: Path) -> tuple[Host, MemoryHost, dict[str, MemoryStore]]:
    port = MemoryHost(leases=[A, B])
    stores: dict[str, MemoryStore] = {}

    def store_for(lease: Lease) -> MemoryStore:
        stores[lease.tenant_id] = MemoryStore(
            lease,
            TenantConfig(owner_id=lease.owner_id, lease_epoch=lease.epoch, name="Roma"),
            Statuses(TenantStatus.NEW, SessionState.DISCONNECTED, WorkerStatus.STARTING),
        )
        return stores[lease.tenant_id]

    wiring = Wiring(
        store_for=store_for,
        logins_for=lambda _tenant: Saved(),
        engine_for=lambda _driver: FakeEngine(),
    )
    host = Host(
        HostConfig("h_test"),
        WorkerConfig(session_dir=tmp_path),
        Settings(heartbeat_s=30, stale_s=60),
        port,
        wiring,
        ManualClock(),
        memory_mb=8192,
    )
    return host, port, stores


async def started(host: Host, orders: HostOrders) -> None:
    host._follow(orders)
    # Each session's first write (STARTING -> RUNNING on its first heartbeat) says it runs.
    for running in host.sessions.values():
        store: MemoryStore = running.session.store  # type: ignore[assignment]
        assert await asyncio.to_thread(store.wait_until, WorkerStatus.RUNNING, 5)


def test_placed_tenants_run_and_a_drain_stops_and_moves_each_one(tmp_path: Path) -> None:
    host, port, stores = new_host(tmp_path)

    async def run() -> None:
        await started(host, port.orders())
        assert set(host.sessions) == {"t_a", "t_b"}
        host.drain("scale-in")
        await asyncio.wait_for(host.done.wait(), timeout=10)
        await asyncio.gather(*host.ended)

    asyncio.run(run())
    assert {(lease, move) for lease, _reason, move in port.ended} == {
        (A, "scale-in"),
        (B, "scale-in"),
    }
    assert port.status == "DRAINING" and port.reason == "scale-in"
    assert {t: s.statuses.worker for t, s in stores.items()} == {
        "t_a": WorkerStatus.STOPPED,
        "t_b": WorkerStatus.STOPPED,
    }


def test_a_tenant_taken_off_the_host_stops_and_the_others_run_on(tmp_path: Path) -> None:
    host, port, stores = new_host(tmp_path)

    async def run() -> None:
        await started(host, port.orders())
        host._follow(HostOrders("RUNNING", None, 1, (B,)))
        await asyncio.wait_for(host.sessions["t_a"].task, timeout=10)
        await asyncio.gather(*host.ended)
        assert set(host.sessions) == {"t_b"} and not host.done.is_set()
        host.drain("test over")
        await asyncio.wait_for(host.done.wait(), timeout=10)

    asyncio.run(run())
    assert port.ended[0][:2] == (A, "taken off this host") and port.ended[0][2] is None
    assert stores["t_a"].statuses.worker is WorkerStatus.STOPPED


def test_a_host_recorded_as_gone_ends_its_sessions_without_writing(tmp_path: Path) -> None:
    host, port, stores = new_host(tmp_path)

    async def run() -> None:
        await started(host, port.orders())
        for store in stores.values():
            store.replace_lease()  # the control plane moved them elsewhere
        host._follow(HostOrders(GONE, "heartbeat stale", 0, ()))
        await asyncio.wait_for(host.done.wait(), timeout=10)

    asyncio.run(run())
    assert host.exit_code == 3
    # Their statuses belong to the sessions that run them now: nothing was written.
    assert {t: s.statuses.worker for t, s in stores.items()} == {
        "t_a": WorkerStatus.RUNNING,
        "t_b": WorkerStatus.RUNNING,
    }


def test_the_connected_share_counts_only_bots_that_run_should_run_and_were_linked() -> None:
    from chalicelib.control.reaper import ReapReport, _count_session, connected_share
    from chalicelib.domain.statuses import WorkerStatus
    from chalicelib.domain.words import WHATSAPP_CHANGED
    from chalicelib.store.models import TenantModel

    def tenant(worker: str, session: str, **more: object) -> None:
        item = TenantModel("t", worker_status=worker, session_state=session, **more)
        _count_session(item, WorkerStatus(worker), session, report)

    report = ReapReport()
    tenant("RUNNING", "CONNECTED", linked_at=1)
    tenant("RUNNING", "DISCONNECTED", linked_at=1, last_error=f"{WHATSAPP_CHANGED}; waiting")
    tenant("RUNNING", "QR_READY")  # never linked: waiting for its owner, not logged out
    tenant("STOPPED", "DISCONNECTED", linked_at=1)  # stopped on purpose
    tenant("RUNNING", "DISCONNECTED", linked_at=1, desired="STOP")  # being stopped
    assert report.by_session_state == {"CONNECTED": 1, "DISCONNECTED": 3, "QR_READY": 1}
    assert (report.linked_running, report.linked_connected) == (2, 1)
    assert connected_share(report) == 50.0 and report.waiting_for_update == 1
    assert connected_share(ReapReport()) == 100.0  # an empty fleet is not an outage
