"""The status page's figures, from the message log and the history."""

from __future__ import annotations

from chalicelib.domain.summary import DAY_MS, summarize
from chalicelib.domain.views import HistoryView, MessageView

NOW = 1_800_000_000_000
RUNNING = ("ACTIVE", "CONNECTED", "RUNNING")
DOWN = ("ERROR", "DISCONNECTED", "ERROR")


def reply(at: int, state: str = "SENT", text: str = "We open at 9") -> MessageView:
    return MessageView(f"out#{at}", "OUT", None, None, text, at, state, None)


def entry(at: int, event: str, after: tuple[str, str, str] = RUNNING) -> HistoryView:
    return HistoryView(at, event, "worker", 1, None, RUNNING, after)


def test_answers_are_counted_by_day_and_week_and_only_once_whatsapp_took_them() -> None:
    replies = [
        reply(NOW - 1000),
        reply(NOW - 2000, state="SENDING"),  # not taken by WhatsApp yet
        reply(NOW - 2 * DAY_MS, text="older"),
    ]
    s = summarize(replies, [], now_ms=NOW, more=False)
    assert (s.answered_day, s.answered_week) == (1, 2)
    assert s.last_reply is not None and s.last_reply.at == NOW - 1000
    assert s.last_problem is None


def test_the_last_problem_is_told_with_the_ready_that_ended_it() -> None:
    history = [  # newest first
        entry(NOW - 10, "heartbeat"),
        entry(NOW - 20, "ready"),
        entry(NOW - 30, "launched"),
        entry(NOW - 40, "crashed", DOWN),
        entry(NOW - 50, "ready"),
        entry(NOW - 60, "disconnected", DOWN),
    ]
    s = summarize([], history, now_ms=NOW, more=False)
    assert s.last_problem is not None and s.last_problem.event == "crashed"
    assert s.problem_ended_at == NOW - 20
    ongoing = summarize([], history[3:4], now_ms=NOW, more=False)
    assert ongoing.problem_ended_at is None
