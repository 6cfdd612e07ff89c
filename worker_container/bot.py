"""The per-tenant worker: keeps WhatsApp Web logged in, answers messages, reports health.

Everything the page does arrives as a ``Screen`` snapshot from the in-page observer; the
worker reacts to changes (QR shown, ready, phone offline, logged out, conflict, messages).
Every status change goes through the transition table (``tenants.apply_event``); every
write carries the lease, so a replaced worker learns it on its next write and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from enum import IntEnum
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from chalicelib.domain import templates
from chalicelib.domain.clock import Clock, SystemClock
from chalicelib.domain.errors import (
    IllegalTransitionError,
    StaleOwnerError,
    TenantPausedError,
)
from chalicelib.domain.statuses import SessionState, TenantStatus, WorkerStatus
from chalicelib.domain.transitions import Actor, Event
from chalicelib.settings import Settings
from chalicelib.store import messages, tenants
from chalicelib.store.tenants import Lease, QrCode
from worker_container import memory
from worker_container.config import CHROMIUM_ARGS, WorkerConfig
from worker_container.inbox import ChatCursor
from worker_container.rate_limit import TokenBucket
from worker_container.reconnect import Backoff
from worker_container.session_store import SessionStore
from worker_container.whatsapp_page import BINDING, OBSERVER, Inbound, Screen, WhatsAppPage

logger = logging.getLogger("wafleet.worker")


class ExitCode(IntEnum):
    """How a worker ended; the launcher reports non-zero exits as crashes."""

    STOPPED = 0
    UNEXPECTED = 1
    CONFIG = 2
    REPLACED = 3  # another worker (or the reaper) holds the tenant now
    HEARTBEAT_LOST = 4  # no successful heartbeat for too long: the reaper has us as dead
    FATAL = 5  # logged out or reconnect exhausted; ERROR is recorded


class Bot:
    """One tenant's worker."""

    def __init__(
        self,
        config: WorkerConfig,
        settings: Settings,
        sessions: SessionStore,
        clock: Clock | None = None,
    ) -> None:
        self.cfg = config
        self.settings = settings
        self.sessions = sessions
        self.clock = clock or SystemClock()
        self.lease = Lease(config.tenant_id, config.owner_id, config.epoch)
        self.log = {"tenant_id": config.tenant_id, "epoch": config.epoch}
        self.worker = WorkerStatus.STARTING
        self.session = SessionState.DISCONNECTED
        self.paused = False
        self.screen = Screen()
        self.events: asyncio.Queue[str] = asyncio.Queue()
        self.done = asyncio.Event()
        self.connected = asyncio.Event()
        self.exit_code = ExitCode.STOPPED
        self.exit_reason = ""
        self.handled: set[str] = set()
        self.cursor = ChatCursor()
        self.draining = False
        self.bucket = TokenBucket(self.clock, config.rate_per_min / 60, config.rate_burst)
        self.backoff = Backoff(
            config.reconnect_base_s, config.reconnect_cap_s, config.reconnect_max
        )
        self.template_type: str | None = None
        self.business_name = ""
        self.phone: str | None = None
        self.qr_attempt = 0
        self.qr_started_ms = 0
        self.closing = False
        self.login_forgotten = False  # after a logout nothing may save the login again
        self.session_lock = asyncio.Lock()
        self.recovering = False
        self.reconnect_task: asyncio.Task[None] | None = None
        self.recovery_task: asyncio.Task[None] | None = None
        self.pw: Playwright | None = None
        self.browser: Browser | None = None
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self.wa: WhatsAppPage | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def finish(self, code: ExitCode, reason: str) -> None:
        """End the worker (first reason wins)."""
        if not self.done.is_set():
            self.exit_code, self.exit_reason = code, reason
            logger.info("finishing", extra={**self.log, "reason": reason, "code": int(code)})
            self.done.set()

    async def run(self) -> ExitCode:
        """Run until stopped, replaced or failed; returns the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.finish, ExitCode.STOPPED, f"received {sig.name}")
        item = await self._db(tenants.get_tenant, self.cfg.tenant_id, consistent=True)
        if item.owner_id != self.lease.owner_id or int(item.lease_epoch) != self.lease.epoch:
            logger.warning("lease not held at start", extra=self.log)
            return ExitCode.REPLACED
        self._load_config(item)
        async with async_playwright() as pw:
            self.pw = pw
            await self._open_browser()
            tasks = [
                asyncio.create_task(self._heartbeats(), name="heartbeat"),
                asyncio.create_task(self._screens(), name="screens"),
                asyncio.create_task(self._watchdog(), name="watchdog"),
                asyncio.create_task(self._saver(), name="saver"),
            ]
            await self.done.wait()
            for task in [*tasks, self.reconnect_task, self.recovery_task]:
                if task is not None:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._shutdown()
        return self.exit_code

    async def _shutdown(self) -> None:
        self.closing = True
        if self.exit_code is ExitCode.STOPPED:
            was_connected = self.session is SessionState.CONNECTED
            with contextlib.suppress(StaleOwnerError, IllegalTransitionError):
                await asyncio.wait_for(self._event(Event.STOPPED, self.exit_reason), timeout=3)
            # Save the login unless a newer worker owns the tenant (a zombie must not
            # overwrite its successor's login); an operator's stop keeps the epoch.
            if was_connected and await self._still_newest():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._save_session(), timeout=4)
        if self.browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.browser.close(), timeout=3)

    # --- browser ------------------------------------------------------------------------

    async def _still_newest(self) -> bool:
        try:
            item = await self._db(tenants.get_tenant, self.cfg.tenant_id, consistent=True)
        except Exception:
            return False
        return int(item.lease_epoch) == self.lease.epoch

    async def _open_browser(self) -> None:
        assert self.pw is not None
        self.browser = await self.pw.chromium.launch(
            executable_path=self.cfg.chromium, args=CHROMIUM_ARGS, headless=True
        )
        browser = self.browser
        # Callbacks of a browser or page we already replaced must not start another recovery.
        browser.on("disconnected", lambda _: self._crashed("browser process exited", browser))
        saved = await asyncio.to_thread(self.sessions.load)
        state = json.loads(saved) if saved else None
        self.context = await self.browser.new_context(storage_state=state)
        await self.context.expose_binding(BINDING, self._on_screen)
        await self.context.add_init_script(OBSERVER)
        self.page = await self.context.new_page()
        page = self.page
        page.on("crash", lambda _: self._crashed("page crashed", page))
        self.wa = WhatsAppPage(self.page)
        self.screen = Screen()
        await self.page.goto(self.cfg.whatsapp_url)
        logger.info("browser open", extra={**self.log, "restored_login": state is not None})

    def _on_screen(self, _source: Any, raw: str) -> None:
        self.events.put_nowait(raw)

    def _crashed(self, reason: str, source: Browser | Page | None = None) -> None:
        """Start recovery in its own task: a hung page may be blocking the screen loop, and
        closing the old browser is what makes its stuck calls fail and free it."""
        if source is not None and source is not self.browser and source is not self.page:
            return
        if self.closing or self.recovering or self.done.is_set():
            return
        self.recovering = True
        self.recovery_task = asyncio.get_running_loop().create_task(self._recover(reason))

    async def _recover(self, reason: str) -> None:
        """Relaunch the browser after a crash or hang; statuses say DISCONNECTED meanwhile."""
        logger.warning("browser recovery", extra={**self.log, "reason": reason})
        try:
            if self.session is not SessionState.DISCONNECTED:
                await self._event(Event.DISCONNECTED, f"browser: {reason}; relaunching")
            self.connected.clear()
            if self.browser is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.browser.close(), timeout=5)
            await self._open_browser()
        except StaleOwnerError:
            self.finish(ExitCode.REPLACED, "lease lost")
        except Exception as exc:
            logger.exception("browser relaunch failed", extra=self.log)
            self.finish(ExitCode.UNEXPECTED, f"browser relaunch failed: {type(exc).__name__}")
        finally:
            self.recovering = False

    async def _save_session(self) -> None:
        async with self.session_lock:
            if self.context is None or self.login_forgotten:
                return
            await self._write_session(self.context)

    async def _write_session(self, context: BrowserContext) -> None:
        # storage_state reads localStorage through the page: bounded, a hung page never answers.
        # WhatsApp Web keeps its login in IndexedDB: include it.
        state = await asyncio.wait_for(context.storage_state(indexed_db=True), timeout=10)
        await asyncio.to_thread(self.sessions.save, json.dumps(state).encode())

    # --- reacting to the page -------------------------------------------------------------

    async def _screens(self) -> None:
        while True:
            latest = await self.events.get()
            while not self.events.empty():  # coalesce bursts: act on the newest screen
                latest = self.events.get_nowait()
            try:
                previous, self.screen = self.screen, Screen.parse(latest)
                await self._react(previous, self.screen)
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
            except (PlaywrightError, TimeoutError) as exc:
                if not self.done.is_set():
                    logger.warning(
                        "page action failed", extra={**self.log, "error_type": type(exc).__name__}
                    )

    async def _react(self, before: Screen, now: Screen) -> None:
        if now.logged_out:
            await self._event(Event.AUTH_FAILURE, "logged out from the phone")
            async with self.session_lock:  # waits for a save in flight, then forgets for good
                self.login_forgotten = True
                await asyncio.to_thread(self.sessions.delete)
            self.finish(ExitCode.FATAL, "logged out")
            return
        if now.conflict:
            await self._conflict(before)
            return
        if now.qr and now.qr != before.qr:
            await self._publish_qr(now.qr, first=before.qr is None)
        if now.qr_expired and not before.qr_expired and self.wa is not None:
            logger.info("qr rotation ran out; reloading", extra=self.log)
            await self.wa.reload_qr()
        if not now.ready:
            return
        if now.offline:
            if self.session is not SessionState.DISCONNECTED:
                await self._event(Event.DISCONNECTED, "phone not connected")
                self.connected.clear()
            self._start_reconnect()
            return
        if self.session is not SessionState.CONNECTED:
            await self._on_ready()
            # _on_ready may have opened chats: act on what the page shows now. (self.screen stays
            # the last screen processed: the edges above are detected against it.)
            assert self.wa is not None
            now = await self.wa.screen()
            if not now.ready or now.offline or now.logged_out or now.conflict:
                return  # the queued screens bring the change
        await self._messages(now)

    async def _conflict(self, before: Screen) -> None:
        if before.conflict:
            return
        if self.cfg.conflict == "stop":
            # The saved login is kept: only a logout deletes it.
            self.finish(ExitCode.STOPPED, "WhatsApp Web was opened elsewhere")
            return
        logger.info("conflict: taking the session back", extra=self.log)
        assert self.wa is not None
        await self.wa.use_here()

    async def _publish_qr(self, payload: str, *, first: bool) -> None:
        now = self.clock.now_ms()
        if first:
            self.qr_attempt, self.qr_started_ms = 0, now
        self.qr_attempt += 1
        expires = self.qr_started_ms + int(
            (self.cfg.qr_first_s + (self.qr_attempt - 1) * self.cfg.qr_next_s) * 1000
        )
        qr = QrCode(payload, self.qr_attempt, self.cfg.qr_count, expires)
        await self._event(Event.QR, qr=qr)
        logger.info("qr published", extra={**self.log, "attempt": self.qr_attempt})

    async def _on_ready(self) -> None:
        # Save the login before reporting CONNECTED: whoever sees CONNECTED can count on a
        # restart (or a browser crash a moment later) coming back without a new QR.
        try:
            await self._save_session()
        except (PlaywrightError, TimeoutError) as exc:
            logger.warning("login not saved", extra={**self.log, "error_type": type(exc).__name__})
        await self._event(Event.READY)
        self.connected.set()
        if self.reconnect_task is not None:
            self.reconnect_task.cancel()
            self.reconnect_task = None
        item = await self._db(tenants.get_tenant, self.cfg.tenant_id, consistent=True)
        self._load_config(item)
        logger.info("ready", extra=self.log)
        await self._finish_interrupted_work()

    def _load_config(self, item: Any) -> None:
        self.template_type = item.template_type
        self.business_name = item.name
        self.phone = item.phone
        self.paused = item.tenant_status == TenantStatus.PAUSED.value

    # --- messages -----------------------------------------------------------------------

    async def _messages(self, screen: Screen) -> None:
        new = self.cursor.new_inbound(screen, self.handled)
        if new:
            for message in new:
                await self._answer(message)
            return
        for peer, _count in screen.unread:
            await self._open_chat(peer)  # its bubbles arrive in the next screen
            return

    async def _open_chat(self, peer: str) -> None:
        """Go to ``peer``'s chat, answering first what the open one still waits for: it is
        marked read, so no unread badge would ever bring the worker back to it."""
        assert self.wa is not None
        if not self.draining:  # answering may send, and sending may open a chat
            self.draining = True
            try:
                await self._answer_open_chat()
            finally:
                self.draining = False
        await self.wa.open_chat(peer)

    async def _answer_open_chat(self) -> None:
        """Answer what the open chat shows now, including what arrives meanwhile; a message
        that fails is not retried here (bounded: three looks at the page)."""
        assert self.wa is not None
        tried: set[str] = set()
        for _ in range(3):
            new = self.cursor.new_inbound(await self.wa.screen(), self.handled)
            todo = [m for m in new if m.id not in tried]
            if not todo:
                return
            for message in todo:
                tried.add(message.id)
                await self._answer(message)

    async def _answer(self, message: Inbound) -> None:
        """Log, de-duplicate and answer one inbound message, exactly once."""
        if message.id in self.handled:
            return
        try:
            await self._answer_once(message)
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

    async def _answer_once(self, message: Inbound) -> None:
        tenant = self.cfg.tenant_id
        now = self.clock.now_ms()
        new = await self._db(
            messages.record_inbound,
            tenant,
            message.id,
            from_number=message.peer,
            to_number=self.phone,
            text=message.text,
            at_ms=now,
        )
        if not new:
            known = await self._db(messages.get_inbound, tenant, message.id)
            if known is not None and known.state != "RECEIVED":
                self.handled.add(message.id)
                return
        # Whether the tenant is paused is decided by the claim's condition, not by a cached
        # flag: a resume must take effect for the very next message.
        await self._rate_limit()
        text = templates.reply(self.template_type, self.business_name, message.text)
        reply_id = f"re-{message.id}"
        try:
            claimed = await self._db(
                messages.claim_reply,
                self.lease,
                message.id,
                reply_id=reply_id,
                to_number=message.peer,
                from_number=self.phone,
                text=text,
                at_ms=self.clock.now_ms(),
            )
        except TenantPausedError:
            self.paused = True
            await self._db(messages.mark_ignored, tenant, message.id)
            self.handled.add(message.id)
            return
        if claimed:
            await self._send(message.peer, text, reply_id)
        self.handled.add(message.id)

    async def _send(self, peer: str, text: str, reply_id: str) -> None:
        assert self.wa is not None
        if (await self.wa.screen()).open_peer != peer:
            await self._open_chat(peer)
        wa_id = await self.wa.send(text)
        await self._db(messages.mark_sent, self.cfg.tenant_id, reply_id, wa_id)
        logger.info("replied", extra={**self.log, "reply_id": reply_id})

    async def _rate_limit(self) -> None:
        while (wait := self.bucket.take()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=wait)
            if self.done.is_set():
                raise asyncio.CancelledError

    async def _finish_interrupted_work(self) -> None:
        """After a restart: answer what was logged but not answered, confirm half-sent replies."""
        assert self.wa is not None
        pending = await self._db(messages.unfinished, self.cfg.tenant_id)
        if pending:
            inbound = sum(1 for item in pending if item.direction == messages.IN)
            logger.info(
                "interrupted work",
                extra={**self.log, "unanswered": inbound, "unconfirmed": len(pending) - inbound},
            )
        for item in pending:
            if item.direction == messages.IN:
                await self._answer(
                    Inbound(item.wa_message_id, item.from_number or "", item.text or "")
                )
                continue
            inbound_id = item.reply_to or ""
            peer = item.to_number or ""
            await self._open_chat(peer)
            reply_id = item.message_key.split("#", 1)[1]
            if await self.wa.replied_after(inbound_id, item.text or ""):
                await self._db(messages.mark_sent, self.cfg.tenant_id, reply_id, None)
                logger.info("reply confirmed", extra={**self.log, "reply_id": reply_id})
            else:
                await self._send(peer, item.text or "", reply_id)
            self.handled.add(inbound_id)

    # --- background loops ---------------------------------------------------------------

    async def _heartbeats(self) -> None:
        grace_s = self.cfg.heartbeat_grace_s or self.settings.stale_s
        last_ok = time.monotonic()
        while not self.done.is_set():
            try:
                if self.worker is WorkerStatus.STARTING:
                    await self._event(Event.HEARTBEAT)
                else:
                    item = await self._db(
                        tenants.heartbeat,
                        self.lease,
                        now_ms=self.clock.now_ms(),
                        connected=self.session is SessionState.CONNECTED,
                        rss_mb=memory.worker_rss_mb(),
                        browser_mb=memory.browser_pss_mb(),
                    )
                    self.paused = item.tenant_status == TenantStatus.PAUSED.value
                last_ok = time.monotonic()
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

    async def _watchdog(self) -> None:
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.probe_s)
            if self.done.is_set() or self.recovering or self.wa is None:
                continue
            try:
                await asyncio.wait_for(self.wa.probe(), timeout=self.cfg.probe_s)
            except (TimeoutError, PlaywrightError):
                self._crashed("page not responding")

    async def _saver(self) -> None:
        while not self.done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout=self.cfg.save_s)
            if not self.done.is_set() and self.session is SessionState.CONNECTED:
                with contextlib.suppress(PlaywrightError, TimeoutError):
                    await self._save_session()

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
                        f"phone not connected after {attempt - 1} attempts",
                    )
                self.finish(ExitCode.FATAL, "reconnect attempts exhausted")
                return
            next_at = self.clock.now_ms() + int(delay * 1000)
            try:
                recorded = await self._db(
                    tenants.record_reconnect, self.lease, attempts=attempt, next_retry_at_ms=next_at
                )
            except StaleOwnerError:
                self.finish(ExitCode.REPLACED, "lease lost")
                return
            if not recorded:  # the session came back while we were writing
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), timeout=delay)
            if self.connected.is_set() or self.page is None:
                return
            logger.info("reconnect attempt", extra={**self.log, "attempt": attempt})
            with contextlib.suppress(PlaywrightError):
                await self.page.reload()

    # --- store --------------------------------------------------------------------------

    async def _event(
        self, event: Event, detail: str | None = None, qr: QrCode | None = None
    ) -> None:
        outcome = await self._db(
            tenants.apply_event,
            self.cfg.tenant_id,
            event,
            Actor.WORKER,
            now_ms=self.clock.now_ms(),
            lease=self.lease,
            detail=detail,
            qr=qr,
        )
        after = outcome.decision.after
        self.worker, self.session = after.worker, after.session
        self.paused = after.tenant is TenantStatus.PAUSED

    async def _db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)
