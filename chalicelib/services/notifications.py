"""A tenant's webhook endpoints, their deliveries, and its owner e-mails (portal use cases)."""

from __future__ import annotations

from chalicelib.control import runtime
from chalicelib.domain import addresses, validation
from chalicelib.domain.errors import NotFoundError, ValidationError
from chalicelib.notify import queue, signing
from chalicelib.notify.events import EVENT_TYPES
from chalicelib.store import hooks, portal_events
from chalicelib.store.models import HookModel


def event_types(raw: object) -> set[str]:
    """The events an endpoint subscribes to: a non-empty list of known types."""
    if not isinstance(raw, list) or not raw or not all(isinstance(e, str) for e in raw):
        raise ValidationError("events", f"choose one or more of {', '.join(EVENT_TYPES)}")
    unknown = sorted(set(raw) - set(EVENT_TYPES))
    if unknown:
        raise ValidationError("events", f"unknown event types: {', '.join(unknown)}")
    return set(raw)


def add_endpoint(
    tenant_id: str, user_id: str, url: object, events: object
) -> tuple[HookModel, str]:
    """Register an endpoint; returns it and its signing secret (shown this once)."""
    rt = runtime.get()
    local = addresses.origins(rt.settings.webhook_local_receivers)
    checked = validation.webhook_url(url, local=local)
    secret = signing.new_secret()
    item = hooks.add_endpoint(
        tenant_id, checked, event_types(events), secret, now_ms=rt.clock.now_ms()
    )
    _audit(tenant_id, user_id, "webhook.added", hooks.endpoint_id(item))
    return item, secret


def rotate_secret(tenant_id: str, user_id: str, endpoint: str) -> str:
    """A new signing secret; the old one stops at once."""
    secret = signing.new_secret()
    hooks.update_endpoint(tenant_id, endpoint, secret=secret)
    _audit(tenant_id, user_id, "webhook.secret_rotated", endpoint)
    return secret


def enable(tenant_id: str, user_id: str, endpoint: str) -> HookModel:
    """Turn an endpoint on again (after a 410, say)."""
    item = hooks.update_endpoint(tenant_id, endpoint, enabled=True, disabled_reason=None)
    _audit(tenant_id, user_id, "webhook.enabled", endpoint)
    return item


def remove(tenant_id: str, user_id: str, endpoint: str) -> None:
    """Delete an endpoint."""
    hooks.remove_endpoint(tenant_id, endpoint)
    _audit(tenant_id, user_id, "webhook.removed", endpoint)


def resend(tenant_id: str, user_id: str, endpoint: str, delivery: str) -> HookModel:
    """Send a delivery again, as a new attempt series with the same event id."""
    hooks.get_endpoint(tenant_id, endpoint)  # 404 for another tenant's endpoint
    at = validation.ascii_int(delivery.partition("-")[0], digits=13)
    event_id = delivery.partition("-")[2]
    if at is None or not event_id.startswith("evt_"):
        raise NotFoundError("no such delivery")
    key = hooks.delivery_key(endpoint, at, event_id)
    if hooks.get_delivery(tenant_id, key) is None:
        raise NotFoundError("no such delivery")
    item = hooks.reset_delivery(tenant_id, key, now_ms=runtime.get().clock.now_ms())
    queue.enqueue({"tenant": tenant_id, "key": key})
    _audit(tenant_id, user_id, "webhook.resent", endpoint)
    return item


def set_alerts(tenant_id: str, user_id: str, enabled: object) -> bool:
    """Owner e-mails on or off."""
    if not isinstance(enabled, bool):
        raise ValidationError("email", "must be true or false")
    hooks.set_alerts(tenant_id, enabled)
    _audit(tenant_id, user_id, "alerts.email_on" if enabled else "alerts.email_off", None)
    return enabled


def _audit(tenant_id: str, user_id: str, what: str, endpoint: str | None) -> None:
    extra = {"endpoint": endpoint} if endpoint else {}
    portal_events.record(tenant_id, user_id, what, now_ms=runtime.get().clock.now_ms(), **extra)
