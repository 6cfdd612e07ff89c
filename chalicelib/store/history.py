"""Status history: written by ``tenants.transition``, read newest first here."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.store import cursor
from chalicelib.store.models import HistoryModel


@dataclass(frozen=True)
class HistoryPage:
    """One page of transitions, newest first."""

    items: list[HistoryModel]
    next_cursor: str | None


def list_history(
    tenant_id: str,
    *,
    limit: int,
    cursor_token: str | None = None,
    since_ms: int | None = None,
) -> HistoryPage:
    """Newest first, one Query; ``since_ms`` keeps only entries at or after that time."""
    start = cursor.decode(cursor_token, tenant_id=tenant_id)
    condition = HistoryModel.sk >= f"{since_ms:013d}" if since_ms is not None else None
    result = HistoryModel.query(
        tenant_id,
        range_key_condition=condition,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    items = list(result)
    return HistoryPage(items, cursor.encode(result.last_evaluated_key))
