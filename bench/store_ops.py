"""DynamoDB requests per store operation, counted on the wire (botocore hooks) against moto.

Last line: one JSON object, e.g. {"status_read": 1, "heartbeat": 1, "transition": 1, ...}.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.local_aws import fake_credentials, moto_server


def main() -> None:
    os.environ.update(fake_credentials())
    from chalicelib.domain.statuses import TemplateType
    from chalicelib.domain.transitions import Actor, Event
    from chalicelib.settings import Settings
    from chalicelib.store import messages, models, setup_requests, tenants
    from chalicelib.store.connection import connection
    from devstack.item_size import item_size

    with moto_server() as moto:
        models.bind(Settings(dynamodb_endpoint=moto.endpoint))
        models.create_tables(wait=False)
        sent: list[str] = []

        def hook(event_name: str, **_: Any) -> None:
            sent.append(event_name.rsplit(".", 1)[-1])

        clients = [m._get_connection().connection.client for m in models.ALL_MODELS]
        clients.append(connection().client)
        for client in {id(c): c for c in clients}.values():  # models share one client
            client.meta.events.register("before-send.dynamodb", hook)

        def count(op: Callable[[], object]) -> int:
            sent.clear()
            op()
            return len(sent)

        now = 1_700_000_000_000
        tid = tenants.create_tenant("Bench Bistro", now_ms=now, phone="+491511234567").tenant_id
        request = setup_requests.submit(
            tid,
            "user-1",
            template=TemplateType.RESTAURANT,
            whatsapp_number="+491511234567",
            business_name="Bench Bistro",
            notes=None,
            now_ms=now,
        )
        setup_requests.decide(request.request_id, approve=True, admin_id="admin", now_ms=now)
        lease = tenants.acquire_lease(tid, now_ms=now, stale_after_ms=45_000)
        tenants.apply_event(tid, Event.HEARTBEAT, Actor.WORKER, now_ms=now, lease=lease)
        # A realistic WhatsApp Web QR payload is about 240 characters.
        qr = tenants.QrCode(
            "2@" + "A" * 86 + "," + "B" * 44 + "," + "C" * 44 + "," + "D" * 44, 1, 6, now + 60_000
        )
        tenants.apply_event(tid, Event.QR, Actor.WORKER, now_ms=now, lease=lease, qr=qr)
        for i in range(60):
            messages.record_inbound(
                tid,
                f"wamid.{i}",
                from_number="+15550001",
                to_number=None,
                text="menu",
                at_ms=now + i,
            )

        item = tenants.get_tenant(tid, consistent=True)
        guard = tenants.guard_of(item, owner_id=lease.owner_id)
        result = {
            "status_read": count(lambda: tenants.get_tenant(tid)),
            "heartbeat": count(
                lambda: tenants.heartbeat(lease, now_ms=now + 1, connected=False, host_share_mb=60)
            ),
            "transition": count(
                lambda: tenants.transition(
                    tid, Event.DISCONNECTED, Actor.WORKER, guard, now_ms=now + 2, detail="phone"
                )
            ),
            "qr_read": count(lambda: tenants.get_tenant(tid)),
            "logs_page": count(lambda: messages.list_messages(tid, limit=50)),
            "message_dedupe": count(
                lambda: messages.record_inbound(
                    tid, "wamid.1", from_number="+15550001", to_number=None, text="menu", at_ms=now
                )
            ),
        }
        tenants.apply_event(tid, Event.READY, Actor.WORKER, now_ms=now + 3, lease=lease)
        tenants.heartbeat(lease, now_ms=now + 4, connected=True, host_share_mb=61, browser_mb=240)
        connected_size = item_size(tenants.get_tenant(tid, consistent=True).serialize())
        result["state_item_bytes"] = max(item_size(item.serialize()), connected_size)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
