"""The worker host: the only worker runtime. One task (a process locally) runs the sessions of
up to ``WAFLEET_HOST_TENANTS`` tenants; a lone tenant is a host with one session.

One Python process and one Playwright driver per host; each tenant gets its own Chromium on
its own profile (a persistent context: WhatsApp's IndexedDB keys are non-extractable, so the
login can only travel as the profile itself), and its own ``Session``: lease, heartbeat,
engine, reactions and reconnect manager, as one asyncio task among others. Every page call
has a timeout, so a hung page or a crashed renderer holds up only its own tenant.

The host learns what to run from its ``HostPort`` (one read of its partition every
``poll_s``), writes its own heartbeat with its memory (host total and per tenant) and the room
it has left, and drains on SIGTERM (scale-in, deploy, a Fargate Spot interruption) or when an
operator asks: each session saves its login and stops, then moves to a host with room; what
cannot move yet is moved by the control plane when the host's exit is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import observability
from chalicelib.domain.clock import Clock
from chalicelib.domain.errors import ConcurrentUpdateError, ConfigError
from chalicelib.domain.values import Lease
from chalicelib.settings import Settings
from worker_container import memory
from worker_container.config import HostConfig, WorkerConfig
from worker_container.engine import Engine
from worker_container.login_store import LoginStore
from worker_container.ports import DRAINING, GONE, HostOrders, HostPort, StorePort
from worker_container.session import ExitCode, Session

logger = logging.getLogger("wafleet.host")

# Room is kept for this share of the task's memory; the rest absorbs spikes (a history
# sync, a burst of media) without the kernel killing the task.
USABLE = 0.85
# A tenant's browser is budgeted at no less than this until measured (the simulator's page
# takes ~70 MB; the real site several times that).
TENANT_FLOOR_MB = 120.0
# ... and its CPU at no less than this share of a core (an idle page still runs timers).
TENANT_FLOOR_CPU = 0.02


def task_cpus() -> float:
    """The container's CPU limit in cores (cgroup v2 ``cpu.max``), else the machine's."""
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            return int(quota) / int(period)
    return float(os.cpu_count() or 1)


def task_memory_mb() -> float:
    """The container's memory limit (cgroup v2 or v1), else the machine's memory."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            raw = Path(path).read_text().strip()
            if raw != "max" and int(raw) < 1 << 50:
                return int(raw) / memory.MB
    import psutil

    return float(psutil.virtual_memory().total / memory.MB)


def room(
    *,
    max_tenants: int,
    assigned: int,
    running: int,
    host_mb: float,
    tenant_mb: list[float],
    memory_mb: float,
    host_cpu: float = 0.0,
    tenant_cpu: list[float] | None = None,
    cpus: float = 0.0,
) -> int:
    """How many tenants the host may hold now: its maximum, or fewer when its memory or (if
    ``cpus`` is known) its CPU says so: whichever runs out first.

    Placements not yet running are budgeted at the larger of the measured mean and the floor.
    ``host_cpu`` and ``tenant_cpu`` are shares of one core (the host's total, each browser's).
    """
    pending = max(0, assigned - running)
    mean = sum(tenant_mb) / len(tenant_mb) if tenant_mb else 0.0
    per = max(TENANT_FLOOR_MB, mean)
    free = math.floor((memory_mb * USABLE - host_mb - pending * per) / per)
    measured = [c for c in tenant_cpu or [] if c > 0]
    if cpus > 0 and measured:
        per_cpu = max(TENANT_FLOOR_CPU, sum(measured) / len(measured))
        left = (cpus * USABLE - host_cpu - pending * per_cpu) / per_cpu
        free = min(free, math.floor(round(left, 6)))  # 0.8 / 0.2 is 4, not 3.9999
    return max(0, min(max_tenants, assigned + free))


@dataclass(frozen=True)
class Wiring:
    """What a host builds each session from: its ports, login store and engine."""

    store_for: Callable[[Lease], StorePort]
    logins_for: Callable[[str], LoginStore]
    engine_for: Callable[[Any], Engine]  # given the host's Playwright driver


@dataclass
class Running:
    """One session on this host and the task that runs it."""

    session: Session
    task: asyncio.Task[ExitCode]
    moving: bool = False


@dataclass
class Host:
    """Runs the sessions placed on it until drained or gone."""

    cfg: HostConfig
    worker: WorkerConfig
    settings: Settings
    port: HostPort
    wiring: Wiring
    clock: Clock
    memory_mb: float
    cpus: float = 0.0  # cores of the task (0: not known; the room follows memory only)
    cpu_rate: memory.CpuRate = field(default_factory=memory.CpuRate)
    sessions: dict[str, Running] = field(default_factory=dict)
    playwright: Any = None
    draining: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int = 0
    first_heartbeat: bool = True
    assigned: int = 0  # placements as the poller last read them
    ended: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def log(self) -> dict[str, object]:
        return {"host_id": self.cfg.host_id}

    async def run(self, driver: Any) -> int:
        """Run on the Playwright ``driver`` until drained (0) or gone (3)."""
        loop = asyncio.get_running_loop()
        # The reason reaches the owner's History: in words, not signal names.
        for sig, why in (
            (signal.SIGTERM, "its server is being replaced"),
            (signal.SIGINT, "its server was stopped"),
        ):
            loop.add_signal_handler(sig, self.drain, why)
        self.playwright = driver
        loops = [
            asyncio.create_task(self._poller()),
            asyncio.create_task(self._heartbeats()),
            asyncio.create_task(self._orphan_watch(os.getppid())),
        ]
        await self.done.wait()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await asyncio.gather(*self.ended, return_exceptions=True)
        logger.info("host exits", extra={**self.log, "code": self.exit_code})
        return self.exit_code

    async def _orphan_watch(self, parent: int) -> None:
        """Drain when the process that started this host is gone (``make dev`` killed with
        -9 cannot stop its children; the kernel hands them to another parent). Under ECS the
        parent is the task's init, which outlives the host."""
        while not self.done.is_set():
            if os.getppid() != parent:
                self.drain("the process that started its server ended")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=1.0)

    # --- what runs here -------------------------------------------------------------------

    async def _poller(self) -> None:
        while not self.done.is_set():
            try:
                self._follow(await asyncio.to_thread(self.port.orders))
            except Exception as exc:
                logger.warning(
                    "reading placements failed",
                    extra={**self.log, "error_type": type(exc).__name__},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.poll_s)

    def _follow(self, orders: HostOrders) -> None:
        self.assigned = orders.assigned
        if orders.status is None or orders.status == GONE:
            self._gone("the host was recorded as gone: its tenants run elsewhere")
            return
        if orders.status == DRAINING and self.draining is None:
            self.drain(orders.reason or "drained by an operator")
            return
        if self.draining is not None:
            return
        wanted = {lease.tenant_id: lease for lease in orders.leases}
        for tenant_id, running in list(self.sessions.items()):
            if wanted.get(tenant_id) != running.session.lease:
                running.session.finish(ExitCode.STOPPED, "taken off this host")
        for tenant_id, lease in wanted.items():
            if tenant_id not in self.sessions:
                self._start(lease)

    def _start(self, lease: Lease) -> None:
        session = Session(
            lease,
            self.worker,
            self.settings,
            self.wiring.logins_for(lease.tenant_id),
            self.wiring.engine_for(self.playwright),
            self.wiring.store_for(lease),
            clock=self.clock,
        )
        task = asyncio.create_task(session.run(), name=f"tenant-{lease.tenant_id}")
        running = Running(session, task)
        self.sessions[lease.tenant_id] = running
        logger.info("session started", extra={**self.log, "tenant_id": lease.tenant_id})
        task.add_done_callback(lambda _t: self._spawn(self._ended(running)))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.ended.add(task)
        task.add_done_callback(self.ended.discard)

    async def _ended(self, running: Running) -> None:
        """A session ended: take it off this host and report how it ended; a drained
        session moves on."""
        lease = running.session.lease
        try:
            code = running.task.result()
            reason = running.session.exit_reason or f"exit code {int(code)}"
        except BaseException as exc:
            code, reason = ExitCode.UNEXPECTED, f"session failed: {type(exc).__name__}"
        if self.sessions.get(lease.tenant_id) is running:
            del self.sessions[lease.tenant_id]
        move = (self.draining or "host draining") if running.moving else None
        try:
            await asyncio.to_thread(self.port.session_ended, lease, reason, move=move)
        except Exception as exc:
            logger.warning(
                "session end not recorded",
                extra={**self.log, "tenant_id": lease.tenant_id, "error_type": type(exc).__name__},
            )
        logger.info(
            "session ended",
            extra={**self.log, "tenant_id": lease.tenant_id, "code": int(code)},
        )
        if self.draining is not None and not self.sessions:
            self.done.set()

    # --- draining and ending --------------------------------------------------------------

    def drain(self, reason: str) -> None:
        """Stop taking tenants; every session saves its login, stops and moves."""
        if self.draining is not None:
            return
        self.draining = reason
        logger.info("draining", extra={**self.log, "reason": reason, "tenants": len(self.sessions)})
        self._spawn(asyncio.to_thread(self.port.drain, reason))
        for running in self.sessions.values():
            running.moving = True
            running.session.finish(ExitCode.STOPPED, f"moving to another server ({reason})")
        if not self.sessions:
            self.done.set()

    def _gone(self, reason: str) -> None:
        """Someone else recorded this host as gone: its tenants are (being) placed elsewhere;
        stop every session without a write (their leases are no longer ours)."""
        if self.done.is_set():
            return
        logger.warning("host gone", extra={**self.log, "reason": reason})
        self.exit_code = int(ExitCode.REPLACED)
        for running in self.sessions.values():
            running.session.finish(ExitCode.REPLACED, reason)
        self.draining = self.draining or reason
        if not self.sessions:
            self.done.set()

    # --- heartbeat and memory -------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while not self.done.is_set():
            try:
                await self._beat()
            except ConcurrentUpdateError:
                self._gone("the host was recorded as gone")
            except Exception as exc:
                logger.warning(
                    "host heartbeat failed", extra={**self.log, "error_type": type(exc).__name__}
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.settings.heartbeat_s)

    async def _beat(self) -> None:
        # Each tenant's browser as its own heartbeat measured it (0 until its first).
        running = list(self.sessions.items())
        per_tenant = {tid: r.session.browser_mb for tid, r in running}
        total = await asyncio.to_thread(memory.process_tree_pss_mb)
        # The host's own share (Python, the Playwright driver), split between its sessions:
        # what each tenant costs besides its browser.
        own = max(0.0, total - sum(per_tenant.values()))
        for _tid, each in running:
            each.session.host_share_mb = own / len(running)
        host_cpu = self.cpu_rate.share(
            await asyncio.to_thread(memory.process_tree_cpu_s), time.monotonic()
        )
        capacity = room(
            max_tenants=self.settings.host_tenants,
            assigned=self.assigned or len(self.sessions),
            running=len(self.sessions),
            host_mb=total,
            tenant_mb=[mb for mb in per_tenant.values() if mb > 0],
            memory_mb=self.memory_mb,
            host_cpu=host_cpu or 0.0,
            tenant_cpu=[r.session.browser_cpu for _tid, r in running],
            cpus=self.cpus if host_cpu is not None else 0.0,
        )
        await asyncio.to_thread(
            self.port.heartbeat,
            now_ms=self.clock.now_ms(),
            capacity=0 if self.draining else capacity,
            pss_mb=total,
            limit_mb=self.memory_mb,
            tenant_mb=per_tenant,
            first=self.first_heartbeat,
        )
        self.first_heartbeat = False
        for tenant_id, mb in per_tenant.items():
            r = self.sessions.get(tenant_id)
            if r is not None and mb > self.cfg.tenant_memory_mb:
                logger.warning(
                    "tenant browser above its memory limit; relaunching it",
                    extra={**self.log, "tenant_id": tenant_id, "pss_mb": round(mb)},
                )
                self._spawn(r.session.recycle(f"browser memory {round(mb)} MB"))


def aws_wiring(worker: WorkerConfig, settings: Settings) -> Wiring:
    """Sessions over DynamoDB, logins in S3 (AWS) or a folder (local), wa-js engines."""
    from worker_container.dynamo import DynamoStore
    from worker_container.login_store import FolderLogins, S3Logins
    from worker_container.wajs import WaJsEngine

    def logins_for(tenant_id: str) -> LoginStore:
        if worker.session_bucket:
            import boto3

            client = boto3.client("s3", region_name=settings.region)
            return S3Logins(client, worker.session_bucket, tenant_id, worker.session_kms_key)
        assert worker.session_dir is not None
        return FolderLogins(worker.session_dir, tenant_id)

    return Wiring(
        store_for=DynamoStore,
        logins_for=logins_for,
        engine_for=lambda driver: WaJsEngine.for_config(worker, driver),
    )


def run(env: Mapping[str, str] | None = None) -> int:
    """``python -m worker_container``: read the settings once, check the host is registered,
    run it to completion; returns its exit code."""
    observability.configure_logging("wafleet-host")
    try:
        settings = Settings.from_env(env)
        cfg = HostConfig.from_env(env)
        worker = WorkerConfig.from_env(env)
    except ConfigError as exc:
        logger.error("host cannot start: %s", exc)
        print(f"wafleet host: {exc}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    from chalicelib.control import runtime
    from chalicelib.domain.clock import SystemClock
    from chalicelib.launch.placer import HostPlacer
    from chalicelib.store.models import shared_connection
    from chalicelib.store.server_clock import ServerClock
    from worker_container.dynamo import DynamoHost

    runtime.configure(settings)  # binds the models
    port = DynamoHost(cfg.host_id)
    try:
        orders = port.orders()
    except Exception as exc:  # the table cannot be read: say which
        orders, problem = None, f"{type(exc).__name__}: {exc}"
    if orders is None or orders.status is None:
        problem = problem if orders is None else "not registered in the hosts table"
        logger.error("host cannot start: %s", problem, extra={"host_id": cfg.host_id})
        print(f"wafleet host: {cfg.host_id}: {problem}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    # Heartbeat times are compared with the reaper's clock: correct ours to DynamoDB's.
    clock = ServerClock(SystemClock())
    clock.attach(shared_connection().client)
    # Moving a drained tenant places it on a host with room; starting hosts is not the
    # host's job (the control plane does it once this one's exit is reported).
    runtime.configure(settings, clock=clock, launcher=HostPlacer(settings, clock, runner=None))
    sandboxed = worker.sandbox
    log = logger.info if sandboxed else logger.warning
    log(
        "host starting",
        extra={
            "host_id": cfg.host_id,
            "tenants_max": settings.host_tenants,
            "browser": worker.chromium,
            # Chromium's sandbox is off only as root (a developer's machine, CI): the image
            # runs unprivileged with it on.
            "sandbox": sandboxed,
        },
    )
    host = Host(
        cfg,
        worker,
        settings,
        port,
        aws_wiring(worker, settings),
        clock,
        memory_mb=cfg.memory_mb or task_memory_mb(),
        cpus=task_cpus(),
    )

    async def main() -> int:
        from playwright.async_api import async_playwright

        # DynamoDB calls run in threads: enough that one tenant's slow call queues no other's.
        threads = max(8, settings.host_tenants + 4)
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=threads))
        async with async_playwright() as driver:
            return await host.run(driver)

    try:
        return asyncio.run(main())
    except Exception:
        logger.exception("host failed", extra={"host_id": cfg.host_id})
        return int(ExitCode.UNEXPECTED)


def main() -> None:
    """``python -m worker_container``."""
    sys.exit(run())
