"""What a tenant's statuses mean in a shop owner's words: who has to act, what happens next
and when. One table for the portal, the API and the e-mails; technical names stay out."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.statuses import SessionState, SetupStatus, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Actor, Event, Statuses

LOGGED_OUT = "logged out"
"""How the worker's cause for an auth failure starts when only a new link can fix it (the
other auth failures are WhatsApp refusing the number: an operator has to look)."""
OUR_SIDE = "browser:"
"""How the worker's cause for a lost connection starts when the fault is ours (the bot's
browser hung or crashed), not the owner's phone or network."""
WHATSAPP_CHANGED = "WhatsApp Web changed"
"""How the worker's cause starts when WhatsApp Web no longer loads with the pinned wa-js:
an operator updates it; the bot tries again on a slow schedule meanwhile."""


class Who(StrEnum):
    """Who has to do something for the bot to answer again."""

    NOBODY = "nobody"
    OWNER = "owner"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Situation:
    """Everything the words depend on, as the status document has it."""

    statuses: Statuses
    setup: SetupStatus | None = None
    desired_stop: bool = False  # an operator stopped the worker
    last_event: Event | None = None  # what caused the newest status change
    last_error: str | None = None
    reconnect_attempts: int = 0
    next_retry_at_ms: int | None = None  # the worker's next reconnect try
    next_restart_at_ms: int | None = None  # the automatic restart, if one is coming
    pairing: bool = False  # the owner links by typing a code, not by scanning
    saved_login: bool = False  # linked since its last code, and not logged out since
    other_number: str | None = None  # the phone linked this number, not the approved one


def logged_out(last_event: str | None, last_error: str | None) -> bool:
    """The newest status change was WhatsApp ending the login (only a new link helps)."""
    return last_event == Event.AUTH_FAILURE.value and (last_error or "").startswith(LOGGED_OUT)


@dataclass(frozen=True)
class Action:
    """A link to the page where the owner does what is asked."""

    label: str
    href: str


@dataclass(frozen=True)
class Explanation:
    """The status in words: a headline, what happens next, who acts, and when."""

    tone: str  # ok, info, warn, bad
    who: Who
    headline: str
    next: str
    action: Action | None = None
    at_ms: int | None = None  # when the next automatic step happens, if it is scheduled


_SETUP = Action("Send a setup request", "setup.html")
_LINK = Action("Open the linking page", "whatsapp.html")


def explain(s: Situation) -> Explanation:
    """The words for ``s``; every state the transition table can reach has some."""
    tenant, session, worker = s.statuses.tenant, s.statuses.session, s.statuses.worker
    if tenant is TenantStatus.PAUSED:
        return _paused(s)
    if session is SessionState.CONNECTED and worker is WorkerStatus.RUNNING and s.other_number:
        return Explanation(
            "warn",
            Who.OPERATOR,
            "Your bot is linked to another number",
            f"The phone that linked it is {s.other_number}, not your approved number. It does "
            "not answer until an operator confirms this number, or you link the approved phone "
            "(log the bot out on that phone first).",
        )
    if session is SessionState.CONNECTED and worker is WorkerStatus.RUNNING:
        return Explanation(
            "ok", Who.NOBODY, "You're all set!", "Your bot answers your customers on WhatsApp."
        )
    if session is SessionState.QR_READY:
        how = "type the code WhatsApp shows" if s.pairing else "scan the QR code"
        return Explanation(
            "warn",
            Who.OWNER,
            "Link WhatsApp to your bot",
            f"Open the linking page and {how} with WhatsApp on your phone.",
            _LINK,
        )
    if worker in (WorkerStatus.STARTING, WorkerStatus.RUNNING):
        return _coming_up(s)
    if tenant is TenantStatus.NEW:
        return _not_started(s)
    return _down(s)


def _paused(s: Situation) -> Explanation:
    linked = s.statuses.session is SessionState.CONNECTED
    return Explanation(
        "warn",
        Who.OWNER,
        "Your bot is paused",
        ("It stays linked to WhatsApp but " if linked else "It ")
        + "does not answer anyone until you resume it.",
    )


def _coming_up(s: Situation) -> Explanation:
    if s.last_event is Event.DISCONNECTED and (s.last_error or "").startswith(WHATSAPP_CHANGED):
        return Explanation(
            "bad",
            Who.OPERATOR,
            "WhatsApp changed its website: our operators are updating your bot",
            "Your bot cannot open WhatsApp until then; it tries again by itself now and then. "
            "Nothing for you to do, your link to WhatsApp is kept.",
            at_ms=s.next_retry_at_ms,
        )
    if s.last_event is Event.DISCONNECTED and (s.last_error or "").startswith(OUR_SIDE):
        return Explanation(
            "warn",
            Who.NOBODY,
            "A problem on our side: your bot is reconnecting",
            "Its browser stopped responding; the bot restarts it by itself and comes back "
            "linked. Nothing to do.",
        )
    if s.last_event is Event.DISCONNECTED:
        return Explanation(
            "warn",
            Who.NOBODY,
            "Your bot lost its connection to WhatsApp",
            "It reconnects by itself"
            + (f" (attempt {s.reconnect_attempts})" if s.reconnect_attempts else "")
            + ". If this lasts, check that your phone is switched on and has internet.",
            at_ms=s.next_retry_at_ms,
        )
    if s.statuses.tenant is TenantStatus.NEW:
        return Explanation(
            "info",
            Who.NOBODY,
            "Your bot is starting",
            "In a moment it shows a code for you to link WhatsApp.",
            _LINK,
        )
    if not s.saved_login:  # never linked, or logged out: the phone has to link it (again)
        return Explanation(
            "info",
            Who.OWNER,
            "Your bot is starting again",
            "In a moment it shows a code: link WhatsApp with your phone on the linking page.",
            _LINK,
        )
    return Explanation(
        "info",
        Who.NOBODY,
        "Your bot is starting again",
        "It comes back linked by itself; nothing to do.",
    )


def _not_started(s: Situation) -> Explanation:
    if s.setup is None:
        return Explanation(
            "info",
            Who.OWNER,
            "Your bot is not set up yet",
            "Send a setup request: your type of business and your WhatsApp number.",
            _SETUP,
        )
    if s.setup is SetupStatus.REJECTED:
        return Explanation(
            "bad",
            Who.OWNER,
            "Your setup request was declined",
            "Read the reason on the setup page and send a new request.",
            _SETUP,
        )
    if s.setup is SetupStatus.PENDING:
        return Explanation(
            "info",
            Who.OPERATOR,
            "We are reviewing your setup request",
            "An operator approves it and starts your bot; nothing to do until then.",
        )
    if s.desired_stop and s.setup is SetupStatus.ACTIVE:
        return Explanation(
            "warn",
            Who.OPERATOR,
            "An operator stopped your bot",
            "It does not answer until an operator starts it again.",
        )
    return Explanation(
        "info",
        Who.OPERATOR,
        "Your setup request is approved",
        "An operator starts your bot shortly; then you link WhatsApp on the linking page.",
    )


def _down(s: Situation) -> Explanation:
    restart = s.next_restart_at_ms
    if s.desired_stop or s.last_event is Event.STOPPED:
        return Explanation(
            "bad",
            Who.OPERATOR,
            "An operator stopped your bot",
            "It does not answer until an operator starts it again.",
        )
    if s.last_event is Event.AUTH_FAILURE and (s.last_error or "").startswith(LOGGED_OUT):
        then = (
            "A new code appears on the linking page when the bot restarts."
            if restart is not None
            else "An operator restarts the bot; then a new code appears on the linking page."
        )
        return Explanation(
            "bad",
            Who.OWNER,
            "WhatsApp logged your bot out",
            f"Link it again with your phone. {then}",
            _LINK,
            at_ms=restart,
        )
    if s.last_event is Event.AUTH_FAILURE:
        return Explanation(
            "bad",
            Who.OPERATOR,
            "WhatsApp refuses this number",
            "An operator has to look into it; we will tell you what to do.",
        )
    if s.last_event is Event.RECONNECT_EXHAUSTED:
        return Explanation(
            "bad",
            Who.OWNER if restart is None else Who.NOBODY,
            "Your bot could not reach WhatsApp",
            "Check that your phone is switched on and has internet. "
            + (
                "The bot tries again when it restarts." if restart else "Then ask us to restart it."
            ),
            at_ms=restart,
        )
    then = "it comes back linked" if s.saved_login else "then it shows a code for you to link"
    if restart is not None:
        return Explanation(
            "bad",
            Who.NOBODY,
            "Your bot stopped working and restarts by itself",
            f"A problem on our side: {then}"
            + ("; nothing to do." if s.saved_login else " WhatsApp."),
            _LINK if not s.saved_login else None,
            at_ms=restart,
        )
    return Explanation(
        "bad",
        Who.OPERATOR,
        "Your bot stopped working",
        f"A problem on our side: an operator has been told and restarts it; {then}"
        + ("." if s.saved_login else " WhatsApp."),
    )


# What each recorded event means, as a History sentence (the actor picks the variant).
_SENTENCES: dict[Event, str] = {
    Event.LAUNCHED: "Bot started",
    Event.HEARTBEAT: "Bot is running",
    Event.QR: "A code to link WhatsApp was shown",
    Event.READY: "WhatsApp linked: the bot answers",
    Event.DISCONNECTED: "Lost the connection to WhatsApp; reconnecting",
    Event.RECONNECT_EXHAUSTED: "Could not reconnect to WhatsApp",
    Event.AUTH_FAILURE: "WhatsApp logged the bot out",
    Event.MESSAGE_ERROR: "A message could not be answered",
    Event.STOPPED: "Bot stopped",
    Event.STALE: "Bot stopped responding",
    Event.CRASHED: "Bot crashed",
    Event.PAUSED: "Replies paused",
    Event.RESUMED: "Replies resumed",
    Event.CANARY: "Canary probe answered",
}


def sentence(event: str, actor: str, detail: str | None) -> str:
    """A History row as a sentence ("Bot restarted automatically", "Your phone logged out")."""
    try:
        kind, who = Event(event), Actor(actor)
    except ValueError:
        return "Status changed"
    if kind is Event.LAUNCHED:
        if detail and detail.startswith("automatic restart"):
            return "Bot restarted automatically"
        return "Bot started by an operator" if who is Actor.OPERATOR else "Bot started"
    if kind is Event.AUTH_FAILURE and not (detail or "").startswith(LOGGED_OUT):
        return "WhatsApp refused this number"
    if kind is Event.AUTH_FAILURE and detail and "phone" in detail:
        return "Your phone logged the bot out"
    if kind is Event.DISCONNECTED and (detail or "").startswith(WHATSAPP_CHANGED):
        return "WhatsApp changed its website; waiting for an update"
    if kind is Event.DISCONNECTED and (detail or "").startswith(OUR_SIDE):
        return "The bot's browser stopped responding; reconnecting"
    if kind is Event.STOPPED:
        return {
            Actor.OPERATOR: "Bot stopped by an operator",
            Actor.WORKER: "Bot shut down",
        }.get(who, "Bot stopped")
    if kind is Event.CANARY and not (detail or "").startswith("answered"):
        return "Canary probe not answered"
    if kind in (Event.PAUSED, Event.RESUMED):
        by = "you" if who is Actor.TENANT else "an operator"
        return f"{_SENTENCES[kind]} by {by}"
    return _SENTENCES[kind]


MESSAGE_STATES = {
    "RECEIVED": "waiting for its reply",
    "REPLIED": "answered",
    "IGNORED": "not answered (the bot was paused, or this customer wrote too often)",
    "SENDING": "being sent",
    "SENT": "taken by WhatsApp",
}


def message_state(state: str | None) -> str:
    """What a message's state means, in words (the Messages page)."""
    return MESSAGE_STATES.get(state or "", "")
