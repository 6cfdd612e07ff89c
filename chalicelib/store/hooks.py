"""Webhook endpoints, their deliveries, and the owner's alert choices (one table, by sort key;
see ``HookModel``)."""

from __future__ import annotations

import uuid
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import DuplicateError, NotFoundError, ValidationError
from chalicelib.store.connection import condition_failed, put_new
from chalicelib.store.models import HookModel

MAX_ENDPOINTS = 5
DELIVERY_TTL_S = 7 * 24 * 3600
ENDPOINT = "ep#"
DELIVERY = "dl#"


def _endpoint_key(endpoint_id: str) -> str:
    return ENDPOINT + endpoint_id


def add_endpoint(
    tenant_id: str, url: str, events: set[str], secret: str, *, now_ms: int
) -> HookModel:
    """Register an endpoint (at most ``MAX_ENDPOINTS`` per tenant)."""
    if len(list_endpoints(tenant_id)) >= MAX_ENDPOINTS:
        raise ValidationError("url", f"at most {MAX_ENDPOINTS} endpoints")
    item = HookModel(
        tenant_id,
        _endpoint_key("we_" + uuid.uuid4().hex[:16]),
        url=url,
        events=events,
        secret=secret,
        enabled=True,
        created_at=now_ms,
    )
    if not put_new(item):
        raise DuplicateError(f"endpoint {item.sk} exists")
    return item


def endpoint_id(item: HookModel) -> str:
    """The id the API uses for an endpoint."""
    return item.sk.removeprefix(ENDPOINT)


def list_endpoints(tenant_id: str) -> list[HookModel]:
    """A tenant's endpoints, oldest first."""
    found = HookModel.query(tenant_id, HookModel.sk.startswith(ENDPOINT), consistent_read=True)
    return sorted(found, key=lambda e: e.created_at or 0)


def get_endpoint(tenant_id: str, endpoint: str) -> HookModel:
    """One endpoint (404 if it is not this tenant's)."""
    try:
        return HookModel.get(tenant_id, _endpoint_key(endpoint), consistent_read=True)
    except DoesNotExist:
        raise NotFoundError(f"no webhook endpoint {endpoint}") from None


def update_endpoint(tenant_id: str, endpoint: str, **changes: Any) -> HookModel:
    """Change an existing endpoint (secret, enabled, disabled_reason)."""
    item = HookModel(tenant_id, _endpoint_key(endpoint))
    actions = [
        getattr(HookModel, name).set(value)
        if value is not None
        else getattr(HookModel, name).remove()
        for name, value in changes.items()
    ]
    try:
        item.update(actions=actions, condition=HookModel.sk.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"no webhook endpoint {endpoint}") from None
        raise
    return get_endpoint(tenant_id, endpoint)


def remove_endpoint(tenant_id: str, endpoint: str) -> None:
    """Delete an endpoint; its deliveries expire with their TTL."""
    try:
        HookModel(tenant_id, _endpoint_key(endpoint)).delete(condition=HookModel.sk.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            raise NotFoundError(f"no webhook endpoint {endpoint}") from None
        raise


def delivery_key(endpoint: str, at_ms: int, event_id: str) -> str:
    """Deliveries sort by time under their endpoint."""
    return f"{DELIVERY}{endpoint}#{at_ms:013d}#{event_id}"


def delivery_parts(key: str) -> tuple[str, int, str]:
    """What ``delivery_key`` put in: (endpoint id, event time ms, event id)."""
    endpoint, at, event_id = key.removeprefix(DELIVERY).split("#")
    return endpoint, int(at), event_id


def put_delivery(tenant_id: str, key: str, event_type: str, body: str, *, now_ms: int) -> bool:
    """Record an event owed to an endpoint; False if it was recorded before (a replayed
    stream batch)."""
    item = HookModel(
        tenant_id,
        key,
        event_type=event_type,
        body=body,
        state="PENDING",
        attempts=0,
        next_at=now_ms,
        created_at=now_ms,
        updated_at=now_ms,
        expires_at=now_ms // 1000 + DELIVERY_TTL_S,
    )
    return put_new(item)


def get_delivery(tenant_id: str, key: str) -> HookModel | None:
    """A delivery, or None once it expired."""
    try:
        return HookModel.get(tenant_id, key, consistent_read=True)
    except DoesNotExist:
        return None


def record_attempt(
    tenant_id: str,
    key: str,
    *,
    attempts_before: int,
    state: str,
    next_at: int | None,
    code: int | None,
    error: str | None,
    now_ms: int,
) -> bool:
    """Write the outcome of attempt ``attempts_before + 1``; False if another consumer wrote
    it first (the queue delivers at least once: only one of two copies counts)."""
    h = HookModel
    actions: list[Action] = [
        h.state.set(state),
        h.attempts.set(attempts_before + 1),
        h.updated_at.set(now_ms),
        h.next_at.set(next_at) if next_at is not None else h.next_at.remove(),
        h.last_code.set(code) if code is not None else h.last_code.remove(),
        h.last_error.set(error[:200]) if error else h.last_error.remove(),
    ]
    try:
        HookModel(tenant_id, key).update(actions=actions, condition=h.attempts == attempts_before)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def reset_delivery(tenant_id: str, key: str, *, now_ms: int) -> HookModel:
    """Resend: the delivery starts over (its event keeps its id)."""
    h = HookModel
    try:
        HookModel(tenant_id, key).update(
            actions=[
                h.state.set("PENDING"),
                h.next_at.set(now_ms),
                h.created_at.set(now_ms),  # a resend gets the whole retry window again
                h.updated_at.set(now_ms),
            ],
            condition=h.sk.exists(),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError("no such delivery") from None
        raise
    found = get_delivery(tenant_id, key)
    assert found is not None
    return found


def recent_deliveries(tenant_id: str, endpoint: str, *, limit: int = 20) -> list[HookModel]:
    """An endpoint's newest deliveries first."""
    return list(
        HookModel.query(
            tenant_id,
            HookModel.sk.startswith(f"{DELIVERY}{endpoint}#"),
            scan_index_forward=False,
            limit=limit,
            consistent_read=True,
        )
    )


def alerts_enabled(tenant_id: str) -> bool:
    """Whether the owner wants e-mails (on unless turned off)."""
    try:
        prefs = HookModel.get(tenant_id, "prefs", consistent_read=True)
    except DoesNotExist:
        return True
    return prefs.alerts is not False


def set_alerts(tenant_id: str, enabled: bool) -> None:
    """Turn the owner's e-mails on or off."""
    HookModel(tenant_id, "prefs").update(actions=[HookModel.alerts.set(enabled)])


def claim_mail(tenant_id: str, cause: str, *, now_ms: int, every_ms: int) -> bool:
    """True if no mail for ``cause`` went out within ``every_ms`` (and records this one)."""
    h = HookModel
    try:
        HookModel(tenant_id, f"mail#{cause}").update(
            actions=[h.sent_at.set(now_ms)],
            condition=h.sent_at.does_not_exist() | (h.sent_at <= now_ms - every_ms),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def last_mail(tenant_id: str, cause: str) -> int | None:
    """When the owner was last mailed for ``cause``."""
    try:
        sent = HookModel.get(tenant_id, f"mail#{cause}", consistent_read=True).sent_at
    except DoesNotExist:
        return None
    return int(sent) if sent is not None else None
