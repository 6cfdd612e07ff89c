"""The canary's side in a session (``chalicelib/domain/canary.py``): every ``every_s``, while
connected and paired, write a probe to the peer's number and wait for its answer; the result
goes to the tenant item, the history (``canary`` event) and the metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chalicelib import observability
from chalicelib.domain import canary
from chalicelib.domain.clock import Clock
from worker_container.engine import Engine
from worker_container.ports import StorePort
from worker_container.reactions import reply_id

logger = logging.getLogger("wafleet.worker")


class Canary:
    """Probes of one canary session."""

    def __init__(
        self,
        store: StorePort,
        engine: Engine,
        clock: Clock,
        *,
        every_s: float,
        timeout_s: float,
        connected: Callable[[], bool],
        peer: Callable[[], str | None],
        record: Callable[[str], Awaitable[None]],
        log: dict[str, Any],
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.connected = connected
        self.peer = peer  # the number to probe, as the last heartbeat read it (None: none)
        self.record = record
        self.log = log
        self.waiting: dict[str, asyncio.Future[int]] = {}  # probe id -> when it was answered

    def answered(self, probe_id: str) -> bool:
        """The peer's answer to a probe arrived (False: not a probe of this session's)."""
        future = self.waiting.get(probe_id)
        if future is None or future.done():
            return False
        future.set_result(self.clock.now_ms())
        return True

    async def run(self, done: asyncio.Event, wake_s: float = 5.0) -> None:
        """Probe every ``every_s`` until ``done``, while paired and connected. A peer it has
        not probed yet (just paired: the heartbeat reads it) is probed at once, so an operator
        who enables a canary sees its first result within a heartbeat, not an interval."""
        probed: str | None = None  # the peer of the last probe
        due = time.monotonic() + self.every_s
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=min(wake_s, self.every_s))
            peer = self.peer()
            if done.is_set() or not self.connected() or not peer:
                continue
            if peer == probed and time.monotonic() < due:
                continue
            probed, due = peer, time.monotonic() + self.every_s
            try:
                await self.probe(peer)
            except Exception as exc:  # the next probe tries again
                logger.warning(
                    "canary probe not recorded",
                    extra={**self.log, "error_type": type(exc).__name__},
                )

    async def probe(self, peer: str) -> canary.Result:
        """Write one probe to ``peer`` and wait up to ``timeout_s`` for its answer."""
        probe_id = secrets.token_hex(8)
        chat = "".join(ch for ch in peer if ch.isdigit()) + "@c.us"
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[probe_id] = future
        started = self.clock.now_ms()
        server_ack = False
        try:
            with contextlib.suppress(Exception):  # a refused send is a failed probe
                sent = await self.engine.send(
                    chat, canary.PROBE.format(id=probe_id), reply_id(f"canary-{probe_id}")
                )
                server_ack = sent.ack >= 1
            try:
                answered_at = await asyncio.wait_for(future, timeout=self.timeout_s)
                result = canary.Result(True, answered_at - started, True, self.timeout_s)
            except TimeoutError:
                result = canary.Result(False, None, server_ack, self.timeout_s)
        finally:
            self.waiting.pop(probe_id, None)
        fails = await asyncio.to_thread(
            self.store.record_canary,
            ok=result.ok,
            round_trip_ms=result.round_trip_ms,
            now_ms=self.clock.now_ms(),
        )
        await self.record(result.detail)
        observability.count("host", CanaryProbes=1, CanaryFailures=0 if result.ok else 1)
        logger.info(
            "canary probe",
            extra={**self.log, "ok": result.ok, "ms": result.round_trip_ms, "fails": fails},
        )
        return result
