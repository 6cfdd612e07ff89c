"""A session: one tenant's link to WhatsApp on a host, with its lease, login and replies.

It keeps WhatsApp Web linked, answers messages and reports health, wiring the parts: the
engine (the page, ``engine.py``/``wajs.py``), the reactions (what a page state or a message
means, ``reactions.py``), the replies (exactly-once answers, ``replies.py``), its login
(``login_store.py``) and its store port (``ports.py``). Every status change goes through the
transition table; every write carries the lease, so a replaced session learns it on its next
write and ends. The host (``host.py``) runs many sessions and owns the process's signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import ParamSpec, TypeVar

from chalicelib import observability
from chalicelib.domain.clock import Clock, SystemClock
from chalicelib.domain.errors import IllegalTransitionError, StaleOwnerError
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Event
from chalicelib.domain.values import Lease, QrCode
from chalicelib.domain.words import OUR_SIDE, WHATSAPP_CHANGED
from chalicelib.settings import Settings
from worker_container import memory, profile, wa_pages
from worker_container.canary import Canary
from worker_container.config import WorkerConfig
from worker_container.engine import (
    NOT_LOADED,
    Acked,
    CodeShown,
    CodesRanOut,
    Engine,
    Inbound,
    Linked,
    MessageArrived,
    PageEvent,
    PageLost,
    PageState,
    StateChanged,
)
from worker_container.login_store import LoginStore
from worker_container.ports import StorePort, TenantConfig
from worker_container.rate_limit import TokenBucket
from worker_container.reactions import Health, Verdict, answerable, owner_wrote, verdict
from worker_container.reconnect import Backoff
from worker_container.replies import Replies

logger = logging.getLogger("wafleet.worker")

P = ParamSpec("P")
T = TypeVar("T")


# wa-js refreshes a phone-number link code at most 5 times (MAX_AUTO_REFRESHES in
# src/conn/functions/linkDeviceCodeLifecycle.ts), then says the flow expired: six codes.
PAIRING_CODES = 6
UNANSWERED_CHECK_S = 60.0
UNANSWERED_AFTER_MS = 120_000  # a message still without its answer then counts as unanswered


class ExitCode(IntEnum):
    """How a session (or a host) ended; anything but STOPPED is recorded as a crash."""

    STOPPED = 0
    UNEXPECTED = 1
    CONFIG = 2
    REPLACED = 3  # another session (or the reaper) holds the tenant now
    HEARTBEAT_LOST = 4  # no successful heartbeat for too long: the reaper has us as dead
    FATAL = 5  # logged out or reconnect exhausted; ERROR is recorded


class Session:
    """One tenant's session, handed its lease, config, login store, engine and store port."""

    def __init__(
        self,
        lease: Lease,
        config: WorkerConfig,
        settings: Settings,
        logins: LoginStore,
        engine: Engine,
        store: StorePort,
        clock: Clock | None = None,
    ) -> None:
        self.lease = lease
        self.cfg = config
        self.store = store
        self.settings = settings
        self.logins = logins
        self.engine = engine
        self.clock = clock or SystemClock()
        self.log = {"tenant_id": lease.tenant_id, "epoch": lease.epoch}
        self.worker_status = WorkerStatus.STARTING
        self.session_state = SessionState.DISCONNECTED
        self.page = PageState()
        # What the page says, with the page it came from: once a page is lost (or replaced),
        # what it said and was not yet handled is dropped, never taken for the new page's word.
        self.events: asyncio.Queue[tuple[int, PageEvent]] = asyncio.Queue()
        self.page_number = 0
        self.done = asyncio.Event()
        self.connected = asyncio.Event()
        self.exit_code = ExitCode.STOPPED
        self.exit_reason = ""
        self.bucket = TokenBucket(self.clock, config.rate_per_min / 60, config.rate_burst)
        self.backoff = Backoff(
            config.reconnect_base_s, config.reconnect_cap_s, config.reconnect_max
        )
        self.link_phone: str | None = None
        self.replies = Replies(
            store,
            engine,
            self.clock,
            rate_limit=self._rate_limit,
            log=self.log,
            typing_ms=config.typing_ms,
        )
        self.canary = Canary(
            store,
            engine,
            self.clock,
            every_s=config.canary_s,
            timeout_s=config.canary_timeout_s,
            connected=lambda: self.session_state is SessionState.CONNECTED,
            peer=lambda: self.replies.tenant.canary_peer,  # read by every heartbeat
            record=lambda detail: self._event(Event.CANARY, detail),
            log=self.log,
        )
        self.replies.canary_answered = self.canary.answered
        self.code_attempt: dict[str, int] = {}
        self.pairing_requested = False
        self.closing = False
        self.login_forgotten = False  # after a logout nothing may save the login again
        self.profile_lock = asyncio.Lock()
        self.profile_dir = Path(tempfile.mkdtemp(prefix=f"wafleet-{lease.tenant_id}-"))
        self.recovering = False
        self.browser_mb = 0.0  # the browser's PSS at the last heartbeat (the host reads it)
        self.browser_cpu = 0.0  # its share of a core between the last two heartbeats (too)
        self.cpu_rate = memory.CpuRate()
        self.host_share_mb: float | None = None  # its share of the host process (host sets)
        self.reconnect_task: asyncio.Task[None] | None = None
        self.recovery_task: asyncio.Task[None] | None = None
        self.catch_up_task: asyncio.Task[None] | None = None
        self.caught_up_page = 0  # the page the last catch-up ran on
        # Answers in flight: one chat at a time in order, chats side by side (a reply's
        # "typing…" in one chat holds up no other chat).
        self.answering: set[asyncio.Task[None]] = set()
        self.chat_turns: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # lock, answers queued
        self.settling_since: int | None = None  # authenticated, not yet connected, since (ms)
        self.page_reported = asyncio.Event()  # a page (re)loaded said where it stands
        self.not_loaded = 0  # pages in a row on which wa-js never became ready

    # --- lifecycle ----------------------------------------------------------------------

    def finish(self, code: ExitCode, reason: str) -> None:
        """End the session (first reason wins)."""
        if not self.done.is_set():
            self.exit_code, self.exit_reason = code, reason
            logger.info("finishing", extra={**self.log, "reason": reason, "code": int(code)})
            self.done.set()

    async def run(self) -> ExitCode:
        """Run until stopped, replaced or failed; returns the exit code."""
        item = await self._db(self.store.tenant)
        if item.owner_id != self.lease.owner_id or item.lease_epoch != self.lease.epoch:
            logger.warning("lease not held at start", extra=self.log)
            return ExitCode.REPLACED
        self._load_config(item)
        try:
            await self._open()
            tasks = [
                asyncio.create_task(self._heartbeats(), name="heartbeat"),
                asyncio.create_task(self._handle_events(), name="events"),
                asyncio.create_task(self._watchdog(), name="watchdog"),
                asyncio.create_task(self._saver(), name="saver"),
                asyncio.create_task(self.canary.run(self.done), name="canary"),
                asyncio.create_task(self._count_unanswered(), name="unanswered"),
            ]
            await self.done.wait()
            for task in [
                *tasks,
                *self.answering,
                self.reconnect_task,
                self.recovery_task,
                self.catch_up_task,
            ]:
                if task is not None:
                    task.cancel()
            await asyncio.gather(*tasks, *self.answering, return_exceptions=True)
            await self._shutdown()
        finally:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
        return self.exit_code

    async def _shutdown(self) -> None:
        self.closing = True
        if self.exit_code is ExitCode.STOPPED:
            # Linked as the page last said, or as the statuses say: a stop can come while the
            # page's READY is still being written (and the wait for it is cancelled).
            was_connected = self.session_state is SessionState.CONNECTED or self.page.authenticated
            with contextlib.suppress(StaleOwnerError, IllegalTransitionError):
                await asyncio.wait_for(self._event(Event.STOPPED, self.exit_reason), timeout=3)
            # Close first, so the archive is of a profile Chromium has finished writing.
            await self.engine.close()
            # Save the login unless a newer worker owns the tenant (a zombie must not
            # overwrite its successor's login); an operator's stop keeps the epoch.
            if was_connected and await self._still_newest():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._save_profile(), timeout=5)
        await self._stop_engine()

    async def _stop_engine(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.engine.stop(), timeout=10)

    async def _still_newest(self) -> bool:
        try:
            item = await self._db(self.store.tenant)
        except Exception:
            return False
        return item.lease_epoch == self.lease.epoch

    # --- the page -------------------------------------------------------------------------

    async def _open(self) -> None:
        """Open WhatsApp Web on this session's profile: the one on disk if the browser ran
        here before (a relaunch after a crash or a hang: newer than any saved copy, which can
        be a save interval old, and an older copy would roll WhatsApp's keys back), else the
        saved login restored (if any)."""
        started = time.monotonic()
        async with self.profile_lock:  # a save in flight never packs a half-restored profile
            local = profile.holds_login(self.profile_dir)
            saved = None if local else await asyncio.to_thread(self.logins.load)
            if not local:
                shutil.rmtree(self.profile_dir, ignore_errors=True)
                if saved:
                    await asyncio.to_thread(profile.unpack, saved, self.profile_dir)
                else:
                    self.profile_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.page = PageState()
        choice = await self._wa_page()
        await self.engine.start(self.profile_dir, self._sink(), choice.page)
        logger.info(
            "browser open",
            extra={
                **self.log,
                "whatsapp_web": choice.version,
                "login": "local" if local else "restored" if saved else "none",
                "open_ms": round((time.monotonic() - started) * 1000),  # restore + launch + load
            },
        )

    async def _wa_page(self) -> wa_pages.Choice:
        """The WhatsApp Web page this launch opens: the tenant's pinned version, else the
        fleet's, else the live site; what it is (and why a pin is not served) goes on the
        tenant item for the fleet view, when it changed."""
        tenant = self.replies.tenant
        choice = wa_pages.catalog(self.cfg.wa_catalog).choose(
            tenant.wa_version or self.cfg.wa_version, self.clock.now_ms()
        )
        if choice.refused:
            logger.warning("pinned page not served", extra={**self.log, "why": choice.refused})
        if (tenant.wa_served, tenant.wa_refused) != (choice.version, choice.refused):
            try:
                await self._db(
                    self.store.record_wa_page, served=choice.version, refused=choice.refused
                )
            except StaleOwnerError:
                raise
            except Exception as exc:  # the fleet view lags; the launch goes on
                logger.warning(
                    "page served not recorded", extra={**self.log, "error_type": type(exc).__name__}
                )
            else:
                self.replies.tenant = dataclasses.replace(
                    tenant, wa_served=choice.version, wa_refused=choice.refused
                )
        return choice

    def _sink(self) -> Callable[[PageEvent], None]:
        """Where a new page's events go: they count while it is the current page."""
        self.page_number += 1
        number = self.page_number
        return lambda event: self.events.put_nowait((number, event))

    async def recycle(self, reason: str) -> None:
        """Relaunch the browser on purpose (its memory kept growing): the login is saved
        first, so it comes back without a new code."""
        if self.closing or self.recovering or self.done.is_set():
            return
        if self.session_state is SessionState.CONNECTED:
            with contextlib.suppress(Exception):
                await self._save_profile()
        self._crashed(reason)

    def _crashed(self, reason: str) -> None:
        """Start recovery in its own task: a hung page may be blocking the event loop's page
        calls, and closing the browser is what makes them fail and free it."""
        if self.closing or self.recovering or self.done.is_set():
            return
        self.recovering = True
        self.recovery_task = asyncio.get_running_loop().create_task(self._recover(reason))

    async def _recover(self, reason: str) -> None:
        """Reopen the browser from the saved profile; statuses say DISCONNECTED meanwhile."""
        logger.warning("browser recovery", extra={**self.log, "reason": reason})
        observability.count("host", BrowserRelaunches=1)  # relaunches per hour, fleet-wide
        self.page_number += 1  # the lost page's last words are not the new page's
        try:
            if self.session_state is not SessionState.DISCONNECTED:
                await self._event(Event.DISCONNECTED, f"{OUR_SIDE} {reason}; relaunching")
            self.connected.clear()
            await self.engine.close()
            if self.not_loaded >= self.cfg.not_loaded_tries:
                await self._wait_for_an_update()
            if not self.done.is_set():
                await self._open()
        except StaleOwnerError:
            self.finish(ExitCode.REPLACED, "lease lost")
        except Exception as exc:
            logger.exception("browser relaunch failed", extra=self.log)
            self.finish(ExitCode.UNEXPECTED, f"browser relaunch failed: {type(exc).__name__}")
        finally:
            self.recovering = False

    async def _wait_for_an_update(self) -> None:
        """WhatsApp Web did not load ``not_loaded_tries`` times in a row: most likely the
        site changed in a way the pinned wa-js does not know yet. Not a relaunch loop: a cause
        of its own (an operator updates wa-js), a metric for the alarm, the browser closed, and
        one more try every ``not_loaded_retry_s``."""
        retry_s = self.cfg.not_loaded_retry_s
        logger.warning(
            "WhatsApp Web does not load; waiting for an update",
            extra={**self.log, "tries": self.not_loaded, "retry_in_s": retry_s},
        )
        observability.count("host", WhatsAppNotLoaded=1)
        await self._event(
            Event.DISCONNECTED, f"{WHATSAPP_CHANGED}: it did not load {self.not_loaded} times"
        )
        next_at = self.clock.now_ms() + int(retry_s * 1000)
        await self._db(
            self.store.record_reconnect, attempts=self.not_loaded, next_retry_at_ms=next_at
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), timeout=retry_s)

    async def _save_profile(self) -> None:
        """Archive the login while the profile is quiet and store it, stamped with this
        lease's epoch and the time (a stored archive that is newer is never replaced)."""
        async with self.profile_lock:
            if self.login_forgotten:
                return
            try:
                data = await asyncio.to_thread(profile.pack, self.profile_dir)
            except profile.TornSnapshot:
                logger.warning("login not saved: the profile kept changing", extra=self.log)
                return
            stamp = {"saved_at": self.clock.now_ms(), "epoch": self.lease.epoch}
            if not await asyncio.to_thread(self.logins.save, data, **stamp):
                logger.warning("login not saved: the stored one is newer", extra=self.log)
                return
            logger.info("login saved", extra={**self.log, "archive_bytes": len(data)})

    async def _forget_login(self) -> None:
        async with self.profile_lock:  # waits for a save in flight, then forgets for good
            self.login_forgotten = True
            await asyncio.to_thread(self.logins.delete)

    # --- reacting to the page -------------------------------------------------------------

    async def _handle_events(self) -> None:
        while True:
            number, event = await self.events.get()
            try:
                if number == self.page_number:
                    await self._handle(event)
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
            except Exception as exc:
                if not self.done.is_set():
                    logger.warning(
                        "page event failed",
                        extra={
                            **self.log,
                            "event": type(event).__name__,
                            "error_type": type(exc).__name__,
                        },
                    )
            finally:
                self.events.task_done()

    async def _handle(self, event: PageEvent) -> None:
        if isinstance(event, PageLost):
            self.not_loaded = self.not_loaded + 1 if event.reason.startswith(NOT_LOADED) else 0
        else:
            self.not_loaded = 0  # the bridge speaks: wa-js is ready on this page
        if isinstance(event, StateChanged):
            new = event.state
            if new.logout_reason is None:
                # A report of where the page stands; a logout is kept until acted on.
                new = dataclasses.replace(new, logout_reason=self.page.logout_reason)
            else:
                new = dataclasses.replace(self.page, logout_reason=new.logout_reason)
            self.page = new
            try:
                await self._apply(self._verdict(new))
            finally:
                # Only once acted on: a reconnect attempt waiting for this report must see a
                # connected page as connected, not reload it again while READY is written.
                self.page_reported.set()
        elif isinstance(event, CodeShown):
            await self._publish_code(event)
        elif isinstance(event, CodesRanOut):
            self.code_attempt.pop(event.kind, None)
            logger.info(
                "codes ran out; asking for new ones", extra={**self.log, "kind": event.kind}
            )
            await self._request_codes(event.kind)
        elif isinstance(event, Linked):
            logger.info("linked", extra=self.log)
        elif isinstance(event, MessageArrived):
            if answerable(event.message) and self.session_state is SessionState.CONNECTED:
                self._answer_soon(event.message)
            elif owner_wrote(event.message):
                await self.replies.taken_over(event.message.chat)
        elif isinstance(event, Acked):
            await self.replies.acked(event)
        elif isinstance(event, PageLost):
            self._crashed(event.reason)

    def _verdict(self, state: PageState) -> Verdict:
        """What ``state`` means; an authenticated page that stays short of connected (stuck
        syncing or resuming) for longer than ``settle_s`` counts as disconnected."""
        seen = verdict(state)
        if seen.health is not Health.WAITING or not state.authenticated:
            self.settling_since = None
            return seen
        now = self.clock.now_ms()
        if self.settling_since is None:
            self.settling_since = now
        return verdict(state, stuck=now - self.settling_since > self.cfg.settle_s * 1000)

    async def _apply(self, seen: Verdict) -> None:
        health = seen.health
        if health is Health.LOGGED_OUT:
            await self._event(Event.AUTH_FAILURE, seen.cause)
            await self._forget_login()
            self.finish(ExitCode.FATAL, "logged out")
        elif health is Health.BLOCKED:
            await self._event(Event.AUTH_FAILURE, seen.cause)  # the login is kept
            self.finish(ExitCode.FATAL, seen.cause)
        elif health is Health.CONFLICT:
            if self.cfg.conflict == "stop":
                # The saved login is kept: only a logout deletes it.
                self.finish(ExitCode.STOPPED, "WhatsApp Web was opened elsewhere")
            else:
                logger.info("conflict: taking the session back", extra=self.log)
                await self.engine.take_over()
        elif health is Health.DISCONNECTED:
            if self.session_state is not SessionState.DISCONNECTED:
                await self._event(Event.DISCONNECTED, seen.cause)
                self.connected.clear()
            self._start_reconnect()
        elif health is Health.CONNECTED:
            if self.session_state is not SessionState.CONNECTED:
                await self._on_ready()
            elif self.caught_up_page != self.page_number:
                # Connected as the statuses go (the page before said READY while this one
                # was being opened), but this page has not caught up on what came meanwhile.
                self.connected.set()
                self._start_catch_up(self.replies.tenant.linked_at)
            await self.replies.retry_unsent()

    async def _publish_code(self, shown: CodeShown) -> None:
        if shown.kind == "qr" and self.link_phone:
            # The tenant links by pairing code: the QR is not shown, the code replaces it.
            if not self.pairing_requested:
                self.pairing_requested = True
                await self.engine.request_pairing_code(self.link_phone)
            return
        if shown.kind == "pairing" and not self.link_phone:
            return  # the owner went back to scanning: a late pairing code is not shown
        attempt = self.code_attempt.get(shown.kind, 0) + 1
        self.code_attempt[shown.kind] = attempt
        if shown.kind == "pairing":
            valid_s, count = self.cfg.pairing_code_s, PAIRING_CODES
        else:
            valid_s = self.cfg.qr_first_s if attempt == 1 else self.cfg.qr_next_s
            count = self.cfg.qr_count
        qr = QrCode(
            shown.code,
            attempt,
            count,
            shown.made_at_ms + int(valid_s * 1000),
            kind=shown.kind,
            made_at_ms=shown.made_at_ms,
        )
        await self._event(Event.QR, qr=qr)
        logger.info("code published", extra={**self.log, "kind": shown.kind, "attempt": attempt})

    async def _request_codes(self, kind: str) -> None:
        if kind == "pairing" and self.link_phone:
            await self.engine.request_pairing_code(self.link_phone)
        else:
            await self.engine.refresh_code()

    async def _on_ready(self) -> None:
        # Save the login before reporting CONNECTED: whoever sees CONNECTED can count on a
        # restart (or a browser crash a moment later) coming back without a new code.
        number = self.page_number
        try:
            await self._save_profile()
        except Exception as exc:
            logger.warning("login not saved", extra={**self.log, "error_type": type(exc).__name__})
        if number != self.page_number:
            return  # the page was lost meanwhile: the new page says when it is ready
        await self._record_linked_number()
        # A code shown in this run means a fresh link: its history sync is older than the
        # link time READY records. A restored login keeps the link time it had (if any).
        fresh_link = bool(self.code_attempt) or self.pairing_requested
        linked_before = self.replies.tenant.linked_at
        if number != self.page_number:
            return  # lost while its number was recorded
        await self._event(Event.READY)
        self.connected.set()
        self.code_attempt.clear()
        if self.reconnect_task is not None:
            self.reconnect_task.cancel()
            self.reconnect_task = None
        self._load_config(await self._db(self.store.tenant))
        logger.info("ready", extra=self.log)
        await self.replies.finish_interrupted_work()
        self._start_catch_up(self.replies.tenant.linked_at if fresh_link else linked_before)

    def _start_catch_up(self, linked_at: int | None) -> None:
        """Answer, on the current page, what arrived while nobody answered (once a page)."""
        if self.catch_up_task is not None:
            self.catch_up_task.cancel()
        self.caught_up_page = self.page_number
        self.catch_up_task = asyncio.create_task(self._catch_up(linked_at), name="catch-up")

    async def _record_linked_number(self) -> None:
        """Tell the store which number the phone linked. Replies wait while it is not the
        tenant's approved number: the store's reply claim checks it, until an operator confirms
        the number (or the right phone links)."""
        try:
            linked = await self.engine.my_number()
        except Exception as exc:
            logger.warning(
                "linked number unknown", extra={**self.log, "error_type": type(exc).__name__}
            )
            return
        if linked is None:
            return
        approved = self.replies.tenant.phone
        await self._db(self.store.record_linked_number, linked, approved=approved)
        if approved is not None and linked != approved:
            logger.warning("linked to another number than the approved one", extra=self.log)

    async def _catch_up(self, linked_at: int | None) -> None:
        """Answer what arrived while nobody was answering; a catch-up that fails (a slow page,
        a call past its limit) is tried again with backoff while the session stays connected."""
        attempt = 0
        while self.connected.is_set() and not self.done.is_set():
            attempt += 1
            try:
                await self.replies.catch_up(linked_at=linked_at)
                return
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
                return
            except Exception as exc:
                delay = self.backoff.delay(attempt) or self.cfg.reconnect_cap_s
                logger.warning(
                    "catch-up failed; trying again",
                    extra={**self.log, "error_type": type(exc).__name__, "retry_in_s": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.done.wait(), timeout=delay)

    def _load_config(self, item: TenantConfig) -> None:
        self.replies.tenant = item
        self.link_phone = item.link_phone

    def _answer_soon(self, message: Inbound) -> None:
        turn, queued = self.chat_turns.setdefault(message.chat, (asyncio.Lock(), [0]))
        queued[0] += 1

        async def answer() -> None:
            try:
                async with turn:
                    await self._answer(message)
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
            finally:
                queued[0] -= 1
                if not queued[0]:
                    self.chat_turns.pop(message.chat, None)

        task = asyncio.get_running_loop().create_task(answer())
        self.answering.add(task)
        task.add_done_callback(self.answering.discard)

    async def _answer(self, message: Inbound) -> None:
        """Answer one message; a failure is recorded as the worker's last error."""
        try:
            await self.replies.answer(message)
        except (StaleOwnerError, asyncio.CancelledError):
            raise
        except Exception as exc:
            logger.warning(
                "message handling failed", extra={**self.log, "error_type": type(exc).__name__}
            )
            with contextlib.suppress(IllegalTransitionError):
                await self._event(
                    Event.MESSAGE_ERROR, f"could not answer a message: {type(exc).__name__}"
                )

    async def _rate_limit(self) -> None:
        while (wait := self.bucket.take()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=wait)
            if self.done.is_set():
                raise asyncio.CancelledError

    # --- background loops ---------------------------------------------------------------

    async def _heartbeats(self) -> None:
        grace_s = self.cfg.heartbeat_grace_s or self.settings.stale_s
        last_ok = time.monotonic()
        while not self.done.is_set():
            link_phone = self.link_phone
            try:
                if self.worker_status is WorkerStatus.STARTING:
                    await self._event(Event.HEARTBEAT)
                else:
                    self.browser_mb = await asyncio.to_thread(
                        memory.browser_pss_mb, self.profile_dir
                    )
                    cpu_s = await asyncio.to_thread(memory.browser_cpu_s, self.profile_dir)
                    share = self.cpu_rate.share(cpu_s, time.monotonic())
                    self.browser_cpu = share if share is not None else self.browser_cpu
                    item = await self._db(
                        self.store.heartbeat,
                        now_ms=self.clock.now_ms(),
                        connected=self.session_state is SessionState.CONNECTED,
                        host_share_mb=self.host_share_mb,
                        browser_mb=self.browser_mb,
                        browser_cpu=share,
                    )
                    link_phone = item.link_phone
                    self.replies.tenant = item  # a rename or a confirmed number, within a beat
                last_ok = time.monotonic()
                await self._follow_link_request(link_phone)
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost (replaced or reaped)")
                return
            except Exception as exc:
                logger.warning(
                    "heartbeat failed", extra={**self.log, "error_type": type(exc).__name__}
                )
                if time.monotonic() - last_ok > grace_s:
                    self.finish(ExitCode.HEARTBEAT_LOST, "no successful heartbeat")
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.settings.heartbeat_s)

    async def _follow_link_request(self, link_phone: str | None) -> None:
        """The tenant asked to link by pairing code (read on the heartbeat: no extra request)."""
        if link_phone == self.link_phone:
            return
        was_pairing = self.link_phone is not None
        self.link_phone = link_phone
        self.code_attempt.pop("pairing", None)
        self.pairing_requested = False
        if not link_phone and was_pairing and self.session_state is not SessionState.CONNECTED:
            # Back to scanning: the site's pairing flow ends and a fresh QR rotation starts
            # (its codes count from 1 again).
            self.code_attempt.pop("qr", None)
            logger.info("QR code requested", extra=self.log)
            try:
                await self.engine.back_to_qr()
            except Exception as exc:
                logger.warning(
                    "QR code request failed", extra={**self.log, "error_type": type(exc).__name__}
                )
            return
        if (
            link_phone
            and "qr" in self.code_attempt
            and self.session_state is not SessionState.CONNECTED
        ):
            logger.info("pairing code requested", extra=self.log)
            try:
                await self.engine.request_pairing_code(link_phone)
                self.pairing_requested = True
            except Exception as exc:  # the next QR the page shows asks again
                logger.warning(
                    "pairing code request failed",
                    extra={**self.log, "error_type": type(exc).__name__},
                )

    async def _watchdog(self) -> None:
        """Probe the page every ``probe_s``. A page that does not answer within ``probe_s``
        is reported at once as our problem (the owner's phone is not to blame) and relaunched
        once silent for ``hang_s``: a busy page that answers again just comes back. A page that
        answers but is deaf (stream not MAIN, offline) is reported like an event would."""
        silent_since: float | None = None
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.probe_s)
            if self.done.is_set() or self.recovering:
                silent_since = None
                continue
            number = self.page_number
            try:
                state = await asyncio.wait_for(self.engine.probe(), timeout=self.cfg.probe_s)
            except TimeoutError:
                now = time.monotonic()
                silent_since = silent_since or now
                if now - silent_since >= self.cfg.hang_s:
                    self._crashed("page not responding")
                else:
                    await self._page_silent()
                continue
            except Exception:  # the browser is gone: nothing to wait for
                self._crashed("page lost")
                continue
            silent_since = None
            if state.loaded and (
                state.authenticated or self.session_state is SessionState.CONNECTED
            ):
                self.events.put_nowait((number, StateChanged(state)))

    async def _page_silent(self) -> None:
        """The page stopped answering: not connected as far as anyone can tell, and our fault."""
        if self.session_state is not SessionState.CONNECTED:
            return
        try:
            await self._event(Event.DISCONNECTED, f"{OUR_SIDE} not responding")
        except StaleOwnerError:
            self.finish(ExitCode.REPLACED, "lease lost")
            return
        except Exception as exc:  # the next probe tries again; the watchdog keeps running
            logger.warning(
                "hang not recorded", extra={**self.log, "error_type": type(exc).__name__}
            )
            return
        self.connected.clear()

    async def _count_unanswered(self) -> None:
        """Every minute while connected: inbound messages still without an answer after 2
        minutes (a metric; the alarm watches the fleet's sum)."""
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=UNANSWERED_CHECK_S)
            if self.done.is_set() or self.session_state is not SessionState.CONNECTED:
                continue
            with contextlib.suppress(Exception):  # a metric: the next minute tries again
                late = await self.replies.unanswered(older_than_ms=UNANSWERED_AFTER_MS)
                observability.count("host", InboundUnanswered=late)

    async def _saver(self) -> None:
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.save_s)
            if not self.done.is_set() and self.session_state is SessionState.CONNECTED:
                with contextlib.suppress(Exception):
                    await self._save_profile()

    def _start_reconnect(self) -> None:
        if self.reconnect_task is None or self.reconnect_task.done():
            self.reconnect_task = asyncio.create_task(self._reconnect(), name="reconnect")

    async def _reconnect(self) -> None:
        """Backoff with jitter; each attempt reloads the page; gives up after the maximum."""
        attempt = 0
        while not self.connected.is_set():
            attempt += 1
            delay = self.backoff.delay(attempt)
            if delay is None:
                with contextlib.suppress(StaleOwnerError):
                    await self._event(
                        Event.RECONNECT_EXHAUSTED,
                        f"{self.page_cause()} after {attempt - 1} attempts",
                    )
                self.finish(ExitCode.FATAL, "reconnect attempts exhausted")
                return
            next_at = self.clock.now_ms() + int(delay * 1000)
            try:
                recorded = await self._db(
                    self.store.record_reconnect, attempts=attempt, next_retry_at_ms=next_at
                )
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
                return
            if not recorded:  # the session came back while we were writing
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), timeout=delay)
            if self.connected.is_set():
                return
            if not self.page.authenticated:
                # A page that shows a code is waiting for the owner: reloading it would only
                # replace the code being scanned.
                return
            logger.info("reconnect attempt", extra={**self.log, "attempt": attempt})
            self.page_reported.clear()
            with contextlib.suppress(Exception):
                await self.engine.reload()
            # The next attempt counts from when the reloaded page has said where it stands
            # (wa-js ready, the socket resuming): reloading a page still on its way up would
            # never let it connect.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.page_reported.wait(), timeout=self.cfg.page_load_s)

    def page_cause(self) -> str:
        """Why the page is not connected, in a tenant's words."""
        return verdict(self.page, stuck=True).cause or "not connected"

    # --- store --------------------------------------------------------------------------

    async def _event(
        self, event: Event, detail: str | None = None, qr: QrCode | None = None
    ) -> None:
        after = await self._db(
            self.store.apply, event, now_ms=self.clock.now_ms(), detail=detail, qr=qr
        )
        self.worker_status, self.session_state = after.worker, after.session
        if after.tenant is TenantStatus.PAUSED:
            logger.info("tenant paused", extra=self.log)

    async def _db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)
