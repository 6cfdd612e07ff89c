"""Authentication for every /portal and /admin request, as Chalice HTTP middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.api.context import PRINCIPAL_KEY
from chalicelib.api.errors import to_response

PUBLIC_PREFIXES = ("/health",)
# On every API response: JSON only, never framed, never cached by anyone but the portal.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


def authenticate_request(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Verify the bearer token, resolve membership, enforce the admin role on /admin."""
    from chalicelib import observability

    observability.configure_logging("wafleet-api")
    observability.set_keys(request_id=(event.context or {}).get("requestId"))
    path: str = event.path or ""
    if path.startswith(PUBLIC_PREFIXES):
        return _secured(get_response(event), authenticated=False)
    from chalicelib.api.auth import authenticate, forbidden
    from chalicelib.control import runtime

    try:
        principal = authenticate((event.headers or {}).get("authorization"), runtime.get().settings)
        if path.startswith("/admin") and not principal.is_admin:
            raise forbidden("admin role required")
    except Exception as exc:
        return _secured(to_response(exc), authenticated=True)
    event.context[PRINCIPAL_KEY] = principal
    return _secured(get_response(event), authenticated=True)


def _secured(response: Any, *, authenticated: bool) -> Any:
    """Security headers; ``no-store`` on anything behind sign-in; Chalice's own errors (405,
    415, …) in the one error shape."""
    from chalice.app import Response

    if not isinstance(response, Response):
        return response
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        fixed = to_response_for(response.status_code, str(body.get("Message") or body["Code"]))
        fixed.headers.update({k: v for k, v in response.headers.items() if k.lower() in ("allow",)})
        response = fixed
    response.headers.update(SECURITY_HEADERS)
    if authenticated:
        response.headers["Cache-Control"] = "no-store"
    if response.status_code >= 400:
        from chalicelib import observability

        kind = "Api5xx" if response.status_code >= 500 else "Api4xx"
        observability.count("api", **{kind: 1})
    return response


def to_response_for(status: int, message: str) -> Any:
    """An error of Chalice's own (no route for this method, unsupported media type)."""
    from chalicelib.api.errors import error_response

    codes = {405: "method_not_allowed", 415: "unsupported_media_type", 404: "not_found"}
    return error_response(status, codes.get(status, "bad_request"), message)
