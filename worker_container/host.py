"""The worker host: one task runs the sessions of several tenants.

One Python process and one Playwright driver per host; each tenant gets its own Chromium on
its own profile (a persistent context: WhatsApp's IndexedDB keys are non-extractable, so the
login can only travel as the profile itself), its own lease, heartbeat, engine, reactions and
reconnect manager: the ``Bot`` of a single-tenant worker, as one asyncio task among others.
Every page call has a timeout, so a hung page or a crashed renderer holds up only its own
tenant.

The host learns what to run from its partition of the hosts table (one Query every
``poll_s``), writes its own heartbeat with its memory (host total and per tenant) and the
room it has left, and drains on SIGTERM (scale-in, deploy, a Fargate Spot interruption) or
when an operator asks: each session saves its login and stops, then moves to a host with
room; what cannot move yet is moved by the control plane when the host's exit is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib import observability
from chalicelib.domain.clock import Clock
from chalicelib.domain.errors import ConcurrentUpdateError, ConfigError
from chalicelib.domain.values import Lease
from chalicelib.launch.ecs import EPOCH_ENV, HOST_ENV, OWNER_ENV, TENANT_ENV
from chalicelib.settings import Settings, env_seconds
from chalicelib.store import hosts
from chalicelib.store.hosts import HostStatus, Placement
from chalicelib.store.models import HostModel
from worker_container import memory
from worker_container.bot import Bot, ExitCode

logger = logging.getLogger("wafleet.host")

MEMORY_MB = "WAFLEET_HOST_MEMORY_MB"
POLL_S = "WAFLEET_HOST_POLL_S"
TENANT_MEMORY_MB = "WAFLEET_TENANT_MEMORY_MB"

# Room is kept for this share of the task's memory; the rest absorbs spikes (a history
# sync, a burst of media) without the kernel killing the task.
USABLE = 0.85
# A tenant's browser is budgeted at no less than this until measured (the simulator's page
# takes ~70 MB; the real site several times that).
TENANT_FLOOR_MB = 120.0


@dataclass(frozen=True)
class HostConfig:
    """Who the host is and its limits."""

    host_id: str
    worker_env: Mapping[str, str]  # what each tenant's worker config is read from
    max_tenants: int
    memory_mb: float
    poll_s: float = 2.0
    tenant_memory_mb: float = 1500.0  # a browser above this is relaunched from its login

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> HostConfig:
        """Read and validate; every error names its variable."""
        env = os.environ if env is None else env
        host_id = env.get(HOST_ENV)
        if not host_id:
            raise ConfigError(f"{HOST_ENV} not set: a host is started by the placer")
        if settings.host_tenants < 1:
            raise ConfigError("WAFLEET_HOST_TENANTS must be at least 1 for a host")
        return cls(
            host_id=host_id,
            worker_env=dict(env),
            max_tenants=settings.host_tenants,
            memory_mb=env_seconds(env, MEMORY_MB, 0) or task_memory_mb(),
            poll_s=env_seconds(env, POLL_S, 2.0),
            tenant_memory_mb=env_seconds(env, TENANT_MEMORY_MB, 1500.0),
        )


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
) -> int:
    """How many tenants the host may hold now: its maximum, or fewer when its memory says so.

    Placements not yet running are budgeted at the larger of the measured mean and the floor.
    """
    mean = sum(tenant_mb) / len(tenant_mb) if tenant_mb else 0.0
    per = max(TENANT_FLOOR_MB, mean)
    pending = max(0, assigned - running)
    free = math.floor((memory_mb * USABLE - host_mb - pending * per) / per)
    return max(0, min(max_tenants, assigned + free))


@dataclass
class Session:
    """One tenant running on this host."""

    lease: Lease
    bot: Bot
    task: asyncio.Task[ExitCode]
    moving: bool = False


@dataclass
class Host:
    """Runs the tenants placed on it until drained or gone."""

    cfg: HostConfig
    settings: Settings
    clock: Clock
    sessions: dict[str, Session] = field(default_factory=dict)
    playwright: Any = None
    draining: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int = 0
    first_heartbeat: bool = True
    known: HostModel | None = None  # the host item as the poller last read it
    ended: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def log(self) -> dict[str, object]:
        return {"host_id": self.cfg.host_id}

    async def run(self) -> int:
        """Run until drained (0) or gone (3)."""
        from playwright.async_api import async_playwright

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.drain, f"received {sig.name}")
        driver = await async_playwright().start()
        self.playwright = driver
        try:
            loops = [asyncio.create_task(self._poller()), asyncio.create_task(self._heartbeats())]
            await self.done.wait()
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await asyncio.gather(*self.ended, return_exceptions=True)
        finally:
            with contextlib.suppress(Exception):
                await driver.stop()
        logger.info("host exits", extra={**self.log, "code": self.exit_code})
        return self.exit_code

    # --- what runs here -------------------------------------------------------------------

    async def _poller(self) -> None:
        while not self.done.is_set():
            try:
                item, placed = await asyncio.to_thread(hosts.placements, self.cfg.host_id)
                await self._follow(item, placed)
            except Exception as exc:
                logger.warning(
                    "reading placements failed",
                    extra={**self.log, "error_type": type(exc).__name__},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.poll_s)

    async def _follow(self, item: HostModel | None, placed: list[Placement]) -> None:
        self.known = item
        if item is None or item.status == HostStatus.GONE.value:
            self._gone("the host was recorded as gone: its tenants run elsewhere")
            return
        if item.status == HostStatus.DRAINING.value and self.draining is None:
            self.drain(item.reason or "drained by an operator")
            return
        if self.draining is not None:
            return
        wanted = {p.lease.tenant_id: p for p in placed}
        for tenant_id, session in list(self.sessions.items()):
            if wanted.get(tenant_id) is None or wanted[tenant_id].lease != session.lease:
                session.bot.finish(ExitCode.STOPPED, "taken off this host")
        for tenant_id, placement in wanted.items():
            if tenant_id not in self.sessions:
                self._start(placement.lease)

    def _start(self, lease: Lease) -> None:
        from worker_container.config import WorkerConfig
        from worker_container.main import engine_for, session_store
        from worker_container.store_port import DynamoStore

        env = {
            **self.cfg.worker_env,
            TENANT_ENV: lease.tenant_id,
            OWNER_ENV: lease.owner_id,
            EPOCH_ENV: str(lease.epoch),
        }
        config = WorkerConfig.from_env(env)
        engine = engine_for(config, self.playwright)
        bot = Bot(
            config,
            self.settings,
            session_store(config, self.settings),
            engine,
            DynamoStore(lease),
            clock=self.clock,
        )
        task = asyncio.create_task(bot.run(signals=False), name=f"tenant-{lease.tenant_id}")
        session = Session(lease, bot, task)
        self.sessions[lease.tenant_id] = session
        logger.info("session started", extra={**self.log, "tenant_id": lease.tenant_id})
        task.add_done_callback(lambda _t: self._spawn(self._ended(session)))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.ended.add(task)
        task.add_done_callback(self.ended.discard)

    async def _ended(self, session: Session) -> None:
        """A session ended: take it off this host and record a crash if it did not say how
        it ended; a drained session moves on."""
        from chalicelib.control import workers

        lease = session.lease
        try:
            code = session.task.result()
            reason = session.bot.exit_reason or f"exit code {int(code)}"
        except BaseException as exc:
            code, reason = ExitCode.UNEXPECTED, f"session failed: {type(exc).__name__}"
        if self.sessions.get(lease.tenant_id) is session:
            del self.sessions[lease.tenant_id]
        try:
            await asyncio.to_thread(workers.worker_exited, lease.tenant_id, lease.epoch, reason)
            if session.moving:
                await asyncio.to_thread(self._move, lease)
            else:
                await asyncio.to_thread(
                    hosts.release, self.cfg.host_id, lease.tenant_id, epoch=lease.epoch
                )
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

    def _move(self, lease: Lease) -> None:
        """Start a drained tenant on a host with room; without one, its placement stays, and
        the control plane moves it once this host's exit is reported."""
        from chalicelib.control import workers

        workers.move_off(self.cfg.host_id, lease, reason=self.draining or "host draining")

    # --- draining and ending --------------------------------------------------------------

    def drain(self, reason: str) -> None:
        """Stop taking tenants; every session saves its login, stops and moves."""
        if self.draining is not None:
            return
        self.draining = reason
        logger.info("draining", extra={**self.log, "reason": reason, "tenants": len(self.sessions)})
        self._spawn(self._mark_draining(reason))
        for session in self.sessions.values():
            session.moving = True
            session.bot.finish(ExitCode.STOPPED, f"moving to another host ({reason})")
        if not self.sessions:
            self.done.set()

    async def _mark_draining(self, reason: str) -> None:
        with contextlib.suppress(ConcurrentUpdateError):
            await asyncio.to_thread(hosts.drain, self.cfg.host_id, reason)

    def _gone(self, reason: str) -> None:
        """Someone else recorded this host as gone: its tenants are (being) placed elsewhere;
        stop every session without a write (their leases are no longer ours)."""
        if self.done.is_set():
            return
        logger.warning("host gone", extra={**self.log, "reason": reason})
        self.exit_code = int(ExitCode.REPLACED)
        for session in self.sessions.values():
            session.bot.finish(ExitCode.REPLACED, reason)
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
        per_tenant = {tid: s.bot.browser_mb for tid, s in list(self.sessions.items())}
        total = await asyncio.to_thread(memory.process_tree_pss_mb)
        assigned = int(self.known.assigned or 0) if self.known else len(self.sessions)
        capacity = room(
            max_tenants=self.cfg.max_tenants,
            assigned=assigned,
            running=len(self.sessions),
            host_mb=total,
            tenant_mb=[mb for mb in per_tenant.values() if mb > 0],
            memory_mb=self.cfg.memory_mb,
        )
        await asyncio.to_thread(
            hosts.heartbeat,
            self.cfg.host_id,
            now_ms=self.clock.now_ms(),
            capacity=0 if self.draining else capacity,
            pss_mb=total,
            limit_mb=self.cfg.memory_mb,
            tenant_mb=per_tenant,
            first=self.first_heartbeat,
        )
        self.first_heartbeat = False
        for tenant_id, mb in per_tenant.items():
            session = self.sessions.get(tenant_id)
            if session is not None and mb > self.cfg.tenant_memory_mb:
                logger.warning(
                    "tenant browser above its memory limit; relaunching it",
                    extra={**self.log, "tenant_id": tenant_id, "pss_mb": round(mb)},
                )
                self._spawn(session.bot.recycle(f"browser memory {round(mb)} MB"))


def run(env: Mapping[str, str] | None = None) -> int:
    """Run one host to completion; returns its exit code."""
    observability.configure_logging("wafleet-host")
    try:
        settings = Settings.from_env(env)
        cfg = HostConfig.from_env(settings, env)
    except ConfigError as exc:
        logger.error("host cannot start: %s", exc)
        print(f"wafleet host: {exc}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    from chalicelib.control import runtime
    from chalicelib.domain.clock import SystemClock
    from chalicelib.launch.hosts import HostPlacer
    from chalicelib.store.models import shared_connection
    from chalicelib.store.server_clock import ServerClock

    runtime.configure(settings)  # binds the models
    try:
        hosts.get_host(cfg.host_id)
    except Exception as exc:  # not registered, or the table cannot be read: say which
        logger.error("host cannot start: %s", exc)
        print(f"wafleet host: {cfg.host_id}: {exc}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    clock = ServerClock(SystemClock())
    clock.attach(shared_connection().client)
    # Moving a drained tenant places it on a host with room; starting hosts is not the
    # host's job (the control plane does it once this one's exit is reported).
    runtime.configure(settings, clock=clock, launcher=HostPlacer(settings, clock, runner=None))
    host = Host(cfg, settings, clock)

    async def main() -> int:
        # DynamoDB calls run in threads: enough that one tenant's slow call queues no other's.
        workers = max(8, cfg.max_tenants + 4)
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=workers))
        return await host.run()

    try:
        return asyncio.run(main())
    except Exception:
        logger.exception("host failed", extra={"host_id": cfg.host_id})
        return int(ExitCode.UNEXPECTED)


def main() -> None:
    """``python -m worker_container.host``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
