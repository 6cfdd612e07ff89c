"""Answering messages exactly once: log, claim, send by chat id, confirm by WhatsApp's ack.

A reply carries an id we choose before sending (``reactions.reply_id``), so a resend after any
failure is the same message, and a restarted worker finds it again by that id and its ack,
never by comparing text.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from chalicelib import observability
from chalicelib.domain import canary, conversation, rules
from chalicelib.domain.clock import Clock
from chalicelib.domain.errors import NotFoundError, TenantPausedError, ValidationError
from chalicelib.domain.templates import Attachment
from worker_container.engine import Acked, Engine, File, Inbound
from worker_container.ports import IN, StorePort, TenantConfig
from worker_container.reactions import answerable, display_phone, reply_id

logger = logging.getLogger("wafleet.worker")

P = ParamSpec("P")
T = TypeVar("T")

ACK_SERVER = 1  # wa-js ACK.SENT: WhatsApp's server has the message
# Catch-up after a restart reads this many of the newest messages of each recent chat, from a
# little before the newest message logged (clocks differ; the log de-duplicates overlaps).
CATCH_UP_PER_CHAT = 50
CATCH_UP_MARGIN_MS = 120_000


class Replies:
    """One tenant's inbox: which messages get an answer, and that each gets exactly one."""

    def __init__(
        self,
        store: StorePort,
        engine: Engine,
        clock: Clock,
        *,
        rate_limit: Callable[[], Awaitable[None]],
        log: dict[str, Any],
        typing_ms: Callable[[str], int] = lambda _text: 0,
    ) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self.rate_limit = rate_limit
        self.log = log
        self.typing_ms = typing_ms
        self.tenant = TenantConfig(owner_id=None, lease_epoch=0, name="")
        self.handled: set[str] = set()
        self.awaiting_ack: dict[str, str] = {}  # reply's WhatsApp id -> our reply key
        # WhatsApp id -> (chat, text, key, the file it carries as JSON)
        self.unsent: dict[str, tuple[str, str, str, str | None]] = {}
        self.canary_answered: Callable[[str], bool] = lambda _probe: False  # the canary's
        self._rules = rules.Rules()  # the owner's replies, parsed from ...
        self._rules_source: str | None = None  # ... this saved JSON

    async def _db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def answer(self, message: Inbound) -> None:
        """Log, de-duplicate and answer one inbound message; raises on failure."""
        if message.id in self.handled:
            return
        phone = message.phone or await self._phone_of(message.chat)
        number = display_phone(phone) or message.chat
        new = await self._db(
            self.store.record_inbound,
            message.id,
            from_number=number,
            to_number=self.tenant.phone,
            text=message.text,
            at_ms=self.clock.now_ms(),
            chat=message.chat,
        )
        logger.info(
            "message in",
            extra={**self.log, "message_id": message.id, "chat": message.chat, "new": new},
        )
        if not new and await self._db(self.store.inbound_state, message.id) != "RECEIVED":
            self.handled.add(message.id)
            return
        await self._reply(message.id, message.chat, number, message.text)

    async def _reply(self, inbound_id: str, chat: str, to_number: str, text_in: str) -> None:
        """Answer one logged message (once), and measure how long it took."""
        started = self.clock.now_ms()
        sent = await self._answer_logged(inbound_id, chat, to_number, text_in)
        if sent:  # from here to WhatsApp's server taking it, "typing…" included
            observability.milliseconds("host", ReplyLatencyMs=self.clock.now_ms() - started)

    async def _answer_logged(
        self, inbound_id: str, chat: str, to_number: str, text_in: str
    ) -> bool:
        owners = await self._load_rules()
        if await self._canary(inbound_id, chat, to_number, text_in):
            return False
        # The chat's record decides first (taken over, opted out, too many replies this hour);
        # it is saved before the claim, so a STOP holds even if the confirmation never goes.
        tenant, now = self.tenant, self.clock.now_ms()
        outcome = rules.reply(
            owners,
            tenant.template_type,
            tenant.name,
            to_number,
            text_in,
            record=await self._db(self.store.chat, chat),
            now_ms=now,
        )
        if outcome.text is None:
            await self._db(self.store.mark_ignored, inbound_id, why=outcome.why)
            logger.info("not answered", extra={**self.log, "reason": outcome.why})
            self.handled.add(inbound_id)
            return False
        text, media = outcome.text, _media_json(outcome.media)
        await self._db(self.store.save_chat, chat, outcome.record)
        return await self._claim_and_send(inbound_id, chat, to_number, text, media, typing=True)

    async def _claim_and_send(
        self,
        inbound_id: str,
        chat: str,
        to_number: str,
        text: str,
        media: str | None = None,
        *,
        typing: bool = False,
    ) -> bool:
        """Claim the one reply to ``inbound_id``, then send it (False: claimed before, or the
        tenant is paused). Whether it is paused is decided by the claim's condition, not a
        cached flag: a resume takes effect for the very next message."""
        key, wa_id = f"re-{inbound_id}", reply_id(inbound_id)
        try:
            claimed = await self._db(
                self.store.claim_reply,
                inbound_id,
                reply_key=key,
                wa_message_id=wa_id,
                to_number=to_number,
                from_number=self.tenant.phone,
                text=text,
                at_ms=self.clock.now_ms(),
                chat=chat,
                media=media,
            )
        except TenantPausedError:
            await self._db(self.store.mark_ignored, inbound_id)
            self.handled.add(inbound_id)
            return False
        if claimed:
            # The limit spaces what WhatsApp sees: taken right before the send, and only
            # for a reply that will be sent.
            await self.rate_limit()
            await self.send(chat, text, key, wa_id, typing=typing, media=media)
        self.handled.add(inbound_id)
        return claimed

    async def _canary(self, inbound_id: str, chat: str, number: str, text_in: str) -> bool:
        """A canary's probe from the paired canary's number is answered with the platform's
        text (not the owner's rules, not counted by the loop guard); a peer's answer to this
        session's probe ends the probe. True when ``text_in`` was one of those."""
        tenant = self.tenant
        answer = canary.answer_of(text_in)
        if answer and tenant.canary_peer and number == tenant.canary_peer:
            self.canary_answered(answer)
            await self._db(self.store.mark_ignored, inbound_id, why="the canary's peer answered")
            self.handled.add(inbound_id)
            return True
        probe = canary.probe_of(text_in)
        if not (probe and tenant.canary_of and number == tenant.canary_of):
            return False
        await self._claim_and_send(inbound_id, chat, number, canary.ANSWER.format(id=probe))
        return True

    async def _load_rules(self) -> rules.Rules:
        """The owner's replies as saved right now (one read of the tenant item: a save
        reaches the very next message, never half of it)."""
        self.tenant = await self._db(self.store.tenant)
        saved = self.tenant.rules
        if saved != self._rules_source:
            try:
                self._rules = rules.parse(json.loads(saved)) if saved else rules.Rules()
            except (ValueError, ValidationError):  # saved by an older release: its template
                logger.warning(
                    "replies not readable; the starting template answers", extra=self.log
                )
                self._rules = rules.Rules()
            self._rules_source = saved
        return self._rules

    async def taken_over(self, chat: str) -> None:
        """The owner wrote in ``chat`` from the phone: the bot is silent there for a while."""
        record = await self._db(self.store.chat, chat)
        now = self.clock.now_ms()
        hours = (await self._load_rules()).takeover_hours
        taken = conversation.taken_over(record, now_ms=now, for_ms=hours * conversation.HOUR_MS)
        await self._db(self.store.save_chat, chat, taken)
        logger.info("chat taken over by a person", extra=self.log)

    async def send(
        self,
        chat: str,
        text: str,
        key: str,
        wa_id: str,
        *,
        typing: bool = False,
        media: str | None = None,
    ) -> None:
        """Send by chat id with our own id; SENT once WhatsApp's server acknowledges it. A
        send the page refuses (conflict, lost socket) is tried again, with the same id, the
        next time the page is connected (``retry_unsent``). ``typing``: show "typing…" first,
        as a person would (a resend does not). ``media``: the file the text is the caption of."""
        self.awaiting_ack[wa_id] = key
        try:
            file = await self._file(media)
            typing_ms = self.typing_ms(text) if typing else 0
            sent = await self.engine.send(chat, text, wa_id, typing_ms, file)
        except BaseException:
            self.unsent[wa_id] = (chat, text, key, media)  # only a send that failed goes again
            raise
        if sent.ack >= ACK_SERVER:
            await self._confirm(wa_id)
        logger.info("replied", extra={**self.log, "reply_id": key, "ack": sent.ack})

    async def retry_unsent(self) -> None:
        """Send again what the page refused before (each once: another retry may run)."""
        while self.unsent:
            wa_id, (chat, text, key, media) = self.unsent.popitem()
            logger.info("sending again", extra={**self.log, "reply_id": key})
            await self.send(chat, text, key, wa_id, media=media)

    async def acked(self, event: Acked) -> None:
        """WhatsApp acknowledged messages: confirm our replies among them."""
        if event.ack < ACK_SERVER:
            return
        for wa_id in event.ids:
            if wa_id in self.awaiting_ack:
                await self._confirm(wa_id)

    async def _confirm(self, wa_id: str) -> None:
        key = self.awaiting_ack.pop(wa_id, None)
        if key is not None:
            await self._db(self.store.mark_sent, key, wa_id)
            observability.count("host", RepliesSent=1)  # replies per hour, fleet-wide

    async def _file(self, media: str | None) -> File | None:
        """The file a reply carries, read from the store when it is sent."""
        if media is None:
            return None
        attachment = json.loads(media)
        try:
            data = await self._db(self.store.media, attachment["id"])
        except NotFoundError:  # deleted since the save: the answer goes without it
            logger.warning("the file of an answer is gone; sent without it", extra=self.log)
            return None
        return File(data, attachment["type"], attachment["name"])

    async def _phone_of(self, chat: str) -> str | None:
        try:
            return await self.engine.phone_of(chat)
        except Exception:
            return None

    async def finish_interrupted_work(self) -> None:
        """After a restart: answer what was logged but not answered, and settle replies that
        were claimed but not confirmed, by their WhatsApp id and ack (never by their text)."""
        pending = await self._db(self.store.unfinished)
        if pending:
            inbound = sum(1 for item in pending if item.direction == IN)
            logger.info(
                "interrupted work",
                extra={**self.log, "unanswered": inbound, "unconfirmed": len(pending) - inbound},
            )
        for item in pending:
            number = item.from_number if item.direction == IN else item.to_number
            chat = item.chat or _chat_of(number)
            if item.direction == IN:
                if item.wa_message_id not in self.handled:
                    await self._reply(item.wa_message_id, chat, number or chat, item.text or "")
                continue
            key, wa_id = item.reply_key or "", item.wa_message_id
            self.handled.add(item.reply_to or "")
            ack = await self.engine.ack_of(chat, wa_id)
            if ack is not None and ack >= ACK_SERVER:
                await self._db(self.store.mark_sent, key, wa_id)
                logger.info("reply confirmed", extra={**self.log, "reply_id": key})
            elif ack is None:  # never reached the page: the same id again is the same message
                await self.send(chat, item.text or "", key, wa_id, media=item.media)
            else:  # queued in the page: its ack will come
                self.awaiting_ack[wa_id] = key

    async def unanswered(self, *, older_than_ms: int) -> int:
        """Messages logged more than ``older_than_ms`` ago and neither answered nor left
        unanswered on purpose: what the fleet's "unanswered" alarm counts."""
        cutoff = self.clock.now_ms() - older_than_ms
        pending = await self._db(self.store.unfinished)
        return sum(1 for m in pending if m.direction == IN and (m.at_ms or cutoff) < cutoff)

    async def catch_up(self, *, linked_at: int | None) -> None:
        """Answer every message newer than the last one logged, read or not (a hung or killed
        predecessor may have let the page take them). History synced at link time is older
        than the link, so it is never answered."""
        newest = await self._db(self.store.newest_at)
        # Never before the link (the history sync); otherwise from a little before the newest
        # message logged; with neither known (a login older than this rule), nothing old.
        floors = [t for t in (linked_at, newest and newest - CATCH_UP_MARGIN_MS) if t]
        since = max(floors) if floors else self.clock.now_ms()
        found = await self.engine.recent(since, CATCH_UP_PER_CHAT)
        todo = [m for m in sorted(found, key=lambda m: m.at_ms) if m.id not in self.handled]
        if todo:
            logger.info("catching up", extra={**self.log, "candidates": len(todo)})
        for message in todo:
            if answerable(message):
                with contextlib.suppress(TenantPausedError):
                    await self.answer(message)


def _media_json(media: Attachment | None) -> str | None:
    return json.dumps(dataclasses.asdict(media)) if media else None


def _chat_of(number: str | None) -> str:
    """A chat id for a number logged before chat ids were (``+1555…`` -> ``1555…@c.us``)."""
    value = number or ""
    if "@" in value:
        return value
    return "".join(ch for ch in value if ch.isdigit()) + "@c.us"
