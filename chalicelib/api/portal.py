"""Portal routes: everything is scoped to the signed-in user's own tenant ("current")."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.context import principal, tenant_of
from chalicelib.api.errors import json_errors

portal_routes = Blueprint(__name__)
BASE = "/portal/tenant/current"


def _request() -> Any:
    return portal_routes.current_request


@portal_routes.route("/portal/me", methods=["GET"])
@json_errors
def me() -> dict[str, Any]:
    """Who am I: role and tenant (the portal decides which pages to show)."""
    p = principal(_request())
    return {"userId": p.user_id, "email": p.email, "role": p.role, "tenantId": p.tenant_id}


@portal_routes.route(f"{BASE}/status", methods=["GET"])
@json_errors
def status() -> Response:
    """Tenant, session, worker (stale-aware) and setup request; ETag for cheap polling."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.store import tenants

    rt = runtime.get()
    item = tenants.get_tenant(tenant_of(_request()))
    body = presenters.tenant_status(
        item, None, now_ms=rt.clock.now_ms(), stale_ms=rt.settings.stale_ms
    )
    return http.conditional(_request(), body)


@portal_routes.route(f"{BASE}/qr", methods=["GET"])
@json_errors
def qr() -> Response:
    """The QR to scan as a PNG data URI, its expiry and place in the rotation."""
    from chalicelib.api import http, presenters, qr_image
    from chalicelib.control import runtime
    from chalicelib.store import tenants

    rt = runtime.get()
    now = rt.clock.now_ms()
    item = tenants.get_tenant(tenant_of(_request()))
    body, payload = presenters.qr(item, now_ms=now, stale_ms=rt.settings.stale_ms)
    stable = dict(body)
    if payload and body["kind"] == "pairing":
        body["code"] = f"{payload[:4]}-{payload[4:]}"  # typed on the phone, not scanned
        stable["payloadTag"] = http.etag_of(payload)
    elif payload:
        body["qr"] = qr_image.data_uri(payload)
        stable["payloadTag"] = http.etag_of(payload)
    if payload:
        generated = int(item.qr_at or now)
        expires = int(item.qr_expires_at or now)
        body["ageSeconds"] = max(0, (now - generated) // 1000)
        body["expiresInSeconds"] = max(0, (expires - now) // 1000)
        body["expired"] = now >= expires
        stable["expired"] = body["expired"]
    return http.conditional(_request(), body, tag_source=stable)


@portal_routes.route(f"{BASE}/logs", methods=["GET"])
@json_errors
def logs() -> Response:
    """Messages newest first: ``limit`` 1..200 (default 50), ``cursor`` for the next page."""
    from chalicelib.api import http, presenters
    from chalicelib.store import messages

    params = _request().query_params
    limit = http.int_param(params, "limit", default=50, low=1, high=200)
    page = messages.list_messages(
        tenant_of(_request()), limit=limit, cursor_token=(params or {}).get("cursor")
    )
    body = {"items": [presenters.message(m) for m in page.items], "nextCursor": page.next_cursor}
    return http.conditional(_request(), body)


@portal_routes.route(f"{BASE}/history", methods=["GET"])
@json_errors
def history() -> Response:
    """Status transitions newest first; ``since`` (ISO time) for the timeline picture."""
    from chalicelib.api import http, presenters
    from chalicelib.store import history as store

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=100, low=1, high=500)
    since = _since(params.get("since"))
    page = store.list_history(
        tenant_of(_request()), limit=limit, cursor_token=params.get("cursor"), since_ms=since
    )
    body = {
        "items": [presenters.history_entry(h) for h in page.items],
        "nextCursor": page.next_cursor,
    }
    return http.conditional(_request(), body)


def _since(raw: str | None) -> int | None:
    from datetime import datetime

    from chalicelib.domain.errors import ValidationError

    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("since", "must be an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise ValidationError("since", "must include a time zone (Z or +hh:mm)")
    return int(moment.timestamp() * 1000)


@portal_routes.route(f"{BASE}/setup-requests", methods=["GET"])
@json_errors
def current_setup_request() -> dict[str, Any]:
    """The tenant's current setup request, or null."""
    from chalicelib.api import presenters
    from chalicelib.store import setup_requests, tenants

    tenant_id = tenant_of(_request())
    item = tenants.get_tenant(tenant_id)
    request = setup_requests.current_for(tenant_id, item.setup_id)
    return {"setupRequest": presenters.setup_request(request) if request else None}


@portal_routes.route(f"{BASE}/setup-requests", methods=["POST"])
@json_errors
def submit_setup_request() -> Response:
    """Ask for a bot: template type and WhatsApp number (validated); one open at a time."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain import validation
    from chalicelib.store import portal_events, setup_requests

    body = http.json_body(_request())
    template = validation.template_type(body.get("templateType"))
    number = validation.whatsapp_number(body.get("whatsappNumber"))
    business = validation.text(body.get("businessName"), "businessName", max_len=64)
    notes = validation.text(body.get("notes"), "notes", max_len=500)
    p = principal(_request())
    tenant_id = tenant_of(_request())
    now = runtime.get().clock.now_ms()
    request = setup_requests.submit(
        tenant_id,
        p.user_id,
        template=template,
        whatsapp_number=number,
        business_name=business,
        notes=notes,
        now_ms=now,
    )
    portal_events.record(
        tenant_id,
        p.user_id,
        "setup_request.submitted",
        now_ms=now,
        request_id=request.request_id,
        template=template.value,
    )
    return Response(
        body={"setupRequest": presenters.setup_request(request)},
        status_code=201,
        headers={"Content-Type": "application/json"},
    )


def _pause_or_resume(paused: bool) -> dict[str, Any]:
    from chalicelib.api import presenters
    from chalicelib.control import runtime
    from chalicelib.domain.transitions import Actor, Event
    from chalicelib.store import portal_events, tenants

    rt = runtime.get()
    tenant_id = tenant_of(_request())
    now = rt.clock.now_ms()
    event = Event.PAUSED if paused else Event.RESUMED
    tenants.apply_event(tenant_id, event, Actor.TENANT, now_ms=now)
    portal_events.record(
        tenant_id, principal(_request()).user_id, f"tenant.{event.value}", now_ms=now
    )
    item = tenants.get_tenant(tenant_id, consistent=True)
    return presenters.tenant_status(item, None, now_ms=now, stale_ms=rt.settings.stale_ms)


@portal_routes.route(f"{BASE}/link-code", methods=["POST", "DELETE"])
@json_errors
def link_code() -> dict[str, Any]:
    """POST {phone}: link by an 8-character pairing code shown in the portal instead of a QR.
    DELETE: back to the QR. The worker follows within one heartbeat."""
    from chalicelib.api import http
    from chalicelib.control import runtime
    from chalicelib.domain import validation
    from chalicelib.store import portal_events, tenants

    request = _request()
    tenant_id = tenant_of(request)
    phone = None
    if request.method == "POST":
        phone = validation.whatsapp_number(http.json_body(request).get("phone"), "phone")
    tenants.request_pairing_code(tenant_id, phone)
    portal_events.record(
        tenant_id,
        principal(request).user_id,
        "tenant.link_code" if phone else "tenant.link_qr",
        now_ms=runtime.get().clock.now_ms(),
    )
    return {"linkPhone": phone, "method": "pairing" if phone else "qr"}


@portal_routes.route(f"{BASE}/pause", methods=["POST"])
@json_errors
def pause() -> dict[str, Any]:
    """Stop replying; the worker stays linked. 409 if there is nothing to pause."""
    return _pause_or_resume(True)


@portal_routes.route(f"{BASE}/resume", methods=["POST"])
@json_errors
def resume() -> dict[str, Any]:
    """Reply again. 409 if the tenant is not paused."""
    return _pause_or_resume(False)
