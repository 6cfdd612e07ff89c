"""Webhook events from DynamoDB stream records: pure, the same in Lambda and ``make dev``.

An event's id is derived from the record's key and content, so a stream batch that is
delivered again yields the same ids and receivers can de-duplicate by id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib.domain.words import sentence

EVENT_TYPES = (
    "status.changed",
    "qr.updated",
    "code.updated",
    "message.received",
    "message.replied",
    "message.skipped",
    "setup_request.decided",
)


@dataclass(frozen=True)
class WebhookEvent:
    """One thing that happened to one tenant, as receivers get it."""

    id: str
    type: str
    tenant_id: str
    at_ms: int
    data: dict[str, Any]

    def body(self) -> str:
        """The JSON body, exactly as signed and sent."""
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "tenantId": self.tenant_id,
                "time": _iso(self.at_ms),
                "data": self.data,
            },
            separators=(",", ":"),
            sort_keys=True,
        )


def event_id(*parts: object) -> str:
    return "evt_" + hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=12).hexdigest()


def plain(image: dict[str, Any] | None) -> dict[str, Any]:
    """A stream image (DynamoDB JSON) as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    decode = TypeDeserializer().deserialize
    out = {}
    for key, value in (image or {}).items():
        plain = decode(value)
        if isinstance(plain, Decimal):
            plain = int(plain) if plain == plain.to_integral_value() else float(plain)
        out[key] = plain
    return out


def table_of(record: dict[str, Any]) -> str:
    """The table a stream record comes from (from its ARN)."""
    arn = str(record.get("eventSourceARN", ""))
    return arn.split(":table/", 1)[-1].split("/stream/", 1)[0]


def from_history(record: dict[str, Any]) -> list[WebhookEvent]:
    """A new history entry: ``status.changed``, straight from the entry."""
    if record.get("eventName") != "INSERT":
        return []
    h = plain(record["dynamodb"].get("NewImage"))
    names = ("tenant", "session", "worker")
    return [
        WebhookEvent(
            event_id("status", h["tid"], h["sk"]),
            "status.changed",
            h["tid"],
            int(h["at"]),
            {
                "before": dict(zip(names, (h["ft"], h["fs"], h["fw"]), strict=True)),
                "after": dict(zip(names, (h["tt"], h["ts"], h["tw"]), strict=True)),
                "cause": h["event"],
                "actor": h["actor"],
                "detail": h.get("detail"),
                "epoch": int(h["epoch"]),
                "sentence": sentence(h["event"], h["actor"], h.get("detail")),
            },
        )
    ]


def from_tenant(record: dict[str, Any]) -> list[WebhookEvent]:
    """A new code on screen: ``qr.updated`` or ``code.updated`` (pairing)."""
    new = plain(record["dynamodb"].get("NewImage"))
    old = plain(record["dynamodb"].get("OldImage"))
    if not new.get("qr") or (new.get("qr"), new.get("qa")) == (old.get("qr"), old.get("qa")):
        return []
    kind = new.get("qk") or "qr"
    return [
        WebhookEvent(
            event_id("code", new["tid"], new["qr"], new.get("qa")),
            "code.updated" if kind == "pairing" else "qr.updated",
            new["tid"],
            int(new.get("qa") or new.get("ua") or 0),
            {
                "kind": kind,
                "code": new["qr"],
                "attempt": new.get("qn"),
                "attemptsMax": new.get("qm"),
                "expiresAt": _iso(new.get("qx")),
            },
        )
    ]


def from_message(record: dict[str, Any]) -> list[WebhookEvent]:
    """An inbound message logged (``message.received``), a reply the server took
    (``message.replied``, when it becomes SENT), or an inbound message left unanswered on
    purpose (``message.skipped``, with why: paused, taken over, opted out...)."""
    new = plain(record["dynamodb"].get("NewImage"))
    old = plain(record["dynamodb"].get("OldImage"))
    if not new:
        return []
    if new.get("direction") == "IN" and record.get("eventName") == "INSERT":
        kind, extra = "message.received", {"from": new.get("fn")}
    elif new.get("direction") == "OUT" and new.get("state") == "SENT" != old.get("state"):
        kind, extra = "message.replied", {"to": new.get("tn"), "replyTo": new.get("rt")}
    elif new.get("direction") == "IN" and new.get("state") == "IGNORED" != old.get("state"):
        # Left unanswered on purpose: for owners who route such chats elsewhere.
        kind, extra = "message.skipped", {"from": new.get("fn"), "reason": new.get("why")}
    else:
        return []
    return [
        WebhookEvent(
            event_id(kind, new["tid"], new["mk"]),
            kind,
            new["tid"],
            int(new["at"]),
            {"id": new.get("wid"), "text": new.get("text"), "chat": new.get("ch"), **extra},
        )
    ]


def from_setup_request(record: dict[str, Any]) -> list[WebhookEvent]:
    """A setup request approved or rejected: ``setup_request.decided``."""
    new = plain(record["dynamodb"].get("NewImage"))
    old = plain(record["dynamodb"].get("OldImage"))
    if new.get("status") not in ("APPROVED", "REJECTED") or new.get("status") == old.get("status"):
        return []
    return [
        WebhookEvent(
            event_id("setup", new["request_id"], new["status"]),
            "setup_request.decided",
            new["tenant_id"],
            int(new.get("decided_at") or new["created_at"]),
            {"id": new["request_id"], "status": new["status"], "reason": new.get("reason")},
        )
    ]


def _iso(ms: Any) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC).isoformat(timespec="milliseconds")
