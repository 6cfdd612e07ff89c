"""The canary's probe loop: a newly paired peer is probed at once, then every interval."""

from __future__ import annotations

import asyncio
from typing import Any

from chalicelib.domain.clock import ManualClock
from worker_container.canary import Canary
from worker_container.engine import Sent


class Peer:
    """An engine whose peer answers every probe at once; ``sent`` is set on each send."""

    def __init__(self) -> None:
        self.probes: list[str] = []
        self.sent = asyncio.Event()
        self.canary: Canary | None = None

    async def send(self, chat: str, text: str, message_id: str, **_: Any) -> Sent:
        self.probes.append(chat)
        self.sent.set()
        assert self.canary is not None
        asyncio.get_running_loop().call_soon(self.canary.answered, text.rsplit(" ", 1)[-1])
        return Sent(message_id, 1)


class Results:
    def __init__(self) -> None:
        self.recorded: list[bool] = []

    def record_canary(self, *, ok: bool, round_trip_ms: int | None, now_ms: int) -> int:
        self.recorded.append(ok)
        return 0


def test_a_canary_paired_while_running_probes_at_once_not_an_hour_later() -> None:
    async def scenario() -> tuple[list[str], list[bool]]:
        engine, results, peer = Peer(), Results(), [None]
        done, awake = asyncio.Event(), asyncio.Event()
        wakes = [0]

        def connected() -> bool:  # asked at each wake of the loop
            wakes[0] += 1
            if wakes[0] >= 3:
                awake.set()
            return True

        async def record(_detail: str) -> None: ...

        canary = Canary(
            results,  # type: ignore[arg-type]
            engine,  # type: ignore[arg-type]
            ManualClock(1_000),
            every_s=3600.0,  # an hour between probes
            timeout_s=5.0,
            connected=connected,
            peer=lambda: peer[0],
            record=record,
            log={},
        )
        engine.canary = canary
        running = asyncio.create_task(canary.run(done, wake_s=0.01))
        await asyncio.wait_for(awake.wait(), timeout=5)  # running, not yet paired ...
        assert engine.probes == []  # ... nothing to probe
        peer[0] = "+4915100000077"  # the operator pairs it; the next heartbeat reads it
        await asyncio.wait_for(engine.sent.wait(), timeout=5)
        done.set()
        await running
        return engine.probes, results.recorded

    probes, recorded = asyncio.run(scenario())
    assert probes == ["4915100000077@c.us"] and recorded == [True]
