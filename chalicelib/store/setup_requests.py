"""Setup requests: a tenant asks for a template and number; an admin approves or rejects."""

from __future__ import annotations

import secrets
from typing import Any

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
from chalicelib.store.connection import condition_failed, connection, failed_parts
from chalicelib.store.models import NumberModel, SetupRequestModel, TenantModel, number_key

OPEN = tuple(status.value for status in SETUP_OPEN)


class SetupConflictError(ConcurrentUpdateError):
    """The tenant has an open request already, or the request is not in the expected status."""

    code = "setup_conflict"


class NumberTakenError(ConcurrentUpdateError):
    """Another tenant holds the WhatsApp number, or has asked for it."""

    code = "number_taken"


TAKEN = "this WhatsApp number is already used or requested by another business"


def _free_or_ours(tenant_id: str) -> Any:
    """The condition on a number's item that nobody else holds it."""
    return NumberModel.key.does_not_exist() | (NumberModel.tenant_id == tenant_id)


def _claim(tenant_id: str, number: str, state: str, now_ms: int) -> tuple[NumberModel, Any]:
    """The number's item for ``tenant_id`` and the condition that it is free or ours."""
    claim = NumberModel(number_key(number), tenant_id=tenant_id, state=state, at=now_ms)
    return claim, _free_or_ours(tenant_id)


def _release(tx: TransactWrite, tenant_id: str, number: str) -> None:
    """Give the number up, if it is ours (a number of someone else is left alone)."""
    tx.delete(NumberModel(number_key(number)), condition=_free_or_ours(tenant_id))


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
    claim, free = _claim(tenant_id, whatsapp_number, "REQUESTED", now_ms)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(request, condition=SetupRequestModel.request_id.does_not_exist())
            tx.save(claim, condition=free)  # one number, one tenant
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
            if 1 in failed_parts(exc):  # the puts come first, in the order added
                raise NumberTakenError(TAKEN) from exc
            raise SetupConflictError("a setup request is already open for this tenant") from exc
        raise
    return request


def create_tenant_holding(name: str, *, phone: str, now_ms: int) -> TenantModel:
    """A NEW tenant that holds ``phone`` from the start (an admin creating it with its
    number): the tenant item and the number's in one transaction."""
    from chalicelib.store import tenants

    item = tenants.new_item(name, now_ms=now_ms, phone=phone)
    claim, free = _claim(item.tenant_id, phone, "APPROVED", now_ms)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=TenantModel.tenant_id.does_not_exist())
            tx.save(claim, condition=free)
    except TransactWriteError as exc:
        if condition_failed(exc):
            raise NumberTakenError(TAKEN) from exc
        raise
    return item


def take_number(tenant_id: str, number: str, *, previous: str | None, now_ms: int) -> None:
    """``number`` becomes the tenant's (an operator confirmed the number its phone linked):
    its item claimed, the tenant's number set, the one it had released, in one transaction."""
    claim, free = _claim(tenant_id, number, "APPROVED", now_ms)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(claim, condition=free)
            tx.update(
                TenantModel(tenant_id),
                actions=[
                    TenantModel.phone.set(number),
                    TenantModel.other_number.remove(),
                    TenantModel.updated_at.set(now_ms),
                ],
                condition=TenantModel.other_number == number,
            )
            if previous and previous != number:
                _release(tx, tenant_id, previous)
    except TransactWriteError as exc:
        if condition_failed(exc):
            if holder(number) not in (None, tenant_id):
                raise NumberTakenError(TAKEN) from exc
            raise SetupConflictError("the bot is linked to another number now") from exc
        raise


def holder(number: str) -> str | None:
    """The tenant that holds or asked for ``number`` (one GetItem), or None."""
    try:
        return NumberModel.get(number_key(number), consistent_read=True).tenant_id
    except DoesNotExist:
        return None


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
    tenant_id, number = request.tenant_id, request.whatsapp_number
    previous = TenantModel.get(tenant_id, consistent_read=True).phone
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                request,
                actions=request_actions,
                condition=SetupRequestModel.status == required.value,
            )
            tx.update(
                TenantModel(tenant_id),
                actions=tenant_actions,
                condition=TenantModel.setup_id == request_id,
            )
            if approve:  # the number is the tenant's now; the one it had is free again
                claim, free = _claim(tenant_id, number, "APPROVED", now_ms)
                tx.save(claim, condition=free)
                if previous and previous != number:
                    _release(tx, tenant_id, previous)
            elif number != previous:  # a request for the number it has keeps it
                _release(tx, tenant_id, number)
    except TransactWriteError as exc:
        if condition_failed(exc):
            if approve and holder(number) not in (None, tenant_id):
                raise NumberTakenError(TAKEN) from exc
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
