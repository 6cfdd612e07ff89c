"""HTTP helpers for views: conditional GET with ETags, query and body parsing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalice.app import Response

from chalicelib.domain import validation
from chalicelib.domain.errors import ValidationError

MAX_BODY_BYTES = 64 * 1024


def etag_of(value: Any) -> str:
    """A weak ETag: equal documents (ignoring how time flows) give equal tags."""
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return 'W/"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'


SERVER_TIME_HEADER = "X-Server-Time"
"""Epoch milliseconds at the server, on 200 and 304 alike: clients count down against it."""


def conditional(
    request: Any,
    body: dict[str, Any],
    *,
    tag_source: Any = None,
    max_age: int = 0,
    now_ms: int | None = None,
) -> Response:
    """200 with an ETag, or 304 with no body when the client's If-None-Match still matches."""
    tag = etag_of(body if tag_source is None else tag_source)
    headers: dict[str, str | list[str]] = {
        "ETag": tag,
        "Cache-Control": f"private, max-age={max_age}, must-revalidate",
    }
    if now_ms is not None:
        headers[SERVER_TIME_HEADER] = str(now_ms)
    match = (request.headers or {}).get("if-none-match")
    if match and tag in {t.strip() for t in match.split(",")}:
        return Response(body="", status_code=304, headers=headers)
    headers["Content-Type"] = "application/json"
    return Response(body=body, status_code=200, headers=headers)


def int_param(
    params: dict[str, str] | None, name: str, *, default: int, low: int, high: int
) -> int:
    """A whole-number query parameter within [low, high] (0 <= low), in ASCII digits."""
    raw = (params or {}).get(name)
    if raw is None or raw == "":
        return default
    value = validation.ascii_int(raw, digits=len(str(high)))
    if value is None or not low <= value <= high:
        raise ValidationError(name, f"must be an integer from {low} to {high}")
    return value


def json_body(request: Any, *, required: bool = True) -> dict[str, Any]:
    """The JSON object in the request body; a clear 400 if it is not one."""
    raw = request.raw_body
    if not raw:
        if required:
            raise ValidationError("body", "a JSON object is required")
        return {}
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError("body", f"is larger than {MAX_BODY_BYTES // 1024} KB")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body", "is not valid JSON") from None
    except RecursionError:
        raise ValidationError("body", "is nested too deeply") from None
    if not isinstance(value, dict):
        raise ValidationError("body", "must be a JSON object")
    try:
        # JSON may carry lone surrogates ("\udc00"); DynamoDB stores UTF-8 only.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("body", "contains text that is not valid Unicode") from None
    except RecursionError:
        raise ValidationError("body", "is nested too deeply") from None
    return value
