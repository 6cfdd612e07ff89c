"""Every setting, declared once: its type, default, bounds and environment name.

``Settings`` is what the control plane and the store read; the worker host's own settings
(``worker_container/config.py``) are declared the same way. Each field carries its ``Var``
(``setting(...)``); ``from_env`` reads and validates them, ``as_env`` writes them back (for
subprocesses), and ``env_for`` spells a few of them for infra/ (the task and Lambda
environments). An explicit argument beats the environment: tests build ``Settings(...)``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chalicelib.domain.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Var:
    """How one setting is read from the environment."""

    env: str
    unit: str = ""  # "s", "MB", "ms": named in errors
    low: float | None = None  # inclusive
    above: float | None = None  # exclusive
    high: float | None = None  # inclusive
    choices: tuple[str, ...] = ()
    check: Callable[[str, Any], None] | None = None  # raises ConfigError naming the variable
    required: str = ""  # what it is, when there is no default
    fallback: str = ""  # another variable read when ``env`` is unset
    what: str = ""  # what it means, for the README's table (``settings_table``)


def setting(env: str, default: Any = dataclasses.MISSING, **rules: Any) -> Any:
    """A dataclass field read from ``env`` by the rules of ``Var``."""
    metadata = {"var": Var(env, **rules)}
    if isinstance(default, list | dict | set):
        raise TypeError("settings are immutable: use a tuple")
    return dataclasses.field(default=default, metadata=metadata)


def _vars(cls: type) -> list[tuple[dataclasses.Field[Any], Var, Any]]:
    hints = typing.get_type_hints(cls)
    return [
        (f, f.metadata["var"], hints[f.name])
        for f in dataclasses.fields(cls)
        if "var" in f.metadata
    ]


def read_env(cls: type[T], env: Mapping[str, str] | None = None, **given: Any) -> T:
    """Build ``cls`` from ``env`` (default ``os.environ``); ``given`` values win. Every error
    names its variable."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f, var, kind in _vars(cls):
        if f.name in given:
            continue
        raw = env.get(var.env) or (env.get(var.fallback) if var.fallback else None)
        if raw is None or raw == "":
            if var.required:
                raise ConfigError(f"{var.env} is not set ({var.required})")
            continue
        values[f.name] = _parse(kind, raw, var)
    return cls(**values, **given)


def write_env(obj: Any) -> dict[str, str]:
    """The environment ``read_env`` turns back into ``obj``."""
    out = {}
    for f, var, _kind in _vars(type(obj)):
        text = _spell(getattr(obj, f.name))
        if text is not None:
            out[var.env] = text
    return out


def settings_table(*classes: type) -> str:
    """The settings of ``classes`` as a Markdown table (the README's, checked by a test)."""
    rows = ["| variable | default | bounds | meaning |", "|---|---|---|---|"]
    for cls in classes:
        for f, var, _kind in _vars(cls):
            value = f.default
            if isinstance(value, Path) and "node_modules" in value.parts:
                value = Path(*value.parts[value.parts.index("node_modules") :])
            default = "(required)" if var.required else (_spell(value) or "unset")
            if isinstance(value, float):
                default = f"{value:g}"
            bounds = ", ".join(
                part
                for part in (
                    f"≥ {var.low:g}" if var.low is not None else "",
                    f"> {var.above:g}" if var.above is not None else "",
                    f"≤ {var.high:g}" if var.high is not None else "",
                    " or ".join(var.choices),
                )
                if part
            )
            unit = f" {var.unit}" if var.unit and default != "unset" else ""
            rows.append(f"| `{var.env}` | {default}{unit} | {bounds} | {var.what} |")
    return "\n".join(rows)


def env_for(cls: type, **values: Any) -> dict[str, str]:
    """The environment variables of some settings of ``cls`` (infra/ builds task and function
    environments with it; values may be deploy-time tokens, spelled as they are)."""
    by_name = {f.name: var for f, var, _kind in _vars(cls)}
    unknown = set(values) - set(by_name)
    if unknown:
        raise TypeError(f"{cls.__name__} has no settings {sorted(unknown)}")
    return {
        by_name[name].env: text for name, v in values.items() if (text := _spell(v)) is not None
    }


def _spell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else None
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _parse(kind: Any, raw: str, var: Var) -> Any:
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if isinstance(kind, types.UnionType) and len(args) == 1:
        kind = args[0]
    value: Any
    if kind is bool:
        if raw.lower() not in ("1", "0", "true", "false"):
            raise ConfigError(f"{var.env} must be 1 or 0, got {raw!r}")
        value = raw.lower() in ("1", "true")
    elif kind in (int, float):
        value = _number(kind, raw, var)
    elif kind is Path:
        value = Path(raw)
    elif typing.get_origin(kind) is tuple:
        value = tuple(part.strip() for part in raw.split(",") if part.strip())
    else:
        value = raw
        if var.choices and raw not in var.choices:
            raise ConfigError(f"{var.env} must be one of {', '.join(var.choices)}, got {raw!r}")
    if var.check is not None:
        var.check(var.env, value)
    return value


def _number(kind: type, raw: str, var: Var) -> float | int:
    what = {"s": "a number of seconds", "ms": "a number of milliseconds", "MB": "megabytes"}
    words = what.get(var.unit, "a whole number" if kind is int else "a number")
    try:
        value: float | int = kind(raw)
    except ValueError:
        raise ConfigError(f"{var.env} must be {words}, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{var.env} must be {words}, got {raw!r}")
    if var.low is not None and value < var.low:
        raise ConfigError(f"{var.env} must be at least {var.low:g}, got {raw!r}")
    if var.above is not None and not value > var.above:
        raise ConfigError(f"{var.env} must be more than {var.above:g}, got {raw!r}")
    if var.high is not None and value > var.high:
        raise ConfigError(f"{var.env} must be at most {var.high:g}, got {raw!r}")
    return value


def table_name(env: str, name: str) -> None:
    """A valid DynamoDB table name."""
    if not name or len(name) > 255 or not all(c.isalnum() or c in "-_." for c in name):
        raise ConfigError(f"{env} is not a valid DynamoDB table name: {name!r}")


def url(env: str, value: str) -> None:
    """An http(s) URL."""
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{env} must be an http(s) URL, got {value!r}")


def url_or_file(env: str, value: str) -> None:
    """An http(s) or file URL (a key set on disk: make dev's issuer)."""
    if not value.startswith(("http://", "https://", "file://")):
        raise ConfigError(f"{env} must be an http(s) or file URL, got {value!r}")


def _table(env: str, default: str) -> Any:
    holds = default.removeprefix("wafleet-").replace("-", " ")
    return setting(env, default, check=table_name, what=f"the {holds} table")


LAUNCHERS = ("local", "ecs")


@dataclass(frozen=True)
class Settings:
    """Everything the control plane and the store read from their environment, validated."""

    tenants_table: str = _table("WAFLEET_TENANTS_TABLE", "wafleet-tenants")
    history_table: str = _table("WAFLEET_HISTORY_TABLE", "wafleet-history")
    messages_table: str = _table("WAFLEET_MESSAGES_TABLE", "wafleet-messages")
    setup_table: str = _table("WAFLEET_SETUP_TABLE", "wafleet-setup-requests")
    events_table: str = _table("WAFLEET_EVENTS_TABLE", "wafleet-portal-events")
    users_table: str = _table("WAFLEET_USERS_TABLE", "wafleet-users")
    hooks_table: str = _table("WAFLEET_HOOKS_TABLE", "wafleet-hooks")
    hosts_table: str = _table("WAFLEET_HOSTS_TABLE", "wafleet-hosts")
    region: str = setting(
        "AWS_REGION", "us-east-1", fallback="AWS_DEFAULT_REGION",
        required="the AWS region of the tables", what="the region of the tables",
    )  # fmt: skip
    dynamodb_endpoint: str | None = setting(
        "WAFLEET_DYNAMODB_ENDPOINT", None, check=url, what="a local DynamoDB (moto)"
    )
    heartbeat_s: float = setting(
        "WAFLEET_HEARTBEAT_S", 15.0, unit="s", above=0, what="sessions and hosts write a heartbeat"
    )
    stale_s: float = setting(
        "WAFLEET_STALE_S", 45.0, unit="s", above=0, what="a heartbeat older than this is stale"
    )
    reaper_s: float = setting(
        "WAFLEET_REAPER_S", 60.0, unit="s", above=0, what="the reaper runs (make dev's loop)"
    )
    jwt_issuer: str | None = setting("WAFLEET_JWT_ISSUER", None, what="tokens' issuer")
    jwt_audience: str | None = setting("WAFLEET_JWT_AUDIENCE", None, what="tokens' audience")
    jwks_url: str | None = setting(
        "WAFLEET_JWKS_URL", None, check=url_or_file, what="the issuer's signing keys"
    )
    cursor_key: str | None = setting(
        "WAFLEET_CURSOR_KEY", None, what="HMAC key of page cursors (random per process if unset)"
    )
    auto_restart: bool = setting(
        "WAFLEET_AUTO_RESTART", False, what="the reaper restarts crashed bots (crash-loop backoff)"
    )
    launcher: str = setting(
        "WAFLEET_LAUNCHER", "local", choices=LAUNCHERS,
        what="where hosts run: child processes here, or ECS tasks",
    )  # fmt: skip
    host_tenants: int = setting(
        "WAFLEET_HOST_TENANTS", 20, low=1, high=100,
        what="tenants per worker host (AWS: 34, from bench/packing.py)",
    )  # fmt: skip
    host_start_s: float = setting(
        "WAFLEET_HOST_START_S", 180.0, unit="s", above=0,
        what="a host not heartbeating yet counts as starting this long",
    )  # fmt: skip
    ecs_cluster: str | None = setting("WAFLEET_ECS_CLUSTER", None, what="ECS: the cluster")
    ecs_task_definition: str | None = setting(
        "WAFLEET_ECS_TASK_DEFINITION", None, what="ECS: the host's task definition"
    )
    ecs_container: str = setting("WAFLEET_ECS_CONTAINER", "worker", what="ECS: its container")
    ecs_subnets: tuple[str, ...] = setting(
        "WAFLEET_ECS_SUBNETS", (), what="ECS: subnets (comma-separated)"
    )
    ecs_security_groups: tuple[str, ...] = setting(
        "WAFLEET_ECS_SECURITY_GROUPS", (), what="ECS: security groups (comma-separated)"
    )
    aws_endpoint: str | None = setting(
        "WAFLEET_AWS_ENDPOINT", None, check=url, what="SQS, SES, S3 endpoint (moto in make dev)"
    )
    media_bucket: str | None = setting(
        "WAFLEET_MEDIA_BUCKET", None, what="pictures and PDFs answers carry (S3; none: no files)"
    )
    webhook_queue_url: str | None = setting(
        "WAFLEET_WEBHOOK_QUEUE_URL", None, what="the webhook delivery queue"
    )
    webhook_dlq_url: str | None = setting(
        "WAFLEET_WEBHOOK_DLQ_URL", None, what="its dead-letter queue"
    )
    webhook_local_receivers: tuple[str, ...] = setting(
        "WAFLEET_WEBHOOK_LOCAL_RECEIVERS", (),
        what="make dev only: origins of its own loopback receivers (comma-separated), the only "
        "plain-http or non-public endpoints accepted",
    )  # fmt: skip
    webhook_give_up_s: float = setting(
        "WAFLEET_WEBHOOK_GIVE_UP_S", 24 * 3600.0, unit="s", above=0,
        what="a delivery is retried this long, then dead-lettered",
    )  # fmt: skip
    webhook_retry_s: float = setting(
        "WAFLEET_WEBHOOK_RETRY_S", 2.0, unit="s", above=0,
        what="first retry delay; doubles, with full jitter, up to 1 h",
    )  # fmt: skip
    webhook_timeout_s: float = setting(
        "WAFLEET_WEBHOOK_TIMEOUT_S", 5.0, unit="s", above=0,
        what="a delivery attempt's whole time: connect, TLS, headers and body",
    )  # fmt: skip
    alert_from: str | None = setting(
        "WAFLEET_ALERT_FROM", None, what="owner e-mails' SES sender (none sent without it)"
    )
    alert_error_after_s: float = setting(
        "WAFLEET_ALERT_ERROR_AFTER_S", 300.0, unit="s", above=0,
        what="an error lasts this long before the owner is mailed",
    )  # fmt: skip
    portal_url: str = setting(
        "WAFLEET_PORTAL_URL", "http://127.0.0.1:8000", check=url, what="the link in e-mails"
    )

    @property
    def stale_ms(self) -> int:
        """The stale threshold in milliseconds."""
        return int(self.stale_s * 1000)

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0:
            raise ConfigError(f"WAFLEET_HEARTBEAT_S must be positive, got {self.heartbeat_s}")
        if self.stale_s <= self.heartbeat_s:
            raise ConfigError(
                f"WAFLEET_STALE_S ({self.stale_s}) must be longer than "
                f"WAFLEET_HEARTBEAT_S ({self.heartbeat_s})"
            )
        if self.launcher not in LAUNCHERS:
            raise ConfigError(f"WAFLEET_LAUNCHER must be one of {LAUNCHERS}")
        if not 1 <= self.host_tenants <= 100:
            raise ConfigError(f"WAFLEET_HOST_TENANTS must be 1 to 100, got {self.host_tenants}")
        if self.launcher == "ecs" and not (self.ecs_cluster and self.ecs_task_definition):
            raise ConfigError(
                "WAFLEET_LAUNCHER=ecs needs WAFLEET_ECS_CLUSTER and WAFLEET_ECS_TASK_DEFINITION"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate ``env`` (default ``os.environ``); errors name the variable."""
        return read_env(cls, env)

    def as_env(self) -> dict[str, str]:
        """The environment that ``from_env`` turns back into these settings."""
        return write_env(self)
