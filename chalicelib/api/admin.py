"""Admin routes (admin role only): fleet view, setup-request decisions, worker control."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.context import principal
from chalicelib.api.errors import json_errors
from chalicelib.domain.values import Role, WorkerAction

admin_routes = Blueprint(__name__)


def _request() -> Any:
    return admin_routes.current_request


@admin_routes.route("/admin/tenants", methods=["GET"])
@json_errors
def fleet() -> dict[str, Any]:
    """One full page of tenants with stale-aware statuses; ``status``/``worker`` filter it."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain.errors import ValidationError
    from chalicelib.domain.statuses import TenantStatus, WorkerStatus
    from chalicelib.domain.views import TenantView
    from chalicelib.services import admin

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

    def row(view: TenantView) -> dict[str, Any]:
        return presenters.fleet_row(view, now_ms=now, stale_ms=rt.settings.stale_ms)

    # Filtered on the stale-aware statuses, page by page until this page is full.
    views, next_cursor = admin.fleet_page(
        limit=limit,
        cursor=params.get("cursor"),
        keep=lambda view: all(row(view)[k] == v for k, v in wanted.items()),
    )
    rows = sorted((row(v) for v in views), key=lambda r: (r["name"].lower(), r["id"]))
    return {"items": rows, "nextCursor": next_cursor}


def _status_response(view: Any, status_code: int) -> Response:
    from chalicelib.api import presenters
    from chalicelib.control import runtime

    rt = runtime.get()
    body = presenters.tenant_status(
        view,
        None,
        now_ms=rt.clock.now_ms(),
        stale_ms=rt.settings.stale_ms,
        auto_restart=rt.settings.auto_restart,
    )
    return Response(
        body=body, status_code=status_code, headers={"Content-Type": "application/json"}
    )


@admin_routes.route("/admin/tenants", methods=["POST"])
@json_errors
def create_tenant() -> Response:
    """Create a tenant (status NEW)."""
    from chalicelib.api import http
    from chalicelib.domain import validation
    from chalicelib.services import admin

    body = http.json_body(_request())
    name = validation.text(body.get("name"), "name", max_len=64, required=True)
    phone = body.get("phone")
    number = validation.whatsapp_number(phone, "phone") if phone else None
    return _status_response(admin.create_tenant(name or "", number), 201)


@admin_routes.route("/admin/tenants/{tenant_id}", methods=["GET"])
@json_errors
def tenant_detail(tenant_id: str) -> Response:
    """One tenant's status document, as its own users see it."""
    from chalicelib.services import admin

    return _status_response(admin.tenant(tenant_id), 200)


@admin_routes.route("/admin/setup-requests", methods=["GET"])
@json_errors
def setup_queue() -> dict[str, Any]:
    """Setup requests in one status (default PENDING), oldest first."""
    from chalicelib.api import http, presenters
    from chalicelib.domain.errors import ValidationError
    from chalicelib.domain.statuses import SetupStatus
    from chalicelib.services import admin

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=100, low=1, high=500)
    try:
        status = SetupStatus((params.get("status") or "PENDING").upper())
    except ValueError:
        allowed = ", ".join(s.value for s in SetupStatus)
        raise ValidationError("status", f"must be one of {allowed}") from None
    return {"items": [presenters.setup_request(r) for r in admin.setup_queue(status, limit=limit)]}


def _decide(request_id: str, approve: bool) -> dict[str, Any]:
    from chalicelib.api import http, presenters
    from chalicelib.domain import validation
    from chalicelib.services import admin

    body = http.json_body(_request(), required=False)
    reason = validation.text(body.get("reason"), "reason", max_len=300)
    request = admin.decide(
        request_id, principal(_request()).user_id, approve=approve, reason=reason
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


def _worker_action(tenant_id: str, action: WorkerAction) -> Response:
    from chalicelib.services import admin

    return _status_response(admin.worker(tenant_id, action, principal(_request()).user_id), 202)


@admin_routes.route("/admin/tenants/{tenant_id}/worker/start", methods=["POST"])
@json_errors
def start_worker(tenant_id: str) -> Response:
    """Take the lease and launch a worker; 409 if a live one holds it."""
    return _worker_action(tenant_id, WorkerAction.START)


@admin_routes.route("/admin/tenants/{tenant_id}/worker/stop", methods=["POST"])
@json_errors
def stop_worker(tenant_id: str) -> Response:
    """Record STOPPED (remembered: no automatic restart) and ask the worker to exit."""
    return _worker_action(tenant_id, WorkerAction.STOP)


@admin_routes.route("/admin/tenants/{tenant_id}/worker/restart", methods=["POST"])
@json_errors
def restart_worker(tenant_id: str) -> Response:
    """Stop (if running) and start with a new lease."""
    return _worker_action(tenant_id, WorkerAction.RESTART)


@admin_routes.route("/admin/tenants/{tenant_id}/confirm-number", methods=["POST"])
@json_errors
def confirm_number(tenant_id: str) -> Response:
    """The number the tenant's phone linked becomes the tenant's (it answers again); 409 if
    another business holds that number or the bot is linked to its own number."""
    from chalicelib.services import admin

    return _status_response(admin.confirm_number(tenant_id, principal(_request()).user_id), 200)


@admin_routes.route("/admin/tenants/{tenant_id}/canary", methods=["PUT", "DELETE"])
@json_errors
def canary(tenant_id: str) -> Response:
    """PUT ``{"peer": "<tenant id>"}``: the tenant becomes a canary that probes the peer's
    number every few minutes (the peer answers); DELETE stops it."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain import validation
    from chalicelib.services import admin

    request = _request()
    who = principal(request).user_id
    if request.method == "DELETE":
        view = admin.unpair_canary(tenant_id, who)
    else:
        peer = validation.text(
            http.json_body(request).get("peer"), "peer", max_len=64, required=True
        )
        view = admin.pair_canary(tenant_id, who, peer or "")
    rt = runtime.get()
    row = presenters.fleet_row(view, now_ms=rt.clock.now_ms(), stale_ms=rt.settings.stale_ms)
    return Response(body=row, status_code=200)


@admin_routes.route("/admin/tenants/{tenant_id}/wa-version", methods=["PUT", "DELETE"])
@json_errors
def wa_version(tenant_id: str) -> Response:
    """PUT ``{"version": "2.3000.1048032155-alpha"}``: the tenant's browser serves that
    WhatsApp Web version (a page of @wppconnect/wa-version in the worker's image) from its next
    launch, whatever the fleet's; DELETE unpins. The fleet view shows what was served."""
    from chalicelib.api import http, presenters
    from chalicelib.control import runtime
    from chalicelib.domain import wa_version as versions
    from chalicelib.services import admin

    request = _request()
    who = principal(request).user_id
    if request.method == "DELETE":
        view = admin.pin_wa_version(tenant_id, who, None)
    else:
        version = versions.check(http.json_body(request).get("version"))
        view = admin.pin_wa_version(tenant_id, who, version)
    rt = runtime.get()
    row = presenters.fleet_row(view, now_ms=rt.clock.now_ms(), stale_ms=rt.settings.stale_ms)
    return Response(body=row, status_code=200)


def _host_rows(items: list[Any]) -> list[dict[str, Any]]:
    from chalicelib.api import presenters
    from chalicelib.control import runtime
    from chalicelib.store import hosts

    rt = runtime.get()
    now = rt.clock.now_ms()
    return [
        presenters.host(
            item, tenant_ids, live=hosts.is_live(item, now_ms=now, settings=rt.settings)
        )
        for item, tenant_ids in items
    ]


@admin_routes.route("/admin/hosts", methods=["GET"])
@json_errors
def list_hosts() -> dict[str, Any]:
    """Worker hosts (not gone), oldest first: their tenants, room and memory."""
    from chalicelib.services import admin

    return {"items": _host_rows(admin.hosts_view())}


@admin_routes.route("/admin/hosts/{host_id}/drain", methods=["POST"])
@json_errors
def drain_host(host_id: str) -> Response:
    """Stop placing tenants on the host; it saves each login, moves its tenants and exits.
    404 for an unknown host, 409 if it is already draining or gone."""
    from chalicelib.services import admin
    from chalicelib.store import hosts

    admin.drain_host(host_id, principal(_request()).user_id)
    item, placed = hosts.placements(host_id)
    (row,) = _host_rows([(item, sorted(p.lease.tenant_id for p in placed))])
    return Response(body=row, status_code=202, headers={"Content-Type": "application/json"})


@admin_routes.route("/admin/users", methods=["GET"])
@json_errors
def list_users() -> dict[str, Any]:
    """Every portal user and their role (one page)."""
    from chalicelib.api import http, presenters
    from chalicelib.services import admin

    params = _request().query_params or {}
    limit = http.int_param(params, "limit", default=200, low=1, high=500)
    views, next_cursor = admin.user_page(limit=limit, cursor=params.get("cursor"))
    rows = sorted((presenters.user(u) for u in views), key=lambda r: r["email"])
    return {"items": rows, "nextCursor": next_cursor}


@admin_routes.route("/admin/users/{user_id}/role", methods=["POST"])
@json_errors
def set_user_role(user_id: str) -> dict[str, Any]:
    """``{"role": "admin"}`` or ``{"role": "tenant", "tenantId": …}``."""
    from chalicelib.api import auth, http, presenters
    from chalicelib.domain.errors import ValidationError
    from chalicelib.services import admin

    body = http.json_body(_request())
    try:
        role = Role(str(body.get("role")))
    except ValueError:
        raise ValidationError("role", f"must be one of {', '.join(Role)}") from None
    tenant_id = body.get("tenantId")
    if role is Role.TENANT and (not isinstance(tenant_id, str) or not tenant_id):
        raise ValidationError("tenantId", "a tenant user needs a tenant")
    user = admin.set_role(principal(_request()).user_id, user_id, role, tenant_id)
    auth.memberships.forget(user_id)  # this instance at once; others within 30 s
    return presenters.user(user)


@admin_routes.route("/admin/users/{user_id}", methods=["DELETE"])
@json_errors
def remove_user(user_id: str) -> dict[str, Any]:
    """Remove a user: their tokens stop working within 30 s."""
    from chalicelib.api import auth
    from chalicelib.services import admin

    admin.remove_user(principal(_request()).user_id, user_id)
    auth.memberships.forget(user_id)  # this instance at once; others within 30 s
    return {"removed": user_id}
