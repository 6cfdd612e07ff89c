"""What the owner cares about at a glance: how many customers the bot answered lately, its
last reply, and its last problem and how that ended. Computed from the message log and the
history, the two records the portal already shows in full."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.transitions import Event
from chalicelib.domain.views import HistoryView, MessageView

DAY_MS = 24 * 3600 * 1000
WEEK_MS = 7 * DAY_MS
# The status changes an owner counts as a problem (a stop by an operator or a pause is not).
PROBLEMS = frozenset(
    e.value
    for e in (
        Event.DISCONNECTED,
        Event.AUTH_FAILURE,
        Event.CRASHED,
        Event.STALE,
        Event.RECONNECT_EXHAUSTED,
    )
)


@dataclass(frozen=True)
class Summary:
    """The numbers and the two events the status page shows below the headline."""

    answered_day: int  # replies WhatsApp took in the last 24 hours
    answered_week: int  # ... and in the last 7 days
    more: bool  # the count stopped at the read cap: "at least"
    last_reply: MessageView | None
    last_problem: HistoryView | None
    problem_ended_at: int | None  # the READY that ended it; None while it lasts


def summarize(
    replies: list[MessageView], history: list[HistoryView], *, now_ms: int, more: bool
) -> Summary:
    """``replies``: the week's replies, newest first; ``history``: the newest entries, newest
    first."""
    sent = [r for r in replies if r.state == "SENT"]
    problem_index = next((i for i, h in enumerate(history) if h.event in PROBLEMS), None)
    ended_at = None
    if problem_index is not None:
        # The first READY after the problem (entries before it in the list are newer).
        for entry in reversed(history[:problem_index]):
            if entry.event == Event.READY.value:
                ended_at = entry.at
                break
    return Summary(
        answered_day=sum(1 for r in sent if r.at >= now_ms - DAY_MS),
        answered_week=sum(1 for r in sent if r.at >= now_ms - WEEK_MS),
        more=more,
        last_reply=sent[0] if sent else None,
        last_problem=history[problem_index] if problem_index is not None else None,
        problem_ended_at=ended_at,
    )
