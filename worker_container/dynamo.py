"""The ports (``ports.py``) over DynamoDB and the control plane: the only module of the worker
that imports ``chalicelib.store`` and ``chalicelib.control``."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from chalicelib.domain.conversation import ChatRecord
from chalicelib.domain.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.domain.transitions import Actor, Event, Statuses
from chalicelib.domain.values import Lease, QrCode
from chalicelib.store import hosts, media, messages, tenants
from worker_container.ports import OUT, HostOrders, Logged, TenantConfig


def _config(item: Any) -> TenantConfig:
    return TenantConfig(
        owner_id=item.owner_id,
        lease_epoch=int(item.lease_epoch or 0),
        name=item.name,
        template_type=item.template_type,
        phone=item.phone,
        tenant_status=item.tenant_status,
        link_phone=item.link_phone,
        linked_at=int(item.linked_at) if item.linked_at else None,
        other_number=item.other_number,
        rules=item.rules,
        canary_peer=item.canary_peer,
        canary_of=item.canary_of,
        wa_version=item.wa_version,
        wa_served=item.wa_served,
        wa_refused=item.wa_refused,
    )


class DynamoStore:
    """``StorePort``: one session's items, every worker write fenced by its lease."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def tenant(self) -> TenantConfig:
        """The tenant item, strongly consistent."""
        return _config(tenants.get_tenant(self.lease.tenant_id, consistent=True))

    def apply(
        self, event: Event, *, now_ms: int, detail: str | None = None, qr: QrCode | None = None
    ) -> Statuses:
        """The transition table, through ``tenants.apply_event`` fenced by the lease."""
        outcome = tenants.apply_event(
            self.lease.tenant_id,
            event,
            Actor.WORKER,
            now_ms=now_ms,
            lease=self.lease,
            detail=detail,
            qr=qr,
        )
        return outcome.decision.after

    def heartbeat(self, **beat: Any) -> TenantConfig:
        """``tenants.heartbeat``: one conditional write."""
        return _config(tenants.heartbeat(self.lease, **beat))

    def record_reconnect(self, **progress: Any) -> bool:
        """``tenants.record_reconnect``."""
        return tenants.record_reconnect(self.lease, **progress)

    def record_linked_number(self, number: str, *, approved: str | None) -> None:
        """``tenants.record_linked_number``, fenced by the lease."""
        tenants.record_linked_number(self.lease, number, approved=approved)

    def record_inbound(self, message_id: str, **logged: Any) -> bool:
        """``messages.record_inbound``."""
        return messages.record_inbound(self.lease.tenant_id, message_id, **logged)

    def inbound_state(self, message_id: str) -> str | None:
        """The state of ``messages.get_inbound``."""
        item = messages.get_inbound(self.lease.tenant_id, message_id)
        return None if item is None else item.state

    def claim_reply(self, inbound_id: str, *, reply_key: str, **reply: Any) -> bool:
        """``messages.claim_reply``, fenced by the lease."""
        return messages.claim_reply(self.lease, inbound_id, reply_id=reply_key, **reply)

    def mark_sent(self, reply_key: str, wa_message_id: str) -> None:
        """``messages.mark_sent``."""
        messages.mark_sent(self.lease.tenant_id, reply_key, wa_message_id)

    def mark_ignored(self, inbound_id: str, *, why: str | None = None) -> None:
        """``messages.mark_ignored``."""
        messages.mark_ignored(self.lease.tenant_id, inbound_id, why=why)

    def chat(self, chat: str) -> ChatRecord:
        """``messages.chat_record``."""
        return messages.chat_record(self.lease.tenant_id, chat)

    def save_chat(self, chat: str, record: ChatRecord) -> None:
        """``messages.save_chat``."""
        messages.save_chat(self.lease.tenant_id, chat, record)

    def unfinished(self) -> list[Logged]:
        """``messages.unfinished`` as the worker reads it."""
        return [
            Logged(
                direction=item.direction,
                wa_message_id=item.wa_message_id,
                chat=item.chat,
                from_number=item.from_number,
                to_number=item.to_number,
                text=item.text,
                reply_key=item.message_key.split("#", 1)[1] if item.direction == OUT else None,
                reply_to=item.reply_to,
                media=item.media,
                at_ms=int(item.at) if item.at is not None else None,
            )
            for item in messages.unfinished(self.lease.tenant_id)
        ]

    def newest_at(self) -> int | None:
        """``messages.newest_at``."""
        return messages.newest_at(self.lease.tenant_id)

    def record_canary(self, *, ok: bool, round_trip_ms: int | None, now_ms: int) -> int:
        """``tenants.record_canary``, fenced by the lease."""
        return tenants.record_canary(self.lease, ok=ok, round_trip_ms=round_trip_ms, now_ms=now_ms)

    def record_wa_page(self, *, served: str, refused: str | None) -> None:
        """``tenants.record_wa_page``, fenced by the lease."""
        tenants.record_wa_page(self.lease, served=served, refused=refused)

    def media(self, media_id: str) -> bytes:
        """``media.read`` from the media bucket."""
        s3, bucket = _media_bucket()
        try:
            return media.read(s3, bucket, self.lease.tenant_id, media_id)
        except s3.exceptions.NoSuchKey as exc:
            raise NotFoundError(f"file {media_id} is gone") from exc


@functools.cache
def _media_bucket() -> tuple[Any, str]:
    from chalicelib.notify.queue import aws_client
    from chalicelib.settings import Settings

    settings = Settings.from_env()
    if not settings.media_bucket:
        raise NotFoundError("no media bucket (WAFLEET_MEDIA_BUCKET): an answer's file is not sent")
    return aws_client("s3", settings.aws_endpoint, settings.region), settings.media_bucket


class DynamoHost:
    """``HostPort``: the hosts table, and the control plane for ends and moves."""

    def __init__(self, host_id: str) -> None:
        self.host_id = host_id

    def orders(self) -> HostOrders:
        """One Query of the host's partition."""
        item, placed = hosts.placements(self.host_id)
        if item is None:
            return HostOrders(None, None, 0, ())
        return HostOrders(
            item.status, item.reason, int(item.assigned or 0), tuple(p.lease for p in placed)
        )

    def heartbeat(self, **beat: Any) -> None:
        """``hosts.heartbeat``."""
        hosts.heartbeat(self.host_id, **beat)

    def drain(self, reason: str) -> None:
        """``hosts.drain``; a host already draining or gone stays so."""
        with contextlib.suppress(ConcurrentUpdateError, NotFoundError):
            hosts.drain(self.host_id, reason)

    def session_ended(self, lease: Lease, reason: str, *, move: str | None) -> None:
        """The session's end through the control plane (``workers.worker_exited``); a drained
        tenant starts on a host with room (``workers.move_off``), else its placement goes."""
        from chalicelib.control import workers

        workers.worker_exited(lease.tenant_id, lease.epoch, reason)
        if move is not None:
            workers.move_off(self.host_id, lease, reason=move)
        else:
            hosts.release(self.host_id, lease.tenant_id, epoch=lease.epoch)
