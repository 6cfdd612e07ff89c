"""Crash-loop backoff: 10 s doubling to 5 min, reset after 10 min of health."""

from __future__ import annotations

from chalicelib.domain.restart import backoff_ms, restart_at, restart_due


def test_backoff_doubles_to_a_cap() -> None:
    assert [backoff_ms(n) for n in range(7)] == [
        10_000,
        20_000,
        40_000,
        80_000,
        160_000,
        300_000,
        300_000,
    ]


def test_restart_waits_for_the_backoff() -> None:
    assert restart_due(now_ms=9_999, failed_at_ms=0, started_at_ms=-5, restarts=0) is None
    due = restart_due(now_ms=10_000, failed_at_ms=0, started_at_ms=-5, restarts=0)
    assert due is not None and due.attempt == 1
    assert restart_due(now_ms=39_999, failed_at_ms=0, started_at_ms=-5, restarts=2) is None


def test_a_long_healthy_run_resets_the_loop() -> None:
    due = restart_due(now_ms=10_000, failed_at_ms=0, started_at_ms=-600_000, restarts=5)
    assert due is not None and due.attempt == 1


def test_a_logout_restarts_at_once_and_is_not_counted_as_a_crash() -> None:
    # Three crashes in a row (next backoff 80 s), then WhatsApp logs the bot out.
    kwargs = dict(failed_at_ms=1_000_000, started_at_ms=999_000, restarts=3)
    assert restart_at(**kwargs) == 1_000_000 + 80_000  # type: ignore[arg-type]
    assert restart_at(**kwargs, logged_out=True) == 1_000_000  # type: ignore[arg-type]
    decision = restart_due(now_ms=1_000_000, **kwargs, logged_out=True)  # type: ignore[arg-type]
    assert decision is not None and decision.attempt == 3  # the crash loop did not grow
