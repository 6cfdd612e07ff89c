"""The authenticated principal of the current request, as the middleware left it."""

from __future__ import annotations

from typing import Any

from chalicelib.api.auth import Principal
from chalicelib.api.errors import HttpError

PRINCIPAL_KEY = "wafleet_principal"


def principal(request: Any) -> Principal:
    """The signed-in caller (the middleware guarantees one on /portal and /admin routes)."""
    found = (request.context or {}).get(PRINCIPAL_KEY)
    if not isinstance(found, Principal):
        raise HttpError(401, "unauthorized", "missing bearer token")
    return found


def tenant_of(request: Any) -> str:
    """The caller's own tenant: the only tenant a portal route may touch."""
    found = principal(request).tenant_id
    if not found:
        raise HttpError(404, "not_found", "this account has no tenant")
    return found
