"""Turn the domain's typed views into the JSON the portal reads. The read path applies the
staleness rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain import words
from chalicelib.domain.liveness import is_stale
from chalicelib.domain.restart import restart_at
from chalicelib.domain.statuses import SetupStatus, TenantStatus, WorkerStatus
from chalicelib.domain.summary import Summary
from chalicelib.domain.transitions import Actor, Event, decide
from chalicelib.domain.validation import mask_number
from chalicelib.domain.values import QrCode
from chalicelib.domain.views import (
    HistoryView,
    MessageView,
    SetupRequestView,
    TenantView,
    UserView,
)
from chalicelib.domain.words import Explanation, Situation, explain, logged_out, sentence


def iso(ms: float | None) -> str | None:
    """Epoch milliseconds as an ISO-8601 UTC timestamp."""
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="milliseconds")


def tenant_status(
    view: TenantView,
    setup: SetupRequestView | None,
    *,
    now_ms: int,
    stale_ms: int,
    auto_restart: bool = False,
) -> dict[str, Any]:
    """The status document: tenant, session, worker (stale-aware) and the setup request.

    A worker that claims RUNNING but has not heartbeated within the threshold is shown the
    way the reaper will record it (ERROR, via the same transition table) before it does.
    """
    statuses = view.statuses
    stale = is_stale(statuses.worker, view.heartbeat_at, now_ms, stale_ms)
    last_error = view.last_error
    last_event = _event_of(view.last_event)
    if stale:
        statuses = decide(statuses, Event.STALE, Actor.REAPER).after
        last_error = f"no heartbeat for more than {stale_ms / 1000:g} s"
        last_event = Event.STALE
    restart = None
    if (
        auto_restart
        and statuses.worker is WorkerStatus.ERROR
        and view.desired != "STOP"
        and statuses.tenant is not TenantStatus.PAUSED
    ):
        failed_at = now_ms if stale else view.last_error_at or now_ms
        restart = max(
            now_ms,
            restart_at(
                failed_at_ms=failed_at,
                started_at_ms=view.started_at,
                restarts=view.restarts,
                logged_out=not stale and logged_out(view.last_event, view.last_error),
            ),
        )
    setup_status = setup.status if setup is not None else view.setup_status
    words = explain(
        Situation(
            statuses,
            setup=SetupStatus(setup_status) if setup_status else None,
            desired_stop=view.desired == "STOP",
            last_event=last_event,
            last_error=last_error,
            reconnect_attempts=view.reconnect_attempts,
            next_retry_at_ms=view.next_retry_at,
            next_restart_at_ms=restart,
            pairing=bool(view.link_phone),
            saved_login=bool(view.linked_at),
            other_number=view.other_number,
        )
    )
    return {
        "explain": explanation(words),
        "tenant": {
            "id": view.tenant_id,
            "name": view.name,
            "createdAt": iso(view.created_at),
            "phone": view.phone,
            "status": statuses.tenant.value,
        },
        "session": {
            "state": statuses.session.value,
            "lastSeenAt": iso(view.last_seen_at),
        },
        "worker": {
            "status": statuses.worker.value,
            "stale": stale,
            "lastError": last_error,
            "lastErrorAt": iso(view.last_error_at),
            "heartbeatAt": iso(view.heartbeat_at),
            "startedAt": iso(view.started_at),
            "epoch": view.epoch,
            "desired": view.desired,
            "reconnect": {
                "attempts": view.reconnect_attempts,
                "nextRetryAt": iso(view.next_retry_at),
            },
            "nextRestartAt": iso(restart),
            "memory": {"hostShareMb": view.host_share_mb, "browserMb": view.browser_mb},
            "cpu": {"browserCores": view.browser_cpu},
        },
        "setupRequest": setup_request(setup) if setup is not None else _setup_summary(view),
        "replies": {"version": view.replies_version, "confirmed": view.replies_version > 0},
    }


def _event_of(raw: str | None) -> Event | None:
    try:
        return Event(raw) if raw else None
    except ValueError:  # written by a newer version
        return None


def explanation(words: Explanation) -> dict[str, Any]:
    """The status in words (see ``domain.words``)."""
    return {
        "tone": words.tone,
        "who": words.who.value,
        "headline": words.headline,
        "next": words.next,
        "action": {"label": words.action.label, "href": words.action.href}
        if words.action
        else None,
        "at": iso(words.at_ms),
    }


def _setup_summary(view: TenantView) -> dict[str, Any] | None:
    if not view.setup_id:
        return None
    return {"id": view.setup_id, "status": view.setup_status, "templateType": view.template_type}


def setup_request(request: SetupRequestView) -> dict[str, Any]:
    """A setup request as the portal and admins see it."""
    return {
        "id": request.request_id,
        "tenantId": request.tenant_id,
        "status": request.status,
        "templateType": request.template_type,
        "whatsappNumber": request.whatsapp_number,
        "businessName": request.business_name,
        "notes": request.notes,
        "createdAt": iso(request.created_at),
        "decidedAt": iso(request.decided_at),
        "reason": request.reason,
    }


def qr(
    view: TenantView, *, now_ms: int, stale_ms: int, auto_restart: bool = False
) -> tuple[dict[str, Any], QrCode | None]:
    """Code state without the image (added by the view) and the code to show, if any."""
    status = tenant_status(view, None, now_ms=now_ms, stale_ms=stale_ms, auto_restart=auto_restart)
    state = status["session"]["state"]
    code = view.code if state == "QR_READY" else None
    if code is not None and (code.kind == "pairing") != bool(view.link_phone):
        code = None  # the owner chose the other way to link: only that kind is shown
    body: dict[str, Any] = {
        "state": state,
        "tenantStatus": status["tenant"]["status"],
        "workerStatus": status["worker"]["status"],
        "explain": status["explain"],
        "kind": code.kind if code else ("pairing" if view.link_phone else "qr"),
        "linkPhone": view.link_phone,
        "qr": None,
        "generatedAt": None,
        "expiresAt": None,
        "attempt": None,
        "attemptsMax": None,
    }
    if code:
        body.update(
            generatedAt=iso(code.made_at_ms),
            expiresAt=iso(code.expires_at_ms),
            attempt=code.attempt,
            attemptsMax=code.attempts_max,
        )
    return body, code


def summary(view: Summary) -> dict[str, Any]:
    """The status page's figures: answers lately, the last reply, the last problem."""
    reply, problem = view.last_reply, view.last_problem
    return {
        "answered": {"last24h": view.answered_day, "last7d": view.answered_week, "more": view.more},
        "lastReply": {"at": iso(reply.at), "text": reply.text} if reply else None,
        "lastProblem": {
            "at": iso(problem.at),
            "sentence": sentence(problem.event, problem.actor, problem.detail),
            "endedAt": iso(view.problem_ended_at),
        }
        if problem
        else None,
    }


def message(view: MessageView) -> dict[str, Any]:
    """A log entry; numbers are masked, the tenant sees its own message text."""
    return {
        "id": view.key,
        "direction": view.direction,
        "from": mask_number(view.from_number),
        "to": mask_number(view.to_number),
        "text": view.text,
        "at": iso(view.at),
        "state": view.state,
        "stateText": words.message_state(view.state),
        "why": view.why,
        "replyTo": view.reply_to,
    }


def history_entry(view: HistoryView) -> dict[str, Any]:
    """One status transition."""
    names = ("tenant", "session", "worker")
    return {
        "at": iso(view.at),
        "event": view.event,
        "actor": view.actor,
        "epoch": view.epoch,
        "detail": view.detail,
        "sentence": sentence(view.event, view.actor, view.detail),
        "from": dict(zip(names, view.before, strict=True)),
        "to": dict(zip(names, view.after, strict=True)),
    }


def fleet_row(view: TenantView, *, now_ms: int, stale_ms: int) -> dict[str, Any]:
    """One tenant in the admin fleet view."""
    status = tenant_status(view, None, now_ms=now_ms, stale_ms=stale_ms)
    return {
        "id": view.tenant_id,
        "name": view.name,
        "phone": view.phone,
        "status": status["tenant"]["status"],
        "session": status["session"]["state"],
        "worker": status["worker"]["status"],
        "stale": status["worker"]["stale"],
        "heartbeatAt": status["worker"]["heartbeatAt"],
        "lastError": status["worker"]["lastError"],
        "epoch": status["worker"]["epoch"],
        "desired": status["worker"]["desired"],
        "host": view.host_id,
        "setupStatus": view.setup_status,
        "linkedNumber": view.other_number,  # set only when it is not the approved number
        "browserMb": view.browser_mb,
        "browserCpu": view.browser_cpu,
        "canary": (
            {
                "peer": view.canary_peer,
                "at": iso(view.canary_at),
                "ok": view.canary_ok,
                "roundTripMs": view.canary_ms,
                "failsInARow": view.canary_fails,
            }
            if view.canary_peer
            else None
        ),
        "canaryOf": view.canary_of,
        # The tenant's own pin (the fleet's is a host setting), and what its browser opened.
        "whatsappWeb": {
            "pinned": view.wa_version,
            "served": view.wa_served,
            "refused": view.wa_refused,
        },
    }


def user(view: UserView) -> dict[str, Any]:
    """Someone who can sign in."""
    return {
        "id": view.user_id,
        "email": view.email,
        "role": view.role,
        "tenantId": view.tenant_id,
        "createdAt": iso(view.created_at),
    }


def delivery(item: Any) -> dict[str, Any]:
    """One delivery of an event to an endpoint (its body is not repeated here)."""
    from chalicelib.store import hooks

    _, at, event_id = hooks.delivery_parts(item.sk)
    return {
        "id": f"{at}-{event_id}",
        "eventId": event_id,
        "type": item.event_type,
        "at": iso(at),
        "state": item.state,
        "attempts": int(item.attempts or 0),
        "nextRetryAt": iso(item.next_at) if item.state == "FAILED" else None,
        "lastCode": int(item.last_code) if item.last_code is not None else None,
        "lastError": item.last_error,
    }


def endpoint(item: Any, deliveries: list[Any]) -> dict[str, Any]:
    """A webhook endpoint without its secret."""
    from chalicelib.store import hooks

    return {
        "id": hooks.endpoint_id(item),
        "url": item.url,
        "events": sorted(item.events or []),
        "enabled": bool(item.enabled),
        "disabledReason": item.disabled_reason,
        "createdAt": iso(item.created_at),
        "deliveries": [delivery(d) for d in deliveries],
    }


def host(item: Any, tenant_ids: list[str], *, live: bool) -> dict[str, Any]:
    """A worker host in the fleet view: what runs on it, its room and its memory."""
    tenant_mb = item.tenant_mb.as_dict() if item.tenant_mb is not None else {}
    return {
        "id": item.host_id,
        "status": item.status,
        "live": live,
        "tenants": [{"id": t, "pssMb": tenant_mb.get(t)} for t in tenant_ids],
        "assigned": int(item.assigned or 0),
        "capacity": int(item.capacity or 0),
        "pssMb": item.pss_mb,
        "limitMb": item.limit_mb,
        "heartbeatAt": iso(item.heartbeat_at),
        "createdAt": iso(item.created_at),
        "reason": item.reason,
    }
