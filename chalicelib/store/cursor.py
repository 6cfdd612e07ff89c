"""Opaque page cursors: DynamoDB's LastEvaluatedKey, signed (HMAC-SHA256), and checked on
the way back in, so a hand-made cursor is refused before it reaches DynamoDB."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from chalicelib.domain.errors import ValidationError

# Without a configured key (WAFLEET_CURSOR_KEY) cursors are valid within this process only.
_secret = secrets.token_bytes(32)


def configure(key: str | None) -> None:
    """Use ``key`` to sign cursors (the same key on every instance of the API)."""
    global _secret
    if key:
        _secret = hashlib.sha256(key.encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str) -> str:
    return _b64(hmac.new(_secret, payload.encode(), hashlib.sha256).digest()[:16])


def encode(key: dict[str, Any] | None) -> str | None:
    """An opaque, signed cursor for ``key`` (``None`` when there is no next page)."""
    if not key:
        return None
    payload = _b64(json.dumps(key, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_mac(payload)}"


def decode(
    cursor: str | None, *, tenant_id: str | None, field: str = "cursor", key_name: str = "tid"
) -> dict[str, Any] | None:
    """The key inside ``cursor``; refuses malformed cursors and cursors of another tenant.

    ``tenant_id=None`` is for admin scans across tenants: any tenant key is accepted.
    """
    if not cursor:
        return None
    payload, _, mac = cursor.partition(".")
    if len(cursor) > 2048 or not hmac.compare_digest(mac.encode(), _mac(payload).encode()):
        raise ValidationError(field, "is not a cursor this API returned")
    try:
        key = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError(field, "is not a cursor this API returned") from None
    if not isinstance(key, dict) or not isinstance(key.get(key_name), dict):
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
