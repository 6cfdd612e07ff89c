"""Setup requests: a tenant asks for a template and number; an admin approves or rejects."""

from __future__ import annotations

import secrets

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import ConcurrentUpdateError, NotFoundError
from chalicelib.domain.statuses import (
    SETUP_NEXT,
    SETUP_OPEN,
    SetupStatus,
    TemplateType,
    setup_decision,
)
from chalicelib.store.connection import condition_failed, connection
from chalicelib.store.models import SetupRequestModel, TenantModel

OPEN = tuple(status.value for status in SETUP_OPEN)


class SetupConflictError(ConcurrentUpdateError):
    """The tenant has an open request already, or the request is not in the expected status."""

    code = "setup_conflict"


def submit(
    tenant_id: str,
    user_id: str,
    *,
    template: TemplateType,
    whatsapp_number: str,
    business_name: str | None,
    notes: str | None,
    now_ms: int,
) -> SetupRequestModel:
    """Create a PENDING request and its audit entry in one transaction; refused while the
    tenant has one PENDING or APPROVED."""
    from chalicelib.store import portal_events

    request = SetupRequestModel(
        "sr_" + secrets.token_hex(8),
        tenant_id=tenant_id,
        user_id=user_id,
        template_type=template.value,
        whatsapp_number=whatsapp_number,
        business_name=business_name,
        notes=notes,
        status=SetupStatus.PENDING.value,
        created_at=now_ms,
    )
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(request, condition=SetupRequestModel.request_id.does_not_exist())
            tx.save(
                portal_events.entry(
                    tenant_id,
                    user_id,
                    "setup_request.submitted",
                    now_ms=now_ms,
                    request_id=request.request_id,
                    template=template.value,
                )
            )
            tx.update(
                TenantModel(tenant_id),
                actions=[
                    TenantModel.setup_id.set(request.request_id),
                    TenantModel.setup_status.set(SetupStatus.PENDING.value),
                    TenantModel.template_type.set(template.value),
                    TenantModel.updated_at.set(now_ms),
                ],
                condition=TenantModel.tenant_id.exists()
                & (
                    TenantModel.setup_status.does_not_exist()
                    | ~TenantModel.setup_status.is_in(*OPEN)
                ),
            )
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise SetupConflictError("a setup request is already open for this tenant") from exc
        raise
    return request


def get(request_id: str) -> SetupRequestModel:
    """One request by id; ``NotFoundError`` if unknown."""
    try:
        return SetupRequestModel.get(request_id, consistent_read=True)
    except DoesNotExist:
        raise NotFoundError(f"setup request {request_id} not found") from None


def current_for(tenant_id: str, request_id: str | None) -> SetupRequestModel | None:
    """The tenant's current request, checked to belong to it."""
    if not request_id:
        return None
    try:
        request = get(request_id)
    except NotFoundError:
        return None
    return request if request.tenant_id == tenant_id else None


def list_by_status(status: SetupStatus, *, limit: int = 100) -> list[SetupRequestModel]:
    """Requests in ``status``, oldest first (the admin queue)."""
    return list(SetupRequestModel.by_status.query(status.value, limit=limit, page_size=limit))


def decide(
    request_id: str,
    *,
    approve: bool,
    admin_id: str,
    now_ms: int,
    reason: str | None = None,
) -> SetupRequestModel:
    """Approve (the number becomes the tenant's) or reject a PENDING request."""
    request = get(request_id)
    required, status = setup_decision(approve)
    tenant_actions: list[Action] = [
        TenantModel.setup_status.set(status.value),
        TenantModel.updated_at.set(now_ms),
    ]
    if approve:
        tenant_actions.append(TenantModel.phone.set(request.whatsapp_number))
    request_actions: list[Action] = [
        SetupRequestModel.status.set(status.value),
        SetupRequestModel.decided_at.set(now_ms),
        SetupRequestModel.decided_by.set(admin_id),
        SetupRequestModel.reason.set(reason) if reason else SetupRequestModel.reason.remove(),
    ]
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                request,
                actions=request_actions,
                condition=SetupRequestModel.status == required.value,
            )
            tx.update(
                TenantModel(request.tenant_id),
                actions=tenant_actions,
                condition=TenantModel.setup_id == request_id,
            )
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise SetupConflictError(
                f"setup request {request_id} is {get(request_id).status}, not {required.value}"
            ) from exc
        raise
    request.status = status.value
    request.decided_at = now_ms
    request.decided_by = admin_id
    request.reason = reason
    return request


def activate(tenant_id: str, *, now_ms: int) -> bool:
    """The tenant's bot came up linked: its APPROVED setup request becomes ACTIVE (request and
    tenant item in one transaction). False if there is none to activate (done already, or
    never approved). The control plane does this, not the worker: setup statuses are out of
    the worker role's reach."""
    tenant = TenantModel.get(tenant_id, consistent_read=True)
    if tenant.setup_status != SetupStatus.APPROVED.value or not tenant.setup_id:
        return False
    required = SetupStatus.APPROVED
    assert SetupStatus.ACTIVE in SETUP_NEXT[required]
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                SetupRequestModel(tenant.setup_id),
                actions=[SetupRequestModel.status.set(SetupStatus.ACTIVE.value)],
                condition=SetupRequestModel.status == required.value,
            )
            tx.update(
                TenantModel(tenant_id),
                actions=[
                    TenantModel.setup_status.set(SetupStatus.ACTIVE.value),
                    TenantModel.updated_at.set(now_ms),
                ],
                condition=(TenantModel.setup_id == tenant.setup_id)
                & (TenantModel.setup_status == required.value),
            )
    except TransactWriteError as exc:
        if condition_failed(exc):
            return False  # decided or activated meanwhile
        raise
    return True
