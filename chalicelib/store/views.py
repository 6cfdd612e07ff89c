"""Stored items as the domain's typed views (``chalicelib.domain.views``)."""

from __future__ import annotations

from chalicelib.domain.values import QrCode
from chalicelib.domain.views import (
    HistoryView,
    MessageView,
    SetupRequestView,
    TenantView,
    UserView,
)
from chalicelib.store.models import (
    HistoryModel,
    MessageModel,
    SetupRequestModel,
    TenantModel,
    UserModel,
)
from chalicelib.store.tenants import statuses_of


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def tenant(item: TenantModel) -> TenantView:
    """A tenant item."""
    code = None
    if item.qr_payload:
        code = QrCode(
            item.qr_payload,
            int(item.qr_attempt or 0),
            int(item.qr_attempts_max or 0),
            int(item.qr_expires_at or 0),
            kind=item.qr_kind or "qr",
            made_at_ms=_int(item.qr_at),
        )
    return TenantView(
        tenant_id=item.tenant_id,
        name=item.name,
        phone=item.phone,
        statuses=statuses_of(item),
        epoch=int(item.lease_epoch or 0),
        desired=item.desired or "RUN",
        heartbeat_at=_int(item.heartbeat_at),
        last_seen_at=_int(item.last_seen_at),
        started_at=_int(item.started_at),
        last_error=item.last_error,
        last_error_at=_int(item.last_error_at),
        reconnect_attempts=int(item.reconnect_attempts or 0),
        next_retry_at=_int(item.next_retry_at),
        host_share_mb=_int(item.host_share_mb),
        browser_mb=_int(item.browser_mb),
        browser_cpu=float(item.browser_cpu) if item.browser_cpu is not None else None,
        setup_id=item.setup_id,
        setup_status=item.setup_status,
        template_type=item.template_type,
        code=code,
        link_phone=item.link_phone,
        linked_at=int(item.linked_at) if item.linked_at else None,
        other_number=item.other_number,
        replies_version=int(item.rules_version or 0),
        canary_peer=item.canary_peer,
        canary_at=_int(item.canary_at),
        canary_ok=item.canary_ok,
        canary_ms=_int(item.canary_ms),
        canary_fails=int(item.canary_fails or 0),
        canary_of=item.canary_of,
        wa_version=item.wa_version,
        wa_served=item.wa_served,
        wa_refused=item.wa_refused,
        created_at=_int(item.created_at),
        last_event=item.last_event,
        restarts=int(item.restarts or 0),
        host_id=_host_of(item.task_ref),
    )


def _host_of(task_ref: str | None) -> str | None:
    from chalicelib.store.hosts import parse_ref

    placed = parse_ref(task_ref)
    return placed[0] if placed else None


def message(item: MessageModel) -> MessageView:
    """A message log entry."""
    return MessageView(
        key=item.message_key,
        direction=item.direction,
        from_number=item.from_number,
        to_number=item.to_number,
        text=item.text,
        at=int(item.at),
        state=item.state,
        reply_to=item.reply_to,
        why=item.why,
    )


def history(item: HistoryModel) -> HistoryView:
    """A history entry."""
    return HistoryView(
        at=int(item.at),
        event=item.event,
        actor=item.actor,
        epoch=int(item.epoch),
        detail=item.detail,
        before=(item.from_tenant, item.from_session, item.from_worker),
        after=(item.to_tenant, item.to_session, item.to_worker),
    )


def setup_request(item: SetupRequestModel) -> SetupRequestView:
    """A setup request."""
    return SetupRequestView(
        request_id=item.request_id,
        tenant_id=item.tenant_id,
        status=item.status,
        template_type=item.template_type,
        whatsapp_number=item.whatsapp_number,
        business_name=item.business_name,
        notes=item.notes,
        created_at=int(item.created_at),
        decided_at=_int(item.decided_at),
        reason=item.reason,
    )


def user(item: UserModel) -> UserView:
    """A user."""
    return UserView(
        user_id=item.user_id,
        email=item.email,
        role=item.role,
        tenant_id=item.tenant_id,
        created_at=_int(item.created_at),
    )
