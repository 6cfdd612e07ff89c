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
    from chalicelib.services import portal

    rt = runtime.get()
    view = portal.tenant(tenant_of(_request()))
    now = rt.clock.now_ms()
    body = presenters.tenant_status(
        view, None, now_ms=now, stale_ms=rt.settings.stale_ms, auto_restart=rt.settings.auto_restart
    )
    return http.conditional(_request(), body, now_ms=now)


@portal_routes.route(f"{BASE}/qr", methods=["GET"])
@json_errors
def qr() -> Response:
    """The QR to scan as a PNG data URI (or the pairing code to type), its expiry and place
    in the rotation."""
    from chalicelib.api import http, presenters, qr_image
    from chalicelib.control import runtime
    from chalicelib.services import portal

    rt = runtime.get()
    now = rt.clock.now_ms()
    view = portal.tenant(tenant_of(_request()))
    body, code = presenters.qr(
        view, now_ms=now, stale_ms=rt.settings.stale_ms, auto_restart=rt.settings.auto_restart
    )
    stable = dict(body)
    if code is not None:
        expired = now >= code.expires_at_ms
        if expired:
            pass  # a code past its validity is never handed out: the phone would refuse it
        elif code.kind == "pairing":  # typed on the phone, not scanned
            body["code"] = f"{code.payload[:4]}-{code.payload[4:]}"
        else:
            body["qr"] = qr_image.data_uri(code.payload)
        stable["payloadTag"] = http.etag_of(code.payload)
        generated = code.made_at_ms or now
        body["ageSeconds"] = max(0, (now - generated) // 1000)
        body["expiresInSeconds"] = max(0, (code.expires_at_ms - now) // 1000)
        body["expired"] = expired
        stable["expired"] = expired
    body["serverTime"] = presenters.iso(now)
    return http.conditional(_request(), body, tag_source=stable, now_ms=now)


@portal_routes.route(f"{BASE}/summary", methods=["GET"])
@json_errors
def summary() -> Response:
    """Replies in the last 24 hours and 7 days, the last reply, the last problem and when it
    ended (the status page reads it once a minute)."""
    from chalicelib.api import http, presenters
    from chalicelib.services import portal

    body = presenters.summary(portal.summary(tenant_of(_request())))
    return http.conditional(_request(), body)


@portal_routes.route(f"{BASE}/logs", methods=["GET"])
@json_errors
def logs() -> Response:
    """Messages newest first: ``limit`` 1..200 (default 50), ``cursor`` for the next page."""
    from chalicelib.api import http, presenters
    from chalicelib.services import portal

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=50, low=1, high=200)
    items, next_cursor = portal.message_page(
        tenant_of(_request()), limit=limit, cursor=params.get("cursor")
    )
    body = {"items": [presenters.message(m) for m in items], "nextCursor": next_cursor}
    return http.conditional(_request(), body)


@portal_routes.route(f"{BASE}/history", methods=["GET"])
@json_errors
def history() -> Response:
    """Status transitions newest first; ``since`` (ISO time) for the timeline picture."""
    from chalicelib.api import http, presenters
    from chalicelib.services import portal

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=100, low=1, high=500)
    items, next_cursor = portal.history_page(
        tenant_of(_request()),
        limit=limit,
        cursor=params.get("cursor"),
        since_ms=_since(params.get("since")),
    )
    body = {"items": [presenters.history_entry(h) for h in items], "nextCursor": next_cursor}
    return http.conditional(_request(), body)


def _whole(value: Any, field: str) -> int:
    from chalicelib.domain.errors import ValidationError

    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise ValidationError(field, "must be a whole number")
    return value


def _since(raw: Any, field: str = "since") -> int | None:
    from datetime import datetime

    from chalicelib.domain.errors import ValidationError

    if not raw:
        return None
    if not isinstance(raw, str):
        raise ValidationError(field, "must be an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, "must be an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise ValidationError(field, "must include a time zone (Z or +hh:mm)")
    return int(moment.timestamp() * 1000)


@portal_routes.route(f"{BASE}/setup-requests", methods=["GET"])
@json_errors
def current_setup_request() -> dict[str, Any]:
    """The tenant's current setup request, or null."""
    from chalicelib.api import presenters
    from chalicelib.services import portal

    request = portal.current_setup_request(tenant_of(_request()))
    return {"setupRequest": presenters.setup_request(request) if request else None}


@portal_routes.route(f"{BASE}/setup-requests", methods=["POST"])
@json_errors
def submit_setup_request() -> Response:
    """Ask for a bot: template type and WhatsApp number (validated); one open at a time."""
    from chalicelib.api import http, presenters
    from chalicelib.domain import validation
    from chalicelib.services import portal

    body = http.json_body(_request())
    request = portal.submit_setup_request(
        tenant_of(_request()),
        principal(_request()).user_id,
        template=validation.template_type(body.get("templateType")),
        whatsapp_number=validation.whatsapp_number(body.get("whatsappNumber")),
        business_name=validation.text(body.get("businessName"), "businessName", max_len=64),
        notes=validation.text(body.get("notes"), "notes", max_len=500),
    )
    return Response(
        body={"setupRequest": presenters.setup_request(request)},
        status_code=201,
        headers={"Content-Type": "application/json"},
    )


def _pause_or_resume(paused: bool) -> dict[str, Any]:
    from chalicelib.api import presenters
    from chalicelib.control import runtime
    from chalicelib.services import portal

    rt = runtime.get()
    view = portal.set_paused(tenant_of(_request()), principal(_request()).user_id, paused=paused)
    return presenters.tenant_status(
        view,
        None,
        now_ms=rt.clock.now_ms(),
        stale_ms=rt.settings.stale_ms,
        auto_restart=rt.settings.auto_restart,
    )


@portal_routes.route(f"{BASE}/link-code", methods=["POST", "DELETE"])
@json_errors
def link_code() -> dict[str, Any]:
    """POST: link by an 8-character pairing code shown in the portal instead of a QR, for
    the tenant's approved number (``phone``, if given, must be it; at most 5 an hour, then
    429 with Retry-After). DELETE: back to the QR. The worker follows within one heartbeat."""
    from chalicelib.api import http
    from chalicelib.domain import validation
    from chalicelib.services import portal

    request = _request()
    code, phone = request.method == "POST", None
    if code:
        given = http.json_body(request, required=False).get("phone")
        phone = None if given is None else validation.whatsapp_number(given, "phone")
    linked = portal.choose_link_method(
        tenant_of(request), principal(request).user_id, code=code, phone=phone
    )
    return {"linkPhone": linked, "method": "pairing" if linked else "qr"}


@portal_routes.route(f"{BASE}/replies", methods=["GET", "PUT"])
@json_errors
def replies() -> dict[str, Any]:
    """GET: the owner's replies (null until saved), the business type's starting point and
    the kept versions. PUT ``{"rules": …, "baseVersion": n}``: validated (400 naming the
    field) and saved as version n+1 (409 if another was saved since n); the bot answers with
    it from the next message on."""
    from chalicelib.api import http
    from chalicelib.services import portal

    request = _request()
    tenant = tenant_of(request)
    if request.method == "PUT":
        body = http.json_body(request)
        base = _whole(body.get("baseVersion", 0), "baseVersion")
        who = principal(request).email or principal(request).user_id
        portal.save_replies(tenant, who, body.get("rules"), base=base)
    return portal.replies_doc(tenant)


@portal_routes.route(f"{BASE}/replies/restore", methods=["POST"])
@json_errors
def restore_replies() -> dict[str, Any]:
    """``{"version": n}``: a kept version becomes the newest (404 if not kept)."""
    from chalicelib.api import http
    from chalicelib.services import portal

    request = _request()
    version = _whole(http.json_body(request).get("version"), "version")
    who = principal(request).email or principal(request).user_id
    portal.restore_replies(tenant_of(request), who, version)
    return portal.replies_doc(tenant_of(request))


@portal_routes.route(f"{BASE}/replies/media", methods=["POST"])
@json_errors
def upload_media() -> Response:
    """``{"name", "type", "size"}``: a presigned POST for one JPEG, PNG or PDF of at most 5 MB
    (``{"id", "name", "url", "fields"}``); an answer names it by id once it is uploaded."""
    from chalicelib.api import http
    from chalicelib.services import portal

    request = _request()
    who = principal(request).email or principal(request).user_id
    post = portal.upload_media(tenant_of(request), who, http.json_body(request))
    return Response(body=post, status_code=201, headers={"Cache-Control": "no-store"})


@portal_routes.route(f"{BASE}/replies/preview", methods=["POST"])
@json_errors
def preview_replies() -> dict[str, Any]:
    """``{"text", "at"?, "rules"?, "from"?}``: what the bot would answer (null: nothing) and
    why, with the saved replies or the unsaved ``rules`` being edited, at ``at`` (ISO time;
    now if absent), to the contact ``from`` (a number; absent: a new contact)."""
    from chalicelib.api import http
    from chalicelib.domain import validation
    from chalicelib.services import portal

    request = _request()
    body = http.json_body(request)
    text = validation.text(body.get("text"), "text", max_len=1000, required=True) or ""
    at_ms = _since(body.get("at"), "at") if body.get("at") is not None else None
    number = body.get("from") and validation.whatsapp_number(body["from"], "from")
    answer = portal.preview_reply(
        tenant_of(request), text, at_ms=at_ms, doc=body.get("rules"), number=number or None
    )
    media = {"name": answer.media.name, "type": answer.media.type} if answer.media else None
    return {"text": answer.text, "why": answer.why, "media": media}


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
