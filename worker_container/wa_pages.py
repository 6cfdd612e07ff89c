"""Known WhatsApp Web pages to pin a session to: ``@wppconnect/wa-version``'s catalog (npm,
pinned by package-lock.json; the image carries the versions it was built with).

The package lists every version in ``versions.json`` with when it was released and when it
expires (two months on: WhatsApp no longer serves a client that old), and keeps each page as
``html/<version>.html``; WPPConnect serves that file in place of https://web.whatsapp.com/
(``src/controllers/browser.ts``, ``setWhatsappVersion``), as the engine does.

A pin this host cannot serve (not in its image, or expired) is not a reason to keep a bot
offline: the session opens the live site, and says why in the fleet view."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain import wa_version

DEFAULT_CATALOG = Path(__file__).resolve().parents[1] / "node_modules/@wppconnect/wa-version"


@dataclass(frozen=True)
class Known:
    """One version in the catalog."""

    version: str
    released_ms: int
    expire_ms: int
    page: Path | None  # None: listed, but its page is not in this image


@dataclass(frozen=True)
class Choice:
    """The page a session opens."""

    version: str  # the version served, or ``wa_version.LIVE``
    page: Path | None  # None: the live site
    refused: str | None = None  # why the pin asked for is not served


def _ms(stamp: str) -> int:
    return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


class Catalog:
    """The versions under ``root`` (wa-version's package folder: versions.json, html/)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known: dict[str, Known] | None = None

    def known(self) -> dict[str, Known]:
        """Every listed version; an unreadable catalog is an empty one."""
        if self._known is None:
            try:
                listed = json.loads((self.root / "versions.json").read_text(encoding="utf-8"))
                entries = listed["versions"]
            except (OSError, ValueError, KeyError, TypeError):
                entries = []
            known = {}
            for entry in entries:
                page = self.root / "html" / f"{entry['version']}.html"
                known[entry["version"]] = Known(
                    version=entry["version"],
                    released_ms=_ms(entry["released"]),
                    expire_ms=_ms(entry["expire"]),
                    page=page if page.is_file() else None,
                )
            self._known = known
        return self._known

    def choose(self, pin: str | None, now_ms: int) -> Choice:
        """The page for a session pinned to ``pin`` (None: the live site)."""
        if pin is None:
            return Choice(wa_version.LIVE, None)
        known = self.known().get(pin)
        if known is None:
            return Choice(wa_version.LIVE, None, f"{pin} is not a known WhatsApp Web version")
        if known.page is None:
            return Choice(wa_version.LIVE, None, f"{pin} is not in this host's image")
        if now_ms >= known.expire_ms:
            day = dt.datetime.fromtimestamp(known.expire_ms / 1000, dt.UTC).date()
            return Choice(wa_version.LIVE, None, f"{pin} expired on {day}: WhatsApp refuses it")
        return Choice(pin, known.page)


@functools.cache
def catalog(root: Path) -> Catalog:
    """The host's one catalog under ``root`` (read once; every session shares it)."""
    return Catalog(root)
