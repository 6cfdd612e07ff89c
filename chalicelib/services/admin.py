"""What operators can do: the fleet, setup decisions, workers, and who may sign in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.control import runtime, workers
from chalicelib.domain.errors import ConcurrentUpdateError, IllegalTransitionError
from chalicelib.domain.statuses import SetupStatus
from chalicelib.domain.values import Role, WorkerAction
from chalicelib.domain.views import SetupRequestView, TenantView, UserView
from chalicelib.store import portal_events, setup_requests, tenants, users, views

ADMIN_EVENTS = "_admins"  # the portal event log's key for changes to admins


def fleet_page(
    *, limit: int, cursor: str | None, keep: Callable[[TenantView], bool] | None = None
) -> tuple[list[TenantView], str | None]:
    """A full page of the tenants ``keep`` accepts, and the cursor of the next."""
    items, next_cursor = tenants.scan_page(
        limit=limit,
        cursor_token=cursor,
        keep=None if keep is None else (lambda item: keep(views.tenant(item))),
    )
    return [views.tenant(i) for i in items], next_cursor


def create_tenant(name: str, phone: str | None) -> TenantView:
    """A tenant in status NEW; with a number, one no other tenant holds or asked for."""
    now = runtime.get().clock.now_ms()
    if phone:
        return views.tenant(setup_requests.create_tenant_holding(name, phone=phone, now_ms=now))
    return views.tenant(tenants.create_tenant(name, now_ms=now, phone=None))


def tenant(tenant_id: str) -> TenantView:
    """One tenant (404 if none)."""
    return views.tenant(tenants.get_tenant(tenant_id))


def setup_queue(status: SetupStatus, *, limit: int) -> list[SetupRequestView]:
    """Requests in one status, oldest first."""
    return [views.setup_request(r) for r in setup_requests.list_by_status(status, limit=limit)]


def decide(
    request_id: str, admin_id: str, *, approve: bool, reason: str | None
) -> SetupRequestView:
    """Approve or reject a PENDING request (recorded in the tenant's event log)."""
    now = runtime.get().clock.now_ms()
    request = setup_requests.decide(
        request_id, approve=approve, admin_id=admin_id, now_ms=now, reason=reason
    )
    portal_events.record(
        request.tenant_id,
        admin_id,
        "setup_request.approved" if approve else "setup_request.rejected",
        now_ms=now,
        request_id=request_id,
    )
    return views.setup_request(request)


def worker(tenant_id: str, action: WorkerAction, admin_id: str) -> TenantView:
    """Start, stop or restart a tenant's worker (404 first if there is no such tenant)."""
    tenants.get_tenant(tenant_id)
    if action is WorkerAction.START:
        workers.start(tenant_id)
    elif action is WorkerAction.STOP:
        workers.stop(tenant_id)
    else:
        workers.restart(tenant_id)
    now = runtime.get().clock.now_ms()
    portal_events.record(tenant_id, admin_id, f"worker.{action.value}", now_ms=now)
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def confirm_number(tenant_id: str, admin_id: str) -> TenantView:
    """The number the tenant's phone linked becomes its number (claimed for it: refused if
    another business holds it); the bot answers from the next message on."""
    now = runtime.get().clock.now_ms()
    item = tenants.get_tenant(tenant_id, consistent=True)
    if not item.other_number:
        raise ConcurrentUpdateError("the bot is linked to the tenant's own number already")
    setup_requests.take_number(tenant_id, item.other_number, previous=item.phone, now_ms=now)
    portal_events.record(tenant_id, admin_id, "tenant.number_confirmed", now_ms=now)
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def pair_canary(tenant_id: str, admin_id: str, peer_id: str) -> TenantView:
    """Make ``tenant_id`` a canary that probes ``peer_id`` (both tenants of the platform)."""
    now = runtime.get().clock.now_ms()
    _, peer = tenants.pair_canary(tenant_id, peer_id, now_ms=now)
    portal_events.record(tenant_id, admin_id, "tenant.canary_enabled", now_ms=now, peer=peer)
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def unpair_canary(tenant_id: str, admin_id: str) -> TenantView:
    """Stop the canary of ``tenant_id``."""
    now = runtime.get().clock.now_ms()
    tenants.unpair_canary(tenant_id, now_ms=now)
    portal_events.record(tenant_id, admin_id, "tenant.canary_disabled", now_ms=now)
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def pin_wa_version(tenant_id: str, admin_id: str, version: str | None) -> TenantView:
    """Pin the tenant to a WhatsApp Web version (None: unpin); served from its next launch."""
    now = runtime.get().clock.now_ms()
    tenants.pin_wa_version(tenant_id, version, now_ms=now)
    if version is None:
        portal_events.record(tenant_id, admin_id, "tenant.wa_version_unpinned", now_ms=now)
    else:
        portal_events.record(
            tenant_id, admin_id, "tenant.wa_version_pinned", now_ms=now, version=version
        )
    return views.tenant(tenants.get_tenant(tenant_id, consistent=True))


def user_page(*, limit: int, cursor: str | None) -> tuple[list[UserView], str | None]:
    """Who can sign in."""
    items, next_cursor = users.list_users(limit=limit, cursor_token=cursor)
    return [views.user(u) for u in items], next_cursor


def set_role(admin_id: str, user_id: str, role: Role, tenant_id: str | None) -> UserView:
    """Promote to admin, or make a member of ``tenant_id`` (recorded; never oneself)."""
    _not_self(admin_id, user_id)
    if role is Role.TENANT:
        tenants.get_tenant(tenant_id or "")  # 404 if there is no such tenant
    before = users.get_user(user_id)
    user = users.set_role(
        user_id, role=role.value, tenant_id=tenant_id if role is Role.TENANT else None
    )
    _audit(admin_id, "user.role", user.tenant_id, user_id, role=role.value, was=before.role)
    return views.user(user)


def remove_user(admin_id: str, user_id: str) -> None:
    """Remove someone (recorded; never oneself)."""
    _not_self(admin_id, user_id)
    user = users.remove_user(user_id)
    _audit(admin_id, "user.removed", user.tenant_id, user_id, email=user.email)


def _not_self(admin_id: str, user_id: str) -> None:
    if admin_id == user_id:
        raise IllegalTransitionError("admins cannot demote or remove themselves")


def _audit(
    admin_id: str, event_type: str, tenant_id: str | None, target: str, **payload: str
) -> None:
    portal_events.record(
        tenant_id or ADMIN_EVENTS,
        admin_id,
        event_type,
        now_ms=runtime.get().clock.now_ms(),
        target=target,
        **payload,
    )


def hosts_view() -> list[tuple[Any, list[str]]]:
    """The worker hosts and who runs on each (the fleet view's hosts)."""
    from chalicelib.store import hosts

    return hosts.fleet()


def drain_host(host_id: str, admin_id: str) -> Any:
    """Stop placing tenants on a host; it moves its tenants and exits (recorded)."""
    from chalicelib.store import hosts

    item = hosts.drain(host_id, "drained by an operator")
    _audit(admin_id, "host.drain", None, host_id)
    return item
