"""The page object for WhatsApp Web: every selector and in-page script lives here.

This is the DOM contract the simulator serves too. The page reports itself: an init script
installs a MutationObserver that sends a compact snapshot of the screen to the worker through
an exposed binding whenever it changes. The worker reacts to those snapshots, never to timers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page

BINDING = "__wafleetScreen"

SELECTORS: dict[str, str] = {
    "qr": "[data-ref]",
    "qr_reload": "[data-testid=qr-reload]",
    "chat_list": "#pane-side",
    "chat_row": "#pane-side [role=row]",
    "chat_id_attr": "data-chat",
    "unread": "[data-testid=unread]",
    "conversation": "#conversation",
    "bubble": "#conversation [data-id]",
    "bubble_in_class": "message-in",
    "bubble_text": ".text",
    "compose": "[data-testid=compose]",
    "send": "[data-testid=send]",
    "phone_alert": "[data-testid=alert-phone]",
    "conflict": "[data-testid=conflict-dialog]",
    "use_here": "[data-testid=use-here]",
    "logged_out": "[data-testid=logged-out]",
}

_OBSERVER_TEMPLATE = """
(() => {
  if (window.__wafleetObserver) return;
  const S = __SELECTORS__;
  let last = "";
  const text = (el) => (el?.querySelector(S.bubble_text) ?? el)?.textContent ?? "";
  function snapshot() {
    const qr = document.querySelector(S.qr);
    const loggedOut = !!document.querySelector(S.logged_out);
    const conversation = document.querySelector(S.conversation);
    const bubbles = [...document.querySelectorAll(S.bubble)];
    return {
      qr: qr ? qr.getAttribute("data-ref") : null,
      qrExpired: !qr && !loggedOut && !!document.querySelector(S.qr_reload),
      ready: !!document.querySelector(S.chat_list),
      offline: !!document.querySelector(S.phone_alert),
      loggedOut,
      conflict: !!document.querySelector(S.conflict),
      unread: [...document.querySelectorAll(S.chat_row)]
        .filter((row) => row.querySelector(S.unread))
        .map((row) => ({ peer: row.getAttribute(S.chat_id_attr),
                         count: parseInt(row.querySelector(S.unread).textContent, 10) || 1 })),
      openPeer: conversation ? conversation.getAttribute(S.chat_id_attr) : null,
      bubbles: bubbles.slice(-MAX_BUBBLES).map((b) => b.classList.contains(S.bubble_in_class)
        ? { id: b.getAttribute("data-id"), peer: b.getAttribute("data-peer"), text: text(b) }
        : { id: b.getAttribute("data-id"), out: true }),
    };
  }
  function report() {
    const now = JSON.stringify(snapshot());
    if (now !== last && window.__BINDING__) { last = now; window.__BINDING__(now); }
  }
  window.__wafleetSnapshot = () => JSON.stringify(snapshot());
  window.__wafleetObserver = new MutationObserver(report);
  const start = () => {
    window.__wafleetObserver.observe(document.documentElement, {
      subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ["data-ref", "data-id", "aria-label", "data-chat"] });
    report();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
"""
# The newest bubbles of the open chat that a snapshot carries.
MAX_BUBBLES = 50
OBSERVER = (
    _OBSERVER_TEMPLATE.replace("__SELECTORS__", json.dumps(SELECTORS))
    .replace("__BINDING__", BINDING)
    .replace("MAX_BUBBLES", str(MAX_BUBBLES))
)


@dataclass(frozen=True)
class Inbound:
    """An inbound message bubble."""

    id: str
    peer: str
    text: str


@dataclass(frozen=True)
class Bubble:
    """A message in the open chat: ours (``out``) or theirs."""

    id: str
    out: bool
    peer: str = ""
    text: str = ""

    def inbound(self) -> Inbound:
        """As an inbound message."""
        return Inbound(self.id, self.peer, self.text)


@dataclass(frozen=True)
class Screen:
    """What WhatsApp Web shows right now (from the in-page observer)."""

    qr: str | None = None
    qr_expired: bool = False
    ready: bool = False
    offline: bool = False
    logged_out: bool = False
    conflict: bool = False
    unread: tuple[tuple[str, int], ...] = ()
    open_peer: str | None = None
    bubbles: tuple[Bubble, ...] = ()

    @property
    def pending(self) -> tuple[Inbound, ...]:
        """Their messages in the open chat after our last one."""
        last_out = max((i for i, b in enumerate(self.bubbles) if b.out), default=-1)
        return tuple(b.inbound() for b in self.bubbles[last_out + 1 :])

    @classmethod
    def parse(cls, raw: str) -> Screen:
        """Build from the observer's JSON."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            qr=data.get("qr") or None,
            qr_expired=bool(data.get("qrExpired")),
            ready=bool(data.get("ready")),
            offline=bool(data.get("offline")),
            logged_out=bool(data.get("loggedOut")),
            conflict=bool(data.get("conflict")),
            unread=tuple((u["peer"], int(u["count"])) for u in data.get("unread", [])),
            open_peer=data.get("openPeer"),
            bubbles=tuple(
                Bubble(
                    b["id"],
                    bool(b.get("out")),
                    b.get("peer") or data.get("openPeer") or "",
                    b.get("text", ""),
                )
                for b in data.get("bubbles", [])
                if b.get("id")
            ),
        )


class WhatsAppPage:
    """Actions on WhatsApp Web. Every wait is on a locator, never on a fixed delay."""

    def __init__(self, page: Page, timeout_ms: float = 15_000) -> None:
        self.page = page
        self.timeout_ms = timeout_ms

    async def screen(self) -> Screen:
        """What the page shows at this moment (the observer's reports may be queued)."""
        return Screen.parse(await self.page.evaluate("window.__wafleetSnapshot()"))

    async def open_chat(self, peer: str) -> None:
        """Open the chat with ``peer`` and wait until its conversation is shown."""
        row = self.page.locator(f'{SELECTORS["chat_row"]}[{SELECTORS["chat_id_attr"]}="{peer}"]')
        await row.first.click(timeout=self.timeout_ms)
        conversation = self.page.locator(
            f'{SELECTORS["conversation"]}[{SELECTORS["chat_id_attr"]}="{peer}"]'
        )
        await conversation.wait_for(state="attached", timeout=self.timeout_ms)

    async def send(self, text: str) -> str:
        """Type ``text`` into the open chat, send it, and return the new bubble's id."""
        before = await self.page.locator(SELECTORS["bubble"]).count()
        compose = self.page.locator(SELECTORS["compose"])
        await compose.click(timeout=self.timeout_ms)
        # Enter sends on WhatsApp Web; a line break inside a message is Shift+Enter.
        for number, line in enumerate(text.split("\n")):
            if number:
                await self.page.keyboard.press("Shift+Enter")
            await self.page.keyboard.insert_text(line)
        await self.page.locator(SELECTORS["send"]).click(timeout=self.timeout_ms)
        sent = self.page.locator(SELECTORS["bubble"]).nth(before)
        await sent.wait_for(state="attached", timeout=self.timeout_ms)
        return await sent.get_attribute("data-id") or ""

    async def reload_qr(self) -> None:
        """Click "reload QR code" once the rotation ran out."""
        await self.page.locator(SELECTORS["qr_reload"]).click(timeout=self.timeout_ms)

    async def use_here(self) -> None:
        """Take the session back from another browser."""
        await self.page.locator(SELECTORS["use_here"]).click(timeout=self.timeout_ms)

    async def replied_after(self, inbound_id: str, text: str) -> bool:
        """Whether the open chat shows our reply ``text`` after message ``inbound_id``."""
        script = """([sel, id, text]) => {
          const bubbles = [...document.querySelectorAll(sel.bubble)];
          const at = bubbles.findIndex((b) => b.getAttribute("data-id") === id);
          return bubbles.slice(at + 1).some((b) => !b.classList.contains(sel.bubble_in_class)
            && ((b.querySelector(sel.bubble_text) ?? b).textContent === text));
        }"""
        return bool(await self.page.evaluate(script, [SELECTORS, inbound_id, text]))

    async def probe(self) -> None:
        """Round-trip into the page: a hung or crashed renderer never answers."""
        await self.page.evaluate("1")
