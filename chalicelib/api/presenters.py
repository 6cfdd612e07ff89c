"""Turn stored items into the JSON the portal reads. The read path applies the staleness rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.liveness import is_stale
from chalicelib.domain.transitions import Actor, Event, decide
from chalicelib.domain.validation import mask_number


def iso(ms: float | None) -> str | None:
    """Epoch milliseconds as an ISO-8601 UTC timestamp."""
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def tenant_status(item: Any, setup: Any | None, *, now_ms: int, stale_ms: int) -> dict[str, Any]:
    """The status document: tenant, session, worker (stale-aware) and the setup request.

    A worker that claims RUNNING but has not heartbeated within the threshold is shown the
    way the reaper will record it (ERROR, via the same transition table) before it does.
    """
    from chalicelib.store.tenants import statuses_of

    statuses = statuses_of(item)
    heartbeat_at = _int(item.heartbeat_at)
    stale = is_stale(statuses.worker, heartbeat_at, now_ms, stale_ms)
    last_error = item.last_error
    if stale:
        statuses = decide(statuses, Event.STALE, Actor.REAPER).after
        last_error = f"no heartbeat for more than {stale_ms / 1000:g} s"
    return {
        "tenant": {
            "id": item.tenant_id,
            "name": item.name,
            "phone": item.phone,
            "status": statuses.tenant.value,
        },
        "session": {
            "state": statuses.session.value,
            "lastSeenAt": iso(item.last_seen_at),
        },
        "worker": {
            "status": statuses.worker.value,
            "stale": stale,
            "lastError": last_error,
            "lastErrorAt": iso(item.last_error_at),
            "heartbeatAt": iso(heartbeat_at),
            "startedAt": iso(item.started_at),
            "epoch": int(item.lease_epoch or 0),
            "desired": item.desired or "RUN",
            "reconnect": {
                "attempts": _int(item.reconnect_attempts) or 0,
                "nextRetryAt": iso(item.next_retry_at),
            },
            "memory": {
                "workerRssMb": _int(item.worker_rss_mb),
                "browserMb": _int(item.browser_mb),
            },
        },
        "setupRequest": setup_request(setup) if setup is not None else _setup_summary(item),
    }


def _setup_summary(item: Any) -> dict[str, Any] | None:
    if not item.setup_id:
        return None
    return {
        "id": item.setup_id,
        "status": item.setup_status,
        "templateType": item.template_type,
    }


def setup_request(request: Any) -> dict[str, Any]:
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


def qr(item: Any, *, now_ms: int, stale_ms: int) -> tuple[dict[str, Any], str | None]:
    """QR state without the image (added by the view) and the payload to render, if any."""
    status = tenant_status(item, None, now_ms=now_ms, stale_ms=stale_ms)
    state = status["session"]["state"]
    payload = item.qr_payload if state == "QR_READY" else None
    body: dict[str, Any] = {
        "state": state,
        "tenantStatus": status["tenant"]["status"],
        "workerStatus": status["worker"]["status"],
        "kind": "pairing" if getattr(item, "qr_kind", None) == "pairing" else "qr",
        "linkPhone": getattr(item, "link_phone", None),
        "qr": None,
        "generatedAt": None,
        "expiresAt": None,
        "attempt": None,
        "attemptsMax": None,
    }
    if payload:
        body.update(
            generatedAt=iso(item.qr_at),
            expiresAt=iso(item.qr_expires_at),
            attempt=_int(item.qr_attempt),
            attemptsMax=_int(item.qr_attempts_max),
        )
    return body, payload


def message(item: Any) -> dict[str, Any]:
    """A log entry; numbers are masked, the tenant sees its own message text."""
    return {
        "id": item.message_key,
        "direction": item.direction,
        "from": mask_number(item.from_number),
        "to": mask_number(item.to_number),
        "text": item.text,
        "at": iso(item.at),
        "state": item.state,
        "replyTo": item.reply_to,
    }


def history_entry(item: Any) -> dict[str, Any]:
    """One status transition."""
    return {
        "at": iso(item.at),
        "event": item.event,
        "actor": item.actor,
        "epoch": int(item.epoch),
        "detail": item.detail,
        "from": {
            "tenant": item.from_tenant,
            "session": item.from_session,
            "worker": item.from_worker,
        },
        "to": {"tenant": item.to_tenant, "session": item.to_session, "worker": item.to_worker},
    }


def fleet_row(item: Any, *, now_ms: int, stale_ms: int) -> dict[str, Any]:
    """One tenant in the admin fleet view."""
    status = tenant_status(item, None, now_ms=now_ms, stale_ms=stale_ms)
    return {
        "id": item.tenant_id,
        "name": item.name,
        "phone": item.phone,
        "status": status["tenant"]["status"],
        "session": status["session"]["state"],
        "worker": status["worker"]["status"],
        "stale": status["worker"]["stale"],
        "heartbeatAt": status["worker"]["heartbeatAt"],
        "lastError": status["worker"]["lastError"],
        "epoch": status["worker"]["epoch"],
        "desired": status["worker"]["desired"],
        "setupStatus": item.setup_status,
    }
