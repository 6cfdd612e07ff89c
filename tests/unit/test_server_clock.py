"""A worker's skewed clock is corrected by the DynamoDB server's Date header."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from chalicelib.domain.clock import ManualClock
from chalicelib.store.server_clock import ServerClock


def header(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, tz=UTC), usegmt=True)


def test_a_clock_30s_behind_is_corrected() -> None:
    local = ManualClock(1_700_000_000_000)
    clock = ServerClock(local)
    server_now = local.now_ms() + 30_000
    for i in range(5):
        clock.observe(header(server_now + i * 1000), local.now_ms() + i * 1000)
    assert abs(clock.now_ms() - server_now) <= 1000


def test_noise_below_the_header_resolution_is_ignored() -> None:
    local = ManualClock(1_700_000_000_400)
    clock = ServerClock(local)
    clock.observe(header(local.now_ms()), local.now_ms())
    assert clock.now_ms() == local.now_ms()
    clock.observe("not a date", local.now_ms())
    assert clock.offset_ms == 0
