"""Webhook signatures, as receivers check them (the README has the snippet).

Headers: ``Wafleet-Event-Id``, ``Wafleet-Timestamp`` (Unix seconds) and ``Wafleet-Signature``
= ``v1=`` + hex HMAC-SHA256 over ``"<timestamp>.<body>"`` with the endpoint's secret. A
receiver recomputes it, compares in constant time, and refuses timestamps older than 5 min.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOLERANCE_S = 300


def new_secret() -> str:
    """A signing secret for an endpoint (shown to the tenant once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: str) -> str:
    """The ``Wafleet-Signature`` header value."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1=" + mac.hexdigest()


def headers(secret: str, event_id: str, timestamp: int, body: str) -> dict[str, str]:
    """Everything a delivery carries besides the body."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "wafleet-webhooks/1",
        "Wafleet-Event-Id": event_id,
        "Wafleet-Timestamp": str(timestamp),
        "Wafleet-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, header_value: str, timestamp: str, body: str, *, now_s: int) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - sent) > TOLERANCE_S:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header_value)
