"""Opaque page cursors: DynamoDB's LastEvaluatedKey, encoded, and checked on the way back in."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.domain.errors import ValidationError


def encode(key: dict[str, Any] | None) -> str | None:
    """An opaque cursor for ``key`` (``None`` when there is no next page)."""
    if not key:
        return None
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(
    cursor: str | None, *, tenant_id: str | None, field: str = "cursor"
) -> dict[str, Any] | None:
    """The key inside ``cursor``; refuses malformed cursors and cursors of another tenant.

    ``tenant_id=None`` is for admin scans across tenants: any tenant key is accepted.
    """
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError(field, "is not a cursor this API returned") from None
    if not isinstance(key, dict) or not isinstance(key.get("tid"), dict):
        raise ValidationError(field, "is not a cursor this API returned")
    if tenant_id is not None and key["tid"] != {"S": tenant_id}:
        raise ValidationError(field, "is not a cursor this API returned")
    for value in key.values():
        if (
            not isinstance(value, dict)
            or len(value) != 1
            or not all(isinstance(v, str) for v in value.values())
        ):
            raise ValidationError(field, "is not a cursor this API returned")
    return key
