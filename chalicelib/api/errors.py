"""Map domain errors to JSON HTTP responses: ``{"error": {"code", "message"[, "field"]}}``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from chalice.app import Response

from chalicelib.domain import errors

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[errors.WafleetError], int]] = [
    (errors.ValidationError, 400),
    (errors.NotFoundError, 404),
    (errors.IllegalTransitionError, 409),
    (errors.LeaseHeldError, 409),
    (errors.DuplicateError, 409),
    (errors.ConcurrentUpdateError, 409),
    (errors.StaleOwnerError, 409),
]

F = TypeVar("F", bound=Callable[..., Any])


class HttpError(Exception):
    """An error that is already an HTTP answer (authentication, authorisation)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    retry_after_s: int | None = None,
) -> Response:
    """The one shape every error takes."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
    }
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="wafleet"'
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    return Response(body={"error": body}, status_code=status, headers=headers)


def to_response(exc: Exception) -> Response:
    """Translate any exception raised by a view; unknown ones become an opaque 500."""
    from chalicelib.launch.base import LaunchError

    if isinstance(exc, LaunchError):
        return error_response(502, exc.code, str(exc))
    if isinstance(exc, HttpError):
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, errors.ValidationError):
        return error_response(400, exc.code, exc.message, exc.field)
    if isinstance(exc, errors.RateLimitedError):
        return error_response(429, exc.code, str(exc), retry_after_s=exc.retry_after_s)
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return error_response(status, exc.code, str(exc))
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return error_response(500, "internal_error", "Something went wrong on our side.")


def json_errors(view: F) -> F:
    """Decorator for views: every exception leaves as the JSON error shape."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except Exception as exc:
            return to_response(exc)

    return wrapper  # type: ignore[return-value]
