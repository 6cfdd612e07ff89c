"""Portal routes for notifications: webhook endpoints and their deliveries, owner e-mails."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api.context import principal, tenant_of
from chalicelib.api.errors import json_errors

notification_routes = Blueprint(__name__)
BASE = "/portal/tenant/current"


def _request() -> Any:
    return notification_routes.current_request


def _json(body: Any, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@notification_routes.route(f"{BASE}/webhooks", methods=["GET"])
@json_errors
def list_webhooks() -> dict[str, Any]:
    """Endpoints (never their secrets) with their newest deliveries, the event types, and
    whether the owner gets e-mails."""
    from chalicelib.api import presenters
    from chalicelib.notify.events import EVENT_TYPES
    from chalicelib.store import hooks

    tenant = tenant_of(_request())
    endpoints = [
        presenters.endpoint(e, hooks.recent_deliveries(tenant, hooks.endpoint_id(e)))
        for e in hooks.list_endpoints(tenant)
    ]
    return {
        "endpoints": endpoints,
        "eventTypes": list(EVENT_TYPES),
        "alerts": {"email": hooks.alerts_enabled(tenant)},
    }


@notification_routes.route(f"{BASE}/webhooks", methods=["POST"])
@json_errors
def add_webhook() -> Response:
    """{url, events}: 201 with the endpoint and its signing secret, shown this once."""
    from chalicelib.api import http, presenters
    from chalicelib.services import notifications

    request = _request()
    body = http.json_body(request)
    item, secret = notifications.add_endpoint(
        tenant_of(request), principal(request).user_id, body.get("url"), body.get("events")
    )
    return _json({"endpoint": presenters.endpoint(item, []), "secret": secret}, 201)


@notification_routes.route(f"{BASE}/webhooks/{{endpoint_id}}", methods=["DELETE"])
@json_errors
def remove_webhook(endpoint_id: str) -> Response:
    """Delete an endpoint."""
    from chalicelib.services import notifications

    request = _request()
    notifications.remove(tenant_of(request), principal(request).user_id, endpoint_id)
    return Response(body="", status_code=204)


@notification_routes.route(f"{BASE}/webhooks/{{endpoint_id}}/secret", methods=["POST"])
@json_errors
def rotate_webhook_secret(endpoint_id: str) -> dict[str, str]:
    """A new signing secret (shown this once); the old one stops at once."""
    from chalicelib.services import notifications

    request = _request()
    return {
        "secret": notifications.rotate_secret(
            tenant_of(request), principal(request).user_id, endpoint_id
        )
    }


@notification_routes.route(f"{BASE}/webhooks/{{endpoint_id}}/enable", methods=["POST"])
@json_errors
def enable_webhook(endpoint_id: str) -> dict[str, Any]:
    """Turn a disabled endpoint on again."""
    from chalicelib.api import presenters
    from chalicelib.services import notifications

    request = _request()
    item = notifications.enable(tenant_of(request), principal(request).user_id, endpoint_id)
    return {"endpoint": presenters.endpoint(item, [])}


@notification_routes.route(
    f"{BASE}/webhooks/{{endpoint_id}}/deliveries/{{delivery_id}}/resend", methods=["POST"]
)
@json_errors
def resend_delivery(endpoint_id: str, delivery_id: str) -> Response:
    """Send one delivery again (same event id: receivers de-duplicate by it)."""
    from chalicelib.api import presenters
    from chalicelib.services import notifications

    request = _request()
    item = notifications.resend(
        tenant_of(request), principal(request).user_id, endpoint_id, delivery_id
    )
    return _json({"delivery": presenters.delivery(item)}, 202)


@notification_routes.route(f"{BASE}/alerts", methods=["PUT"])
@json_errors
def set_alerts() -> dict[str, Any]:
    """{email: bool}: the owner's e-mails on or off."""
    from chalicelib.api import http
    from chalicelib.services import notifications

    request = _request()
    enabled = notifications.set_alerts(
        tenant_of(request), principal(request).user_id, http.json_body(request).get("email")
    )
    return {"email": enabled}
