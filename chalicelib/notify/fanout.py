"""Stream records -> deliveries for every subscribed endpoint, owner alerts, and the control
plane's part of a worker's READY (an approved setup request becomes ACTIVE).

Runs as the stream function in AWS (one per streamed table, each batch in order) and as a
poller thread in ``make dev``. A replayed batch changes nothing: deliveries are keyed by
event id, and a delivery already queued is not queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.control import runtime, workers
from chalicelib.domain import words
from chalicelib.domain.transitions import Event
from chalicelib.notify import alerts, events, queue
from chalicelib.notify.events import WebhookEvent
from chalicelib.store import hooks
from chalicelib.store.models import HookModel

logger = logging.getLogger(__name__)
LOST_AFTER_MS = 60_000  # a delivery recorded but never tried this long: its queueing was lost


@dataclass
class Report:
    """What one batch produced."""

    events: int = 0
    queued: int = 0
    replayed: int = 0
    mails: int = 0
    activated: int = 0  # setup requests made ACTIVE
    ids: list[str] = field(default_factory=list)


def _parsers() -> dict[str, Callable[[dict[str, Any]], list[WebhookEvent]]]:
    s = runtime.get().settings
    return {
        s.history_table: events.from_history,
        s.tenants_table: events.from_tenant,
        s.messages_table: events.from_message,
        s.setup_table: events.from_setup_request,
    }


def handle_records(records: Iterable[dict[str, Any]]) -> Report:
    """Turn a batch of stream records into queued deliveries and owner alerts."""
    parsers = _parsers()
    report = Report()
    endpoints: dict[str, list[HookModel]] = {}
    history_table = runtime.get().settings.history_table
    for record in records:
        table = events.table_of(record)
        parse = parsers.get(table)
        if parse is None:
            continue
        for event in parse(record):
            report.events += 1
            report.ids.append(event.id)
            if event.tenant_id not in endpoints:
                endpoints[event.tenant_id] = hooks.list_endpoints(event.tenant_id)
            for endpoint in endpoints[event.tenant_id]:
                if endpoint.enabled and event.type in (endpoint.events or set()):
                    _queue(endpoint, event, report)
        if table == history_table and record.get("eventName") == "INSERT":
            report.mails += _alert(record)
            report.activated += _linked(record)
            _logged_out(record)
    return report


def _logged_out(record: dict[str, Any]) -> None:
    """WhatsApp ended the login: the next link starts from the QR code, whatever the owner
    chose before (a pairing code was for that login)."""
    entry = events.plain(record["dynamodb"].get("NewImage"))
    if words.logged_out(entry["event"], entry.get("detail")):
        workers.session_logged_out(entry["tid"])


def _linked(record: dict[str, Any]) -> int:
    """A READY entry: the setup request becomes ACTIVE (idempotent: a replay finds it done;
    an error fails the batch, which the stream delivers again)."""
    entry = events.plain(record["dynamodb"].get("NewImage"))
    if entry["event"] != Event.READY.value:
        return 0
    return int(workers.session_linked(entry["tid"]))


def _queue(endpoint: HookModel, event: WebhookEvent, report: Report) -> None:
    now = runtime.get().clock.now_ms()
    key = hooks.delivery_key(hooks.endpoint_id(endpoint), event.at_ms, event.id)
    tenant = event.tenant_id
    if not hooks.put_delivery(tenant, key, event.type, event.body(), now_ms=now):
        existing = hooks.get_delivery(tenant, key)
        lost = (
            existing is not None
            and existing.state == "PENDING"
            and not existing.attempts
            and int(existing.updated_at or 0) < now - LOST_AFTER_MS
        )
        if not lost:  # on its way, or done: a replayed batch adds nothing
            report.replayed += 1
            return
    queue.enqueue({"tenant": tenant, "key": key})
    report.queued += 1


def _alert(record: dict[str, Any]) -> int:
    entry = events.plain(record["dynamodb"].get("NewImage"))
    cause = alerts.cause_of(entry["event"], entry.get("detail"), entry["tt"], entry["ft"])
    if cause is None:
        return 0
    try:
        return int(alerts.notify(entry["tid"], cause))
    except Exception:  # a mail must never hold up webhooks; the stream would replay them
        logger.exception("owner alert failed", extra={"tenant_id": entry["tid"], "cause": cause})
        return 0
