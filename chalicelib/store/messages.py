"""Message log: inbound messages de-duplicated by WhatsApp id, replies claimed exactly once."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.domain.conversation import ChatRecord
from chalicelib.domain.errors import StaleOwnerError, TenantPausedError
from chalicelib.domain.statuses import TenantStatus
from chalicelib.domain.values import Direction, Lease, MessageState
from chalicelib.store import cursor, tenants
from chalicelib.store.connection import condition_failed, connection, failed_parts, put_new
from chalicelib.store.models import ChatModel, MessageModel, TenantModel

MESSAGE_TTL_S = 90 * 24 * 3600
MAX_TEXT = 4096
IN, OUT = Direction.IN.value, Direction.OUT.value
RECEIVED, REPLIED, IGNORED = (
    MessageState.RECEIVED.value,
    MessageState.REPLIED.value,
    MessageState.IGNORED.value,
)
SENDING, SENT = MessageState.SENDING.value, MessageState.SENT.value


@dataclass(frozen=True)
class Page:
    """One page of a newest-first listing and the cursor of the next (``None`` at the end)."""

    items: list[MessageModel]
    next_cursor: str | None


def _key(direction: str, wa_message_id: str) -> str:
    return f"{direction.lower()}#{wa_message_id}"


def _item(
    tenant_id: str,
    direction: str,
    wa_message_id: str,
    *,
    from_number: str | None,
    to_number: str | None,
    text: str,
    at_ms: int,
    state: str,
    reply_to: str | None = None,
    chat: str | None = None,
) -> MessageModel:
    key = _key(direction, wa_message_id)
    return MessageModel(
        tenant_id,
        key,
        time_key=f"{at_ms:013d}#{key}",
        direction=direction,
        wa_message_id=wa_message_id,
        from_number=from_number,
        to_number=to_number,
        text=text[:MAX_TEXT],
        at=at_ms,
        state=state,
        reply_to=reply_to,
        chat=chat,
        expires_at=at_ms // 1000 + MESSAGE_TTL_S,
    )


def record_inbound(
    tenant_id: str,
    wa_message_id: str,
    *,
    from_number: str,
    to_number: str | None,
    text: str,
    at_ms: int,
    chat: str | None = None,
) -> bool:
    """Log an inbound message once: True if new, False if this WhatsApp id was seen before.

    ``wa_message_id`` is the message key id (it survives a chat's move to a LID); ``chat`` is
    the chat id a reply goes to, ``from_number`` the sender's number when WhatsApp gave it.
    """
    item = _item(
        tenant_id,
        IN,
        wa_message_id,
        from_number=from_number,
        to_number=to_number,
        text=text,
        at_ms=at_ms,
        state=RECEIVED,
        chat=chat,
    )
    return put_new(item)


def get_inbound(tenant_id: str, wa_message_id: str) -> MessageModel | None:
    """The logged inbound message, or None."""
    try:
        return MessageModel.get(tenant_id, _key(IN, wa_message_id), consistent_read=True)
    except MessageModel.DoesNotExist:
        return None


def claim_reply(
    lease: Lease,
    inbound_id: str,
    *,
    reply_id: str,
    to_number: str,
    from_number: str | None,
    text: str,
    at_ms: int,
    chat: str | None = None,
    wa_message_id: str | None = None,
    media: str | None = None,
) -> bool:
    """Claim the right to answer ``inbound_id``, fenced by the lease, before sending.

    One transaction: the worker still holds the lease and the tenant is not paused, no reply
    to this message exists yet, the outbound entry is written (SENDING) and the inbound one
    marked REPLIED. False means it was answered before; ``StaleOwnerError`` means this worker
    was replaced and must not send; ``TenantPausedError`` means the tenant paused its bot.
    After sending, ``mark_sent`` records the WhatsApp id; a SENDING entry found after a
    restart is checked against the chat before anything is sent again.
    """
    out = _item(
        lease.tenant_id,
        OUT,
        reply_id,
        from_number=from_number,
        to_number=to_number,
        text=text,
        at_ms=at_ms,
        state=SENDING,
        reply_to=inbound_id,
        chat=chat,
    )
    if wa_message_id:  # the id the reply will carry on WhatsApp, known before it is sent
        out.wa_message_id = wa_message_id
    out.media = media  # a resend after a restart sends the same file
    inbound = MessageModel(lease.tenant_id, _key(IN, inbound_id))
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(
                TenantModel,
                lease.tenant_id,
                condition=(TenantModel.owner_id == lease.owner_id)
                & (TenantModel.lease_epoch == lease.epoch)
                & (TenantModel.tenant_status != TenantStatus.PAUSED.value)
                & tenants.right_number(),
            )
            tx.save(out, condition=MessageModel.message_key.does_not_exist())
            tx.update(
                inbound,
                actions=[MessageModel.state.set(REPLIED)],
                condition=MessageModel.state == RECEIVED,
            )
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise
        if 0 in failed_parts(exc):
            item = TenantModel.get(lease.tenant_id, consistent_read=True)
            if item.owner_id != lease.owner_id or int(item.lease_epoch) != lease.epoch:
                raise StaleOwnerError(f"tenant {lease.tenant_id}: lease lost before reply") from exc
            raise TenantPausedError(
                f"tenant {lease.tenant_id} is paused or linked to another number"
            ) from exc
        return False
    return True


def mark_sent(tenant_id: str, reply_id: str, wa_message_id: str | None) -> None:
    """The reply is on WhatsApp: SENDING -> SENT (with the id WhatsApp gave it)."""
    actions: list[Action] = [MessageModel.state.set(SENT)]
    if wa_message_id:
        actions.append(MessageModel.wa_message_id.set(wa_message_id))
    MessageModel(tenant_id, _key(OUT, reply_id)).update(actions=actions)


def unfinished(tenant_id: str, *, limit: int = 200) -> list[MessageModel]:
    """Recent work a crash may have interrupted: inbound RECEIVED, outbound SENDING.

    One Query over the newest ``limit`` entries (a restart reads it once).
    """
    recent = MessageModel.by_time.query(
        tenant_id,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        filter_condition=MessageModel.state.is_in(RECEIVED, SENDING),
    )
    return sorted(recent, key=lambda m: m.time_key)


def newest_at(tenant_id: str) -> int | None:
    """When the newest logged message (either direction) was recorded; one Query of one item."""
    for item in MessageModel.by_time.query(
        tenant_id, scan_index_forward=False, limit=1, page_size=1
    ):
        return int(item.at)
    return None


def mark_ignored(tenant_id: str, inbound_id: str, *, why: str | None = None) -> None:
    """An inbound message that gets no reply on purpose (paused tenant, a person took the
    chat over, the customer opted out), with why if the log should say."""
    actions: list[Action] = [MessageModel.state.set(IGNORED)]
    if why:
        actions.append(MessageModel.why.set(why))
    MessageModel(tenant_id, _key(IN, inbound_id)).update(
        actions=actions, condition=MessageModel.state == RECEIVED
    )


def chat_record(tenant_id: str, chat: str) -> ChatRecord:
    """What the bot keeps about ``chat`` (an empty record for a chat it never kept)."""
    try:
        item = ChatModel.get(tenant_id, "chat#" + chat, consistent_read=True)
    except ChatModel.DoesNotExist:
        return ChatRecord()
    return ChatRecord(
        taken_over_until=int(item.taken_over_until) if item.taken_over_until else None,
        opted_out=bool(item.opted_out),
        replies=tuple(int(t) for t in item.replies or ()),
        greeted_at=int(item.greeted_at) if item.greeted_at else None,
        away_for=int(item.away_for) if item.away_for else None,
    )


def save_chat(tenant_id: str, chat: str, record: ChatRecord) -> None:
    """Replace the chat's record (one chat is answered one message at a time)."""
    ChatModel(
        tenant_id,
        "chat#" + chat,
        taken_over_until=record.taken_over_until,
        opted_out=record.opted_out,
        replies=list(record.replies),
        greeted_at=record.greeted_at,
        away_for=record.away_for,
    ).save()


def replies_since(tenant_id: str, since_ms: int, *, cap: int) -> tuple[list[MessageModel], bool]:
    """The replies logged at or after ``since_ms``, newest first: one Query over the time
    index, reading at most ``cap`` messages (True: there were more)."""
    result = MessageModel.by_time.query(
        tenant_id,
        range_key_condition=MessageModel.time_key >= f"{since_ms:013d}",
        scan_index_forward=False,
        limit=cap,
        page_size=cap,
    )
    items = list(result)
    return [m for m in items if m.direction == OUT], result.last_evaluated_key is not None


def list_messages(tenant_id: str, *, limit: int, cursor_token: str | None = None) -> Page:
    """Newest first, one Query of at most ``limit`` items."""
    start = cursor.decode(cursor_token, tenant_id=tenant_id)
    result = MessageModel.by_time.query(
        tenant_id,
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    items = list(result)
    return Page(items, cursor.encode(result.last_evaluated_key))
