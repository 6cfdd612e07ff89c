"""Audit trail of what users did in the portal (never secrets or message text)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from chalicelib.store.models import PortalEventModel

EVENT_TTL_S = 400 * 24 * 3600


def record(tenant_id: str, user_id: str, event_type: str, *, now_ms: int, **payload: Any) -> None:
    """Append one event for ``tenant_id``."""
    entry(tenant_id, user_id, event_type, now_ms=now_ms, **payload).save()


def entry(
    tenant_id: str, user_id: str, event_type: str, *, now_ms: int, **payload: Any
) -> PortalEventModel:
    """One event, unsaved (to write it in a transaction with what it records)."""
    return PortalEventModel(
        tenant_id,
        f"{now_ms:013d}#{secrets.token_hex(3)}",
        user_id=user_id,
        event_type=event_type,
        payload=json.dumps(payload, separators=(",", ":"), default=str) if payload else None,
        at=now_ms,
        expires_at=now_ms // 1000 + EVENT_TTL_S,
    )


def list_events(tenant_id: str, *, limit: int = 50) -> list[PortalEventModel]:
    """Newest first."""
    return list(
        PortalEventModel.query(tenant_id, scan_index_forward=False, limit=limit, page_size=limit)
    )
