"""The worker host's own settings, declared once (``chalicelib.settings.setting``): how each
session behaves (``WorkerConfig``) and who the host is (``HostConfig``). Read once at start;
every session on the host is handed the same ``WorkerConfig`` object."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.domain import wa_version
from chalicelib.domain.errors import ConfigError, ValidationError
from chalicelib.settings import read_env, setting, url
from worker_container.wa_pages import DEFAULT_CATALOG, catalog

# The pinned @wppconnect/wa-js bundle: `make` installs it from package-lock.json; the image
# copies it to /opt/wafleet/wppconnect-wa.js and sets WAFLEET_WAJS_BUNDLE.
DEFAULT_BUNDLE = (
    Path(__file__).resolve().parents[1] / "node_modules/@wppconnect/wa-js/dist/wppconnect-wa.js"
)

# Debian's full Chromium, in its new headless mode. The old-headless shell (package
# chromium-headless-shell) needs half the memory, but says "HeadlessChrome" in its client hints
# (Sec-CH-UA, navigator.userAgentData.brands) whatever the user agent, and WhatsApp Web
# >= 2.3000.1044 refuses that token (wa-js notes it).
BROWSER = "/usr/bin/chromium"


def default_browser() -> str:
    """The Chromium the worker runs."""
    return BROWSER


def sandbox_args(euid: int | None = None) -> list[str]:
    """Chromium's sandbox stays on, except as root, where Chromium refuses to start with it
    (local runs and CI; the image runs as an unprivileged user, with the setuid helper)."""
    return ["--no-sandbox"] if (os.geteuid() if euid is None else euid) == 0 else []


# Nothing that phones home.
QUIET_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# A browser the tests or the dev tools drive themselves: the sandbox unless root.
BASE_CHROMIUM_ARGS = [*sandbox_args(), *QUIET_ARGS]
# A session's browser (its sandbox is decided by ``WorkerConfig.sandbox``).
WORKER_ARGS = [
    *QUIET_ARGS,
    # Look like a browser: no navigator.webdriver (the user agent is set per context).
    "--disable-blink-features=AutomationControlled",
    "--disable-dev-shm-usage",
    # Memory: one tab per worker, so no spare renderer; GPU and network service inside the
    # browser process. Site isolation stays on: the page shows content strangers send. The
    # full browser preloads its omnibox popups' WebUI in a renderer of their own (65 MB PSS
    # measured on Chromium 156, for a window nobody sees).
    "--disable-extensions",
    "--disable-features=Translate,OptimizationHints,MediaRouter,BackForwardCache,"
    "SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
    "--enable-features=NetworkServiceInProcess2,NetworkServiceInProcess",
    "--in-process-gpu",
]
CHROMIUM_ARGS = [*sandbox_args(), *WORKER_ARGS]


def _version(env: str, value: str) -> None:
    try:
        wa_version.check(value)
    except ValidationError as exc:
        raise ConfigError(f"{env} {exc.message}, got {value!r}") from None


def _proxy(env: str, value: str) -> None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port = None
        parts = urlsplit("")
    if parts.scheme not in ("http", "https", "socks5") or not parts.hostname or not port:
        # Never the value: it carries the proxy's password.
        raise ConfigError(f"{env} must be like http://user:password@host:port")


def proxy_option(value: str | None) -> dict[str, str] | None:
    """Playwright's ``proxy`` for ``value``, loopback included (Chromium would go around the
    proxy for it)."""
    if not value:
        return None
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(value)
    option = {"server": f"{parts.scheme}://{parts.hostname}:{parts.port}", "bypass": "<-loopback>"}
    if parts.username:
        option["username"] = unquote(parts.username)
        option["password"] = unquote(parts.password or "")
    return option


def _bundle(env: str, value: Path) -> None:
    if not value.is_file():
        raise ConfigError(
            f"the wa-js bundle is missing at {value}: run 'make wajs' (npm ci) or set {env}"
        )


@dataclass(frozen=True)
class WorkerConfig:
    """How every session on this host behaves."""

    whatsapp_url: str = setting(
        "WAFLEET_WHATSAPP_URL", "https://web.whatsapp.com/", check=url,
        what="the site (make dev: the simulator)",
    )  # fmt: skip
    chromium: str = setting("WAFLEET_CHROMIUM", BROWSER, what="Debian's Chromium")
    session_dir: Path | None = setting(
        "WAFLEET_SESSION_DIR", None, what="logins in a folder (local; or the bucket)"
    )
    session_bucket: str | None = setting(
        "WAFLEET_SESSION_BUCKET", None, what="logins in S3 (AWS; or the folder)"
    )
    session_kms_key: str | None = setting("WAFLEET_SESSION_KMS_KEY", None, what="their KMS key")
    rate_per_min: float = setting(
        "WAFLEET_RATE_PER_MIN", 30.0, low=0, what="replies a minute per tenant (0: no limit)"
    )
    rate_burst: int = setting("WAFLEET_RATE_BURST", 10, low=1, what="replies in a burst")
    reconnect_base_s: float = setting(
        "WAFLEET_RECONNECT_BASE_S", 2.0, unit="s", low=0.01, what="reconnect backoff: first"
    )
    reconnect_cap_s: float = setting(
        "WAFLEET_RECONNECT_CAP_S", 60.0, unit="s", low=0.01, what="reconnect backoff: longest"
    )
    reconnect_max: int = setting(
        "WAFLEET_RECONNECT_MAX", 10, low=1, what="reconnect attempts before ERROR"
    )
    conflict: str = setting(
        "WAFLEET_CONFLICT", "takeover", choices=("takeover", "stop"),
        what="opened on another computer: take the session back, or stop (login kept)",
    )  # fmt: skip
    probe_s: float = setting(
        "WAFLEET_PAGE_PROBE_S", 2.0, unit="s", low=0.05,
        what="the watchdog asks the page; one that does not answer within this is shown as "
        "our problem at once",
    )  # fmt: skip
    not_loaded_tries: int = setting(
        "WAFLEET_PAGE_NOT_LOADED_TRIES", 3, low=1,
        what="WhatsApp Web did not load this many times in a row: wait for an update",
    )  # fmt: skip
    not_loaded_retry_s: float = setting(
        "WAFLEET_PAGE_NOT_LOADED_RETRY_S", 600.0, unit="s", low=0.1,
        what="then try again this often (the browser is closed meanwhile)",
    )  # fmt: skip
    proxy_url: str | None = setting(
        "WAFLEET_PROXY_URL", None, check=_proxy,
        what="every browser's egress proxy, http://user:password@host:port (AWS: from Secrets "
        "Manager; unset: direct)",
    )  # fmt: skip
    canary_s: float = setting(
        "WAFLEET_CANARY_S", 300.0, unit="s", low=0.1,
        what="a canary tenant probes its peer this often",
    )  # fmt: skip
    canary_timeout_s: float = setting(
        "WAFLEET_CANARY_TIMEOUT_S", 60.0, unit="s", low=0.1,
        what="a probe not answered within this failed",
    )  # fmt: skip
    hang_s: float = setting(
        "WAFLEET_PAGE_HANG_S", 15.0, unit="s", low=0.1,
        what="a page silent this long is relaunched from the saved login",
    )  # fmt: skip
    save_s: float = setting(
        "WAFLEET_SESSION_SAVE_S", 300.0, unit="s", low=0.1, what="the login is saved"
    )
    qr_first_s: float = setting(
        "WAFLEET_QR_FIRST_S", 60.0, unit="s", low=0.1, what="the site's first code lasts"
    )
    qr_next_s: float = setting(
        "WAFLEET_QR_NEXT_S", 20.0, unit="s", low=0.1, what="each next code lasts"
    )
    qr_count: int = setting("WAFLEET_QR_COUNT", 6, low=1, what="codes in a rotation")
    pairing_code_s: float = setting(
        "WAFLEET_PAIRING_CODE_S", 195.0, unit="s", low=0.1,
        what="a pairing code lasts (wa-js's LINK_CODE_TTL_MS, 3.25 min, then the next)",
    )  # fmt: skip
    heartbeat_grace_s: float | None = setting(
        "WAFLEET_HEARTBEAT_GRACE_S", None, unit="s", above=0,
        what="no successful heartbeat this long: the session ends (unset: the stale threshold)",
    )  # fmt: skip
    wajs_bundle: Path = setting(
        "WAFLEET_WAJS_BUNDLE", DEFAULT_BUNDLE,
        what="the pinned wa-js bundle (image: /opt/wafleet/wppconnect-wa.js)",
    )  # fmt: skip
    page_load_s: float = setting(
        "WAFLEET_PAGE_LOAD_S", 60.0, unit="s", low=1, what="wa-js must be ready within"
    )
    page_call_s: float = setting(
        "WAFLEET_PAGE_CALL_S", 15.0, unit="s", low=0.5, what="any page call must answer within"
    )
    page_locale: str = setting("WAFLEET_PAGE_LOCALE", "en-US", what="the page's language")
    wa_version: str | None = setting(
        "WAFLEET_WA_VERSION", None, check=_version,
        what="pin every session to this WhatsApp Web version (a tenant's own pin wins)",
    )  # fmt: skip
    wa_catalog: Path = setting(
        "WAFLEET_WA_CATALOG", DEFAULT_CATALOG,
        what="@wppconnect/wa-version's pages to pin (image: /opt/wafleet/wa-version)",
    )  # fmt: skip
    settle_s: float = setting(
        "WAFLEET_SETTLE_S", 120.0, unit="s", low=0.1,
        what="linked but short of connected (syncing, resuming) longer than this: reload",
    )  # fmt: skip
    typing_ms_per_char: float = setting(
        "WAFLEET_TYPING_MS_PER_CHAR", 30.0, unit="ms", low=0,
        what='"typing…" before a reply, per character of it',
    )  # fmt: skip
    typing_max_ms: int = setting(
        "WAFLEET_TYPING_MAX_MS", 1500, unit="ms", low=0, what='"typing…" at the longest'
    )
    # Chromium's sandbox: on wherever the process is not root (the image runs unprivileged);
    # not a setting anyone can turn off, only what the process can do.
    sandbox: bool = dataclasses.field(default_factory=lambda: not sandbox_args())

    def chromium_args(self) -> list[str]:
        """A session's browser flags (``--no-sandbox`` only where the sandbox cannot run)."""
        return [*([] if self.sandbox else ["--no-sandbox"]), *WORKER_ARGS]

    def __post_init__(self) -> None:
        _bundle("WAFLEET_WAJS_BUNDLE", self.wajs_bundle)
        if self.wa_version is not None:
            known = catalog(self.wa_catalog).known().get(self.wa_version)
            if known is None or known.page is None:
                raise ConfigError(
                    f"WAFLEET_WA_VERSION: {self.wa_version} has no page in {self.wa_catalog}"
                    " (wa-version's versions; the image has those it was built with)"
                )
        if not self.session_bucket and not self.session_dir:
            raise ConfigError(
                "set WAFLEET_SESSION_BUCKET (AWS) or WAFLEET_SESSION_DIR (local) for the logins"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> WorkerConfig:
        """Read and validate; every error names its variable."""
        return read_env(cls, env, **given)

    def typing_ms(self, text: str) -> int:
        """How long "typing…" shows before ``text`` is sent."""
        return min(self.typing_max_ms, round(len(text) * self.typing_ms_per_char))


@dataclass(frozen=True)
class HostConfig:
    """Who this host is and its limits (its tenant count is ``Settings.host_tenants``)."""

    host_id: str = setting(
        "WAFLEET_HOST_ID", required="a host is started by the placer", what="which host this is"
    )
    memory_mb: float = setting(
        "WAFLEET_HOST_MEMORY_MB", 0.0, unit="MB", low=0,
        what="the task's memory (0: read the container's limit)",
    )  # fmt: skip
    poll_s: float = setting(
        "WAFLEET_HOST_POLL_S", 2.0, unit="s", above=0, what="the host reads its placements"
    )
    tenant_memory_mb: float = setting(
        "WAFLEET_TENANT_MEMORY_MB", 1500.0, unit="MB", above=0,
        what="a tenant's browser above this is relaunched from its login",
    )  # fmt: skip

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> HostConfig:
        """Read and validate; every error names its variable."""
        return read_env(cls, env, **given)
