"""The worker's own settings (on top of ``chalicelib.settings``), validated at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.errors import ConfigError
from chalicelib.launch.ecs import EPOCH_ENV, OWNER_ENV, TENANT_ENV

WHATSAPP_URL = "WAFLEET_WHATSAPP_URL"
CHROMIUM = "WAFLEET_CHROMIUM"
SESSION_DIR = "WAFLEET_SESSION_DIR"
SESSION_BUCKET = "WAFLEET_SESSION_BUCKET"
SESSION_KMS_KEY = "WAFLEET_SESSION_KMS_KEY"
RATE_PER_MIN = "WAFLEET_RATE_PER_MIN"
RATE_BURST = "WAFLEET_RATE_BURST"
RECONNECT_BASE_S = "WAFLEET_RECONNECT_BASE_S"
RECONNECT_CAP_S = "WAFLEET_RECONNECT_CAP_S"
RECONNECT_MAX = "WAFLEET_RECONNECT_MAX"
CONFLICT = "WAFLEET_CONFLICT"
PROBE_S = "WAFLEET_PAGE_PROBE_S"
SAVE_S = "WAFLEET_SESSION_SAVE_S"
QR_FIRST_S = "WAFLEET_QR_FIRST_S"
QR_NEXT_S = "WAFLEET_QR_NEXT_S"
QR_COUNT = "WAFLEET_QR_COUNT"
HEARTBEAT_GRACE_S = "WAFLEET_HEARTBEAT_GRACE_S"
WAJS_BUNDLE = "WAFLEET_WAJS_BUNDLE"
PAGE_LOAD_S = "WAFLEET_PAGE_LOAD_S"
PAGE_CALL_S = "WAFLEET_PAGE_CALL_S"
PAGE_LOCALE = "WAFLEET_PAGE_LOCALE"
WA_HTML = "WAFLEET_WA_HTML"
SETTLE_S = "WAFLEET_SETTLE_S"
TYPING_MS_PER_CHAR = "WAFLEET_TYPING_MS_PER_CHAR"
TYPING_MAX_MS = "WAFLEET_TYPING_MAX_MS"

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


# Every Chromium here starts with these: the sandbox unless root, nothing that phones home.
BASE_CHROMIUM_ARGS = [
    *sandbox_args(),
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_ARGS = [
    *BASE_CHROMIUM_ARGS,
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


@dataclass(frozen=True)
class WorkerConfig:
    """Who this worker is (tenant + lease) and how it behaves."""

    tenant_id: str
    owner_id: str
    epoch: int
    whatsapp_url: str = "https://web.whatsapp.com/"
    chromium: str = "/usr/bin/chromium"
    session_dir: Path | None = None
    session_bucket: str | None = None
    session_kms_key: str | None = None
    rate_per_min: float = 30.0
    rate_burst: int = 10
    reconnect_base_s: float = 2.0
    reconnect_cap_s: float = 60.0
    reconnect_max: int = 10
    conflict: str = "takeover"  # or "stop"
    probe_s: float = 10.0
    save_s: float = 300.0
    qr_first_s: float = 60.0
    qr_next_s: float = 20.0
    qr_count: int = 6
    heartbeat_grace_s: float | None = None  # default: the stale threshold
    wajs_bundle: Path = DEFAULT_BUNDLE
    page_load_s: float = 60.0
    page_call_s: float = 15.0
    page_locale: str = "en-US"
    wa_html: Path | None = None  # a pinned WhatsApp Web version's page (wa-version's html/)
    settle_s: float = 120.0  # authenticated but not connected longer than this: reload
    typing_ms_per_char: float = 30.0  # "typing…" before a reply, scaled by its length
    typing_max_ms: int = 1500

    def typing_ms(self, text: str) -> int:
        """How long "typing…" shows before ``text`` is sent."""
        return min(self.typing_max_ms, round(len(text) * self.typing_ms_per_char))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        """Read and validate; every error names its variable."""
        env = os.environ if env is None else env
        missing = [v for v in (TENANT_ENV, OWNER_ENV, EPOCH_ENV) if not env.get(v)]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: a worker is started by the launcher with its lease"
            )
        conflict = env.get(CONFLICT, "takeover")
        if conflict not in ("takeover", "stop"):
            raise ConfigError(f"{CONFLICT} must be 'takeover' or 'stop', got {conflict!r}")
        if not env.get(SESSION_BUCKET) and not env.get(SESSION_DIR):
            raise ConfigError(f"set {SESSION_BUCKET} (AWS) or {SESSION_DIR} (local) for the login")
        bundle = Path(env.get(WAJS_BUNDLE) or DEFAULT_BUNDLE)
        if not bundle.is_file():
            raise ConfigError(
                f"the wa-js bundle is missing at {bundle}: run 'make wajs' (npm ci) or set "
                f"{WAJS_BUNDLE}"
            )
        return cls(
            tenant_id=env[TENANT_ENV],
            owner_id=env[OWNER_ENV],
            epoch=_int(env, EPOCH_ENV, 0, low=1),
            whatsapp_url=env.get(WHATSAPP_URL, cls.whatsapp_url),
            chromium=env.get(CHROMIUM) or default_browser(),
            session_dir=Path(env[SESSION_DIR]) if env.get(SESSION_DIR) else None,
            session_bucket=env.get(SESSION_BUCKET) or None,
            session_kms_key=env.get(SESSION_KMS_KEY) or None,
            rate_per_min=_float(env, RATE_PER_MIN, 30.0, low=0),
            rate_burst=_int(env, RATE_BURST, 10, low=1),
            reconnect_base_s=_float(env, RECONNECT_BASE_S, 2.0, low=0.01),
            reconnect_cap_s=_float(env, RECONNECT_CAP_S, 60.0, low=0.01),
            reconnect_max=_int(env, RECONNECT_MAX, 10, low=1),
            conflict=conflict,
            probe_s=_float(env, PROBE_S, 10.0, low=0.05),
            save_s=_float(env, SAVE_S, 300.0, low=0.1),
            qr_first_s=_float(env, QR_FIRST_S, 60.0, low=0.1),
            qr_next_s=_float(env, QR_NEXT_S, 20.0, low=0.1),
            qr_count=_int(env, QR_COUNT, 6, low=1),
            heartbeat_grace_s=_float(env, HEARTBEAT_GRACE_S, 0, low=0) or None,
            wajs_bundle=bundle,
            page_load_s=_float(env, PAGE_LOAD_S, 60.0, low=1),
            page_call_s=_float(env, PAGE_CALL_S, 15.0, low=0.5),
            page_locale=env.get(PAGE_LOCALE) or "en-US",
            wa_html=_existing_file(env, WA_HTML),
            settle_s=_float(env, SETTLE_S, 120.0, low=0.1),
            typing_ms_per_char=_float(env, TYPING_MS_PER_CHAR, 30.0, low=0),
            typing_max_ms=_int(env, TYPING_MAX_MS, 1500, low=0),
        )


def _existing_file(env: Mapping[str, str], var: str) -> Path | None:
    raw = env.get(var)
    if not raw:
        return None
    if not Path(raw).is_file():
        raise ConfigError(f"{var} must name a file, got {raw!r}")
    return Path(raw)


def _float(env: Mapping[str, str], var: str, default: float, *, low: float) -> float:
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"{var} must be at least {low}, got {raw!r}")
    return value


def _int(env: Mapping[str, str], var: str, default: int, *, low: int) -> int:
    raw = env.get(var)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a whole number, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"{var} must be at least {low}, got {raw!r}")
    return value
