"""The engine on @wppconnect/wa-js: the only module that knows there is a browser and a page.

The pinned wa-js bundle is injected before any script of the site runs; once ``WPP.isReady``
the bridge below subscribes to its events and forwards them through one exposed binding.
Everything else is a call of a public ``WPP`` function by name (``NAMES``: the contract tests
check each against the package's type declarations and the real bundle, and exercise it on the
simulator's WhatsApp Web modules).

What the calls and events mean comes from wa-js 4.6.0's source, not from what a fake accepts:

- ``conn.main_ready`` fires once, on the first QR *or* MAIN stream mode, and ``isMainReady()``
  then stays true (src/conn/events/registerMainReadyEvent.ts): it says nothing about being
  linked. Connected is authenticated with the stream MAIN and NORMAL (``reactions.verdict``).
- ``sendTextMessage``'s ``messageId`` is a serialized ``MsgKey`` of the chat wa-js resolves,
  ``true_<chat>_<id>``; a bare id, a key not fromMe or of another chat is refused
  (src/chat/functions/prepareRawMessage.ts). ``getMessageById`` takes the same whole key.
- ``chat.list()`` looks up group metadata for every group unless told not to
  (src/chat/functions/list.ts): the catch-up asks for users only.
- A media message's text is its ``caption``; its ``body`` is a thumbnail.
- ``sendFileMessage`` takes a data URL, ``type`` (image or document), ``caption``,
  ``filename`` and the same ``messageId`` key; it waits for its message in the chat's
  ``msgs`` and, with ``waitForAck: false``, returns its ack so far
  (src/chat/functions/sendFileMessage.ts).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, Route
from playwright.async_api import Error as PlaywrightError

from worker_container.config import WorkerConfig, proxy_option
from worker_container.engine import (
    NOT_LOADED,
    Acked,
    CodeShown,
    CodesRanOut,
    File,
    Inbound,
    Linked,
    MessageArrived,
    PageEvent,
    PageLost,
    PageState,
    Sent,
    StateChanged,
)

logger = logging.getLogger("wafleet.worker")

BINDING = "__wafleetEvent"

# Every WPP function and event the worker uses, exactly as the pinned package declares them.
FUNCTIONS = (
    "conn.getAuthCode",
    "conn.refreshQR",
    "conn.startLinkDeviceCodeForPhoneNumber",
    "conn.cancelLinkDeviceCode",
    "conn.getMyUserId",
    "conn.getStreamData",
    "conn.isAuthenticated",
    "conn.isOnline",
    "conn.needsUpdate",
    "chat.find",
    "chat.markIsRead",
    "chat.sendTextMessage",
    "chat.sendFileMessage",
    "chat.getMessages",
    "chat.list",
    "chat.getMessageById",
    "contact.getPnLidEntry",
)
# Methods of WhatsApp Web's own objects that wa-js exports (WPP.whatsapp.<Object>.<method>).
MEMBERS = ("whatsapp.Socket.takeover",)
EVENTS = (
    "conn.auth_code_change",
    "conn.qrcode_idle",
    "conn.link_code_change",
    "conn.link_code_expired",
    "conn.authenticated",
    "conn.logout",
    "conn.logout_reason",
    "conn.stream_mode_changed",
    "conn.stream_info_changed",
    "conn.online",
    "conn.needs_update",
    "chat.new_message",
    "chat.msg_ack_change",
)
NAMES = (*FUNCTIONS, *MEMBERS)

# Subscribes once per WPP object (a reload brings a new one) and reports the state it found,
# so nothing that happened before the subscription is missed.
_BRIDGE = """
async () => {
  const W = window.WPP;
  if (!W || !W.isReady) return false;
  if (window.__wafleetBoundTo === W) return true;
  window.__wafleetBoundTo = W;
  const out = (kind, data) => window.__BINDING__(JSON.stringify({ kind, at: Date.now(), data }));
  const wid = (w) => (w == null ? null : typeof w === "string" ? w : w._serialized);
  const msg = (m) => ({
    id: m.id.id, chat: wid(m.id.remote), fromMe: !!m.id.fromMe, type: m.type || "chat",
    body: String((m.type === "chat" ? m.body : m.caption) ?? ""), t: m.t || 0,
    isNewMsg: !!m.isNewMsg,
  });
  const state = () => ({
    authenticated: W.conn.isAuthenticated(), stream: W.conn.getStreamData(),
    online: W.conn.isOnline(), needsUpdate: W.conn.needsUpdate(),
  });
  const report = () => out("state", state());
  W.on("conn.auth_code_change", (c) => out("code", c ? { kind: "qr", code: c.fullCode } : null));
  W.on("conn.qrcode_idle", () => out("idle", "qr"));
  W.on("conn.link_code_change", (code) => out("code", { kind: "pairing", code }));
  W.on("conn.link_code_expired", () => out("idle", "pairing"));
  W.on("conn.authenticated", () => out("authenticated", null));
  W.on("conn.logout_reason", (reason) => out("logout", reason || "unknown"));
  W.on("conn.logout", () => out("logout", null));
  for (const name of ["conn.stream_mode_changed", "conn.stream_info_changed", "conn.online",
                      "conn.needs_update"]) W.on(name, report);
  W.on("chat.new_message", (m) => out("message", msg(m)));
  W.on("chat.msg_ack_change", (e) => out("ack", { ack: e.ack, ids: e.ids.map((k) => k.id) }));
  const code = await W.conn.getAuthCode().catch(() => null);
  if (code) out("code", { kind: "qr", code: code.fullCode });
  report();
  return true;
}
""".replace("__BINDING__", BINDING)

_PROBE = """() => {
  const W = window.WPP;
  if (!W || !W.isReady) return { loaded: false };
  return { loaded: true, authenticated: W.conn.isAuthenticated(), stream: W.conn.getStreamData(),
           online: W.conn.isOnline(), needsUpdate: W.conn.needsUpdate() };
}"""

# The key of our message in the chat wa-js resolves (a phone-number chat may live under its
# LID): "true_<chat>_<id>", as prepareRawMessage and getMessageById parse it.
_KEY = """const key = async (chat, id) => {
  const found = await WPP.chat.find(chat);
  return { chat: found.id._serialized, key: `true_${found.id._serialized}_${id}` };
};"""

# Read, then "typing…" for a moment, then the message (wa-js's `delay` option types first).
_SEND = (
    """async ([chat, text, id, typingMs, file]) => {
  """
    + _KEY
    + """
  const to = await key(chat, id);
  await WPP.chat.markIsRead(to.chat).catch(() => null);
  const options = { messageId: to.key, waitForAck: false, markIsRead: false };
  const r = file
    ? await WPP.chat.sendFileMessage(to.chat, `data:${file.mimetype};base64,${file.data}`, {
      ...options, type: file.mimetype.startsWith("image/") ? "image" : "document",
      caption: text, filename: file.name, mimetype: file.mimetype,
    })
    : await WPP.chat.sendTextMessage(to.chat, text, {
      ...options, linkPreview: false, delay: typingMs,
    });
  return { id: String(r.id).split("_").pop(), ack: r.ack ?? 0 };
}"""
)

_ACK_OF = (
    """async ([chat, id]) => {
  """
    + _KEY
    + """
  try { const m = await WPP.chat.getMessageById((await key(chat, id)).key); return m.ack ?? 0; }
  catch (e) { return null; }
}"""
)

_RECENT = """async ([sinceS, perChat]) => {
  const out = [];
  const chats = await WPP.chat.list({ onlyUsers: true, ignoreGroupMetadata: true });
  for (const chat of chats) {
    if (!chat.t || chat.t < sinceS) continue;
    const id = chat.id._serialized;
    for (const m of await WPP.chat.getMessages(id, { count: perChat })) {
      if ((m.t || 0) < sinceS) continue;
      out.push({ id: m.id.id, chat: id, fromMe: !!m.id.fromMe, type: m.type || "chat",
                 body: String((m.type === "chat" ? m.body : m.caption) ?? ""), t: m.t || 0 });
    }
  }
  return out;
}"""

_PHONE_OF = """async (chat) => {
  try { const e = await WPP.contact.getPnLidEntry(chat); return e.phoneNumber?.id ?? null; }
  catch (e) { return null; }
}"""


@cache
def chrome_major(executable: str) -> str:
    """The installed browser's major version (for a user agent that matches it)."""
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except OSError:
        return "0"
    words = [w for w in out.split() if w[:1].isdigit()]
    return words[0].split(".")[0] if words else "0"


def user_agent(executable: str) -> str:
    """A desktop Chrome user agent for the installed major version (never "HeadlessChrome")."""
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{chrome_major(executable)}.0.0.0 Safari/537.36"
    )


class WaJsEngine:
    """One tenant's WhatsApp Web in a persistent Chromium profile, driven through wa-js."""

    def __init__(
        self,
        *,
        url: str,
        chromium: str,
        args: list[str],
        bundle: Path,
        call_timeout_s: float = 15.0,
        load_timeout_s: float = 60.0,
        locale: str = "en-US",
        proxy: dict[str, str] | None = None,
        sandbox: bool,
        playwright: Playwright,
    ) -> None:
        self.url = url
        self.chromium = chromium
        self.args = args
        self.bundle = bundle
        self.call_timeout_s = call_timeout_s
        self.load_timeout_s = load_timeout_s
        self.locale = locale
        self.pinned: Path | None = None  # this launch's pinned WhatsApp Web page, if any
        self.proxy = proxy
        self.sandbox = sandbox
        self._pw = playwright  # the host's one Playwright driver, shared by its sessions
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self._on_event: Callable[[PageEvent], None] = lambda _event: None
        self._bind_task: asyncio.Task[None] | None = None
        self._closing = False
        self._profile: Path | None = None

    MY_NUMBER = (
        "() => { const w = WPP.conn.getMyUserId();"
        " return w && w.server === 'c.us' ? w.user : null; }"
    )
    BACK_TO_QR = (
        "() => { WPP.conn.cancelLinkDeviceCode(); WPP.conn.refreshQR().catch(() => null);"
        " return true; }"
    )

    @classmethod
    def for_config(cls, config: WorkerConfig, playwright: Playwright) -> WaJsEngine:
        """The engine of one session on a host (the host's Playwright driver, its config)."""
        return cls(
            url=config.whatsapp_url,
            chromium=config.chromium,
            args=config.chromium_args(),
            sandbox=config.sandbox,
            bundle=config.wajs_bundle,
            call_timeout_s=config.page_call_s,
            load_timeout_s=config.page_load_s,
            locale=config.page_locale,
            proxy=proxy_option(config.proxy_url),
            playwright=playwright,
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def start(
        self, profile: Path, on_event: Callable[[PageEvent], None], pinned: Path | None = None
    ) -> None:
        """Launch Chromium on ``profile`` (the tenant's login), inject wa-js, open the site
        (``pinned``: that version's page in place of the site's own)."""
        self._on_event = on_event
        self.pinned = pinned
        self._closing = False
        self._profile = profile
        script = self.bundle.read_text(encoding="utf-8")
        self.context = await self._pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=self.chromium,
            headless=True,
            # Playwright adds --no-sandbox unless asked for the sandbox: the page renders what
            # strangers send. Off only as root (a developer's machine, CI).
            chromium_sandbox=self.sandbox,
            args=self.args,
            user_agent=user_agent(self.chromium),
            locale=self.locale,
            viewport={"width": 1280, "height": 800},
            # A pinned version must stay the page it is: no service worker serves (or
            # updates) the site from its cache, as WPPConnect does for a pinned version.
            service_workers="block" if pinned is not None else "allow",
            proxy=self.proxy,  # type: ignore[arg-type]
        )
        context = self.context
        context.on("close", lambda _ctx: self._lost("browser closed", context))
        await context.expose_binding(BINDING, self._on_binding)
        await context.add_init_script(script)
        if pinned is not None:
            await context.route(self._is_site_page, self._serve_pinned)
            # Nor may the site learn it is out of date and reload (WPPConnect aborts the same
            # request: src/controllers/browser.ts).
            await context.route(self._is_update_check, lambda route: route.abort())
        self.page = context.pages[0] if context.pages else await context.new_page()
        page = self.page
        page.on("crash", lambda _page: self._lost("page crashed", page))
        page.on("load", lambda _page: self._schedule_bind(page))
        await page.goto(self.url, timeout=self.load_timeout_s * 1000)

    async def reload(self) -> None:
        """Reload the site; the bridge binds again once the library is ready."""
        if self.page is not None:
            await self.page.reload(timeout=self.load_timeout_s * 1000)

    async def close(self) -> None:
        """Close Chromium; the profile stays on disk for the archive. A browser that does
        not close (hung, stopped) is killed: nothing else may run on its profile after this."""
        self._closing = True
        if self._bind_task is not None:
            self._bind_task.cancel()
        if self.context is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.context.close(), timeout=10)
        self.context = self.page = None
        if self._profile is not None:
            await asyncio.to_thread(end_browser, self._profile)

    async def stop(self) -> None:
        """Close the browser (the host stops the shared driver at its end)."""
        await self.close()

    def _is_update_check(self, url: str) -> bool:
        return url.startswith(self.url.rstrip("/") + "/check-update")

    def _is_site_page(self, url: str) -> bool:
        return url.split("#", 1)[0].split("?", 1)[0].rstrip("/") == self.url.rstrip("/")

    async def _serve_pinned(self, route: Route) -> None:
        """Serve the pinned WhatsApp Web version's page (its scripts come from the site as
        usual), the way WPPConnect pins versions with @wppconnect/wa-version."""
        pinned = self.pinned
        if pinned is None or route.request.resource_type != "document":
            await route.continue_()
            return
        body = await asyncio.to_thread(pinned.read_bytes)
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

    def _lost(self, reason: str, source: object) -> None:
        if self._closing or (source is not self.context and source is not self.page):
            return
        self._on_event(PageLost(reason))

    # --- the bridge -------------------------------------------------------------------------

    def _schedule_bind(self, page: Page) -> None:
        if page is not self.page or self._closing:
            return
        if self._bind_task is not None and not self._bind_task.done():
            self._bind_task.cancel()
        self._bind_task = asyncio.get_running_loop().create_task(self._bind(page))

    async def _bind(self, page: Page) -> None:
        try:
            await page.wait_for_function(
                "() => !!(window.WPP && window.WPP.isReady)", timeout=self.load_timeout_s * 1000
            )
            await asyncio.wait_for(page.evaluate(_BRIDGE), timeout=self.call_timeout_s)
        except asyncio.CancelledError:
            raise
        except (PlaywrightError, TimeoutError) as exc:
            if page is self.page and not self._closing:
                logger.warning("wa-js not ready", extra={"error_type": type(exc).__name__})
                self._on_event(PageLost(f"{NOT_LOADED} (wa-js never became ready)"))

    def _on_binding(self, _source: Any, raw: str) -> None:
        event = parse_event(json.loads(raw))
        if event is not None:
            self._on_event(event)

    # --- calls ----------------------------------------------------------------------------

    async def _call(self, script: str, arg: Any = None) -> Any:
        if self.page is None:
            raise PlaywrightError("no page")
        return await asyncio.wait_for(self.page.evaluate(script, arg), timeout=self.call_timeout_s)

    async def probe(self) -> PageState:
        """Ask the page (bounded: a hung renderer never answers)."""
        return state_of(await self._call(_PROBE))

    async def refresh_code(self) -> None:
        """``WPP.conn.refreshQR``."""
        await self._call("() => WPP.conn.refreshQR().then(() => true)")

    async def request_pairing_code(self, phone: str) -> None:
        """``WPP.conn.startLinkDeviceCodeForPhoneNumber``; codes come as ``conn.link_code_change``
        and rotate until linked."""
        digits = "".join(ch for ch in phone if ch.isdigit())
        await self._call(
            "(p) => WPP.conn.startLinkDeviceCodeForPhoneNumber(p).then(() => true)", digits
        )

    async def my_number(self) -> str | None:
        """``WPP.conn.getMyUserId`` (``UserPrefs.getMaybeMeUser``, else ``getMaybeMePnUser``,
        src/conn/functions/getMyUserWid.ts): a phone-number wid tells the number; a LID
        does not."""
        user = await self._call(self.MY_NUMBER)
        return f"+{user}" if user else None

    async def back_to_qr(self) -> None:
        """``WPP.conn.cancelLinkDeviceCode`` (the flow's codes stop: its epoch moves on,
        src/conn/functions/linkDeviceCodeLifecycle.ts), then ``WPP.conn.refreshQR`` for a
        fresh QR rotation (its code comes as ``conn.auth_code_change``)."""
        await self._call(self.BACK_TO_QR)

    async def take_over(self) -> None:
        """``WPP.whatsapp.Socket.takeover``."""
        await self._call("() => { WPP.whatsapp.Socket.takeover(); return true; }")

    async def send(
        self, chat: str, text: str, message_id: str, typing_ms: int = 0, file: File | None = None
    ) -> Sent:
        """``WPP.chat.sendTextMessage`` (or, with ``file``, ``sendFileMessage`` with the text
        as its caption) by chat id with our own message id (as the chat's ``MsgKey``), after
        marking the chat read and showing "typing…" for ``typing_ms``."""
        given = file and {
            "data": base64.b64encode(file.data).decode(),
            "mimetype": file.mimetype,
            "name": file.name,
        }
        result = await self._call(_SEND, [chat, text, message_id, typing_ms, given])
        return Sent(str(result["id"]), int(result["ack"]))

    async def ack_of(self, chat: str, message_id: str) -> int | None:
        """``WPP.chat.getMessageById`` for a message we sent, by its whole key."""
        value = await self._call(_ACK_OF, [chat, message_id])
        return None if value is None else int(value)

    async def recent(self, since_ms: int, per_chat: int) -> list[Inbound]:
        """``WPP.chat.list`` + ``WPP.chat.getMessages``: their messages since ``since_ms``."""
        rows = await self._call(_RECENT, [since_ms // 1000, per_chat])
        return [inbound_of(row, new=True) for row in rows]

    async def phone_of(self, chat: str) -> str | None:
        """``WPP.contact.getPnLidEntry``."""
        if chat.endswith("@c.us"):
            return chat.split("@", 1)[0]
        value = await self._call(_PHONE_OF, chat)
        return str(value) if value else None


def end_browser(profile: Path) -> None:
    """Kill what is left of the Chromium running on ``profile`` (this process's children
    only), so a relaunch on the same profile never meets a second browser."""
    import psutil

    flag = f"--user-data-dir={profile}"
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if flag in child.cmdline():
                child.kill()  # SIGKILL: a SIGSTOPped browser too
    for name in ("SingletonLock", "SingletonSocket", "SingletonCookie"):
        (profile / name).unlink(missing_ok=True)


def state_of(data: dict[str, Any]) -> PageState:
    """A probe's or the bridge's state report as a ``PageState``."""
    stream = data.get("stream") or {}
    return PageState(
        loaded=bool(data.get("loaded", True)),
        authenticated=bool(data.get("authenticated")),
        stream=stream.get("mode"),
        stream_info=stream.get("info"),
        online=data.get("online"),
        needs_update=bool(data.get("needsUpdate")),
    )


def inbound_of(row: dict[str, Any], *, new: bool | None = None) -> Inbound:
    """A bridge message row as an ``Inbound``."""
    return Inbound(
        id=str(row["id"]),
        chat=str(row["chat"]),
        text=str(row.get("body") or ""),
        at_ms=int(row.get("t") or 0) * 1000,
        from_me=bool(row.get("fromMe")),
        is_new=bool(row.get("isNewMsg")) if new is None else new,
        kind=str(row.get("type") or "chat"),
    )


def parse_event(raw: dict[str, Any]) -> PageEvent | None:
    """One bridge report as an engine event (None for what the worker does not use)."""
    kind, at = raw.get("kind"), int(raw.get("at") or 0)
    data: Any = raw.get("data")
    if kind == "code":
        return CodeShown(data["kind"], str(data["code"]), at) if data else None
    if kind == "idle":
        return CodesRanOut(str(data))
    if kind == "authenticated":
        return Linked()
    if kind == "state":
        return StateChanged(state_of(data))
    if kind == "logout":
        return StateChanged(PageState(loaded=True, logout_reason=data or "unknown"))
    if kind == "message":
        return MessageArrived(inbound_of(data))
    if kind == "ack":
        return Acked(tuple(str(i) for i in data["ids"]), int(data["ack"]))
    return None
