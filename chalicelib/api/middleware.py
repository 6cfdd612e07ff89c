"""Authentication for every /portal and /admin request, as Chalice HTTP middleware."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.api.context import PRINCIPAL_KEY
from chalicelib.api.errors import to_response

PUBLIC_PREFIXES = ("/health",)


def authenticate_request(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Verify the bearer token, resolve membership, enforce the admin role on /admin."""
    path: str = event.path or ""
    if path.startswith(PUBLIC_PREFIXES):
        return get_response(event)
    from chalicelib.api.auth import authenticate, forbidden
    from chalicelib.control import runtime

    try:
        principal = authenticate((event.headers or {}).get("authorization"), runtime.get().settings)
        if path.startswith("/admin") and not principal.is_admin:
            raise forbidden("admin role required")
    except Exception as exc:
        return to_response(exc)
    event.context[PRINCIPAL_KEY] = principal
    return get_response(event)
