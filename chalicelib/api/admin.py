"""Admin routes (admin role only): fleet view, setup-request decisions, worker control."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.context import principal
from chalicelib.api.errors import json_errors

admin_routes = Blueprint(__name__)
ADMIN_EVENTS = "_admins"  # the portal event log's key for changes to admins


def _request() -> Any:
    return admin_routes.current_request


@admin_routes.route("/admin/tenants", methods=["GET"])
@json_errors
def fleet() -> dict[str, Any]:
    """One page of tenants with stale-aware statuses; ``status``/``worker`` filter the page."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain.errors import ValidationError
    from chalicelib.domain.statuses import TenantStatus, WorkerStatus
    from chalicelib.store import tenants

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=100, low=1, high=500)
    wanted = {}
    for name, kind in (("status", TenantStatus), ("worker", WorkerStatus)):
        raw = params.get(name)
        if raw:
            try:
                wanted[name] = kind(raw.upper()).value
            except ValueError:
                allowed = ", ".join(k.value for k in kind)
                raise ValidationError(name, f"must be one of {allowed}") from None
    rt = runtime.get()
    now = rt.clock.now_ms()

    def row(item: Any) -> dict[str, Any]:
        return presenters.fleet_row(item, now_ms=now, stale_ms=rt.settings.stale_ms)

    # Filtered on the stale-aware statuses, page by page until this page is full.
    items, next_cursor = tenants.scan_page(
        limit=limit,
        cursor_token=params.get("cursor"),
        keep=lambda item: all(row(item)[k] == v for k, v in wanted.items()),
    )
    rows = [row(i) for i in items]
    rows.sort(key=lambda r: (r["name"].lower(), r["id"]))
    return {"items": rows, "nextCursor": next_cursor}


@admin_routes.route("/admin/tenants", methods=["POST"])
@json_errors
def create_tenant() -> Response:
    """Create a tenant (status NEW)."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain import validation
    from chalicelib.store import tenants

    body = http.json_body(_request())
    name = validation.text(body.get("name"), "name", max_len=64, required=True)
    phone = body.get("phone")
    number = validation.whatsapp_number(phone, "phone") if phone else None
    rt = runtime.get()
    item = tenants.create_tenant(name or "", now_ms=rt.clock.now_ms(), phone=number)
    return Response(
        body=presenters.tenant_status(
            item, None, now_ms=rt.clock.now_ms(), stale_ms=rt.settings.stale_ms
        ),
        status_code=201,
        headers={"Content-Type": "application/json"},
    )


@admin_routes.route("/admin/tenants/{tenant_id}", methods=["GET"])
@json_errors
def tenant_detail(tenant_id: str) -> dict[str, Any]:
    """One tenant's status document, as its own users see it."""
    from chalicelib.api import presenters
    from chalicelib.control import runtime
    from chalicelib.store import tenants

    rt = runtime.get()
    item = tenants.get_tenant(tenant_id)
    return presenters.tenant_status(
        item, None, now_ms=rt.clock.now_ms(), stale_ms=rt.settings.stale_ms
    )


@admin_routes.route("/admin/setup-requests", methods=["GET"])
@json_errors
def setup_queue() -> dict[str, Any]:
    """Setup requests in one status (default PENDING), oldest first."""
    from chalicelib.api import http, presenters
    from chalicelib.domain.errors import ValidationError
    from chalicelib.domain.statuses import SetupStatus
    from chalicelib.store import setup_requests

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=100, low=1, high=500)
    try:
        status = SetupStatus((params.get("status") or "PENDING").upper())
    except ValueError:
        allowed = ", ".join(s.value for s in SetupStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None
    items = setup_requests.list_by_status(status, limit=limit)
    return {"items": [presenters.setup_request(r) for r in items]}


def _decide(request_id: str, approve: bool) -> dict[str, Any]:
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain import validation
    from chalicelib.store import portal_events, setup_requests

    body = http.json_body(_request(), required=False)
    reason = validation.text(body.get("reason"), "reason", max_len=300)
    admin = principal(_request())
    now = runtime.get().clock.now_ms()
    request = setup_requests.decide(
        request_id, approve=approve, admin_id=admin.user_id, now_ms=now, reason=reason
    )
    portal_events.record(
        request.tenant_id,
        admin.user_id,
        "setup_request.approved" if approve else "setup_request.rejected",
        now_ms=now,
        request_id=request_id,
    )
    return {"setupRequest": presenters.setup_request(request)}


@admin_routes.route("/admin/setup-requests/{request_id}/approve", methods=["POST"])
@json_errors
def approve(request_id: str) -> dict[str, Any]:
    """PENDING -> APPROVED; the request's number becomes the tenant's."""
    return _decide(request_id, True)


@admin_routes.route("/admin/setup-requests/{request_id}/reject", methods=["POST"])
@json_errors
def reject(request_id: str) -> dict[str, Any]:
    """PENDING -> REJECTED, with an optional ``reason``."""
    return _decide(request_id, False)


def _worker_action(tenant_id: str, action: str) -> Response:
    from chalicelib.api import presenters
    from chalicelib.control import runtime, workers
    from chalicelib.store import portal_events, tenants

    tenants.get_tenant(tenant_id)  # 404 before anything else
    if action == "start":
        workers.start(tenant_id)
    elif action == "stop":
        workers.stop(tenant_id)
    else:
        workers.restart(tenant_id)
    rt = runtime.get()
    now = rt.clock.now_ms()
    portal_events.record(tenant_id, principal(_request()).user_id, f"worker.{action}", now_ms=now)
    item = tenants.get_tenant(tenant_id, consistent=True)
    return Response(
        body=presenters.tenant_status(item, None, now_ms=now, stale_ms=rt.settings.stale_ms),
        status_code=202,
        headers={"Content-Type": "application/json"},
    )


@admin_routes.route("/admin/tenants/{tenant_id}/worker/start", methods=["POST"])
@json_errors
def start_worker(tenant_id: str) -> Response:
    """Take the lease and launch a worker; 409 if a live one holds it."""
    return _worker_action(tenant_id, "start")


@admin_routes.route("/admin/tenants/{tenant_id}/worker/stop", methods=["POST"])
@json_errors
def stop_worker(tenant_id: str) -> Response:
    """Record STOPPED (remembered: no automatic restart) and ask the worker to exit."""
    return _worker_action(tenant_id, "stop")


@admin_routes.route("/admin/tenants/{tenant_id}/worker/restart", methods=["POST"])
@json_errors
def restart_worker(tenant_id: str) -> Response:
    """Stop (if running) and start with a new lease."""
    return _worker_action(tenant_id, "restart")


def _user_view(user: Any) -> dict[str, Any]:
    from chalicelib.api.presenters import iso

    return {
        "id": user.user_id,
        "email": user.email,
        "role": user.role,
        "tenantId": user.tenant_id,
        "createdAt": iso(user.created_at),
    }


@admin_routes.route("/admin/users", methods=["GET"])
@json_errors
def list_users() -> dict[str, Any]:
    """Every portal user and their role (one page)."""
    from chalicelib.api import http
    from chalicelib.store import users

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=200, low=1, high=500)
    items, next_cursor = users.list_users(limit=limit, cursor_token=params.get("cursor"))
    rows = sorted((_user_view(u) for u in items), key=lambda r: r["email"])
    return {"items": rows, "nextCursor": next_cursor}


def _audit(event_type: str, user: Any, **payload: Any) -> None:
    from chalicelib.api import auth
    from chalicelib.control import runtime
    from chalicelib.store import portal_events

    auth.memberships.forget(user.user_id)  # this instance at once; others within 30 s
    portal_events.record(
        user.tenant_id or ADMIN_EVENTS,
        principal(_request()).user_id,
        event_type,
        now_ms=runtime.get().clock.now_ms(),
        target=user.user_id,
        **payload,
    )


def _not_self(user_id: str) -> None:
    from chalicelib.domain.errors import IllegalTransitionError

    if user_id == principal(_request()).user_id:
        raise IllegalTransitionError("admins cannot demote or remove themselves")


@admin_routes.route("/admin/users/{user_id}/role", methods=["POST"])
@json_errors
def set_user_role(user_id: str) -> dict[str, Any]:
    """``{"role": "admin"}`` or ``{"role": "tenant", "tenantId": …}``."""
    from chalicelib.api import http
    from chalicelib.domain.errors import ValidationError
    from chalicelib.store import tenants, users

    body = http.json_body(_request())
    role = body.get("role")
    if role not in users.ROLES:
        raise ValidationError("role", f"must be one of {', '.join(users.ROLES)}")
    tenant_id = body.get("tenantId")
    if role == "tenant":
        if not isinstance(tenant_id, str) or not tenant_id:
            raise ValidationError("tenantId", "a tenant user needs a tenant")
        tenants.get_tenant(tenant_id)  # 404 if there is no such tenant
    else:
        tenant_id = None
    _not_self(user_id)
    before = users.get_user(user_id)
    user = users.set_role(user_id, role=role, tenant_id=tenant_id)
    _audit("user.role", user, role=role, was=before.role)
    return _user_view(user)


@admin_routes.route("/admin/users/{user_id}", methods=["DELETE"])
@json_errors
def remove_user(user_id: str) -> dict[str, Any]:
    """Remove a user: their tokens stop working within 30 s."""
    from chalicelib.store import users

    _not_self(user_id)
    user = users.remove_user(user_id)
    _audit("user.removed", user, email=user.email)
    return {"removed": user_id}
