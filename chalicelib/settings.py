"""One frozen settings object, read once from the environment.

An explicit argument beats the environment: tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.errors import ConfigError

TENANTS_TABLE = "WAFLEET_TENANTS_TABLE"
HISTORY_TABLE = "WAFLEET_HISTORY_TABLE"
MESSAGES_TABLE = "WAFLEET_MESSAGES_TABLE"
SETUP_TABLE = "WAFLEET_SETUP_TABLE"
EVENTS_TABLE = "WAFLEET_EVENTS_TABLE"
USERS_TABLE = "WAFLEET_USERS_TABLE"
HOOKS_TABLE = "WAFLEET_HOOKS_TABLE"
HOSTS_TABLE = "WAFLEET_HOSTS_TABLE"
HOST_TENANTS = "WAFLEET_HOST_TENANTS"
HOST_START_S = "WAFLEET_HOST_START_S"
AWS_ENDPOINT = "WAFLEET_AWS_ENDPOINT"  # SQS and SES endpoint (moto in make dev)
WEBHOOK_QUEUE_URL = "WAFLEET_WEBHOOK_QUEUE_URL"
WEBHOOK_DLQ_URL = "WAFLEET_WEBHOOK_DLQ_URL"
WEBHOOK_ALLOW_PRIVATE = "WAFLEET_WEBHOOK_ALLOW_PRIVATE"  # make dev only: loopback, plain http
WEBHOOK_GIVE_UP_S = "WAFLEET_WEBHOOK_GIVE_UP_S"
WEBHOOK_RETRY_S = "WAFLEET_WEBHOOK_RETRY_S"
WEBHOOK_TIMEOUT_S = "WAFLEET_WEBHOOK_TIMEOUT_S"
ALERT_FROM = "WAFLEET_ALERT_FROM"
ALERT_ERROR_AFTER_S = "WAFLEET_ALERT_ERROR_AFTER_S"
PORTAL_URL = "WAFLEET_PORTAL_URL"
REGION = "AWS_REGION"
DYNAMODB_ENDPOINT = "WAFLEET_DYNAMODB_ENDPOINT"
HEARTBEAT_S = "WAFLEET_HEARTBEAT_S"
STALE_S = "WAFLEET_STALE_S"
REAPER_S = "WAFLEET_REAPER_S"
JWT_ISSUER = "WAFLEET_JWT_ISSUER"
JWT_AUDIENCE = "WAFLEET_JWT_AUDIENCE"
JWKS_URL = "WAFLEET_JWKS_URL"
CURSOR_KEY = "WAFLEET_CURSOR_KEY"
AUTO_RESTART = "WAFLEET_AUTO_RESTART"
LAUNCHER = "WAFLEET_LAUNCHER"
ECS_CLUSTER = "WAFLEET_ECS_CLUSTER"
ECS_TASK_DEFINITION = "WAFLEET_ECS_TASK_DEFINITION"
ECS_CONTAINER = "WAFLEET_ECS_CONTAINER"
ECS_SUBNETS = "WAFLEET_ECS_SUBNETS"
ECS_SECURITY_GROUPS = "WAFLEET_ECS_SECURITY_GROUPS"
LAUNCHERS = ("local", "ecs")

_TABLE_DEFAULTS = {
    TENANTS_TABLE: "wafleet-tenants",
    HISTORY_TABLE: "wafleet-history",
    MESSAGES_TABLE: "wafleet-messages",
    SETUP_TABLE: "wafleet-setup-requests",
    EVENTS_TABLE: "wafleet-portal-events",
    USERS_TABLE: "wafleet-users",
    HOOKS_TABLE: "wafleet-hooks",
    HOSTS_TABLE: "wafleet-hosts",
}


@dataclass(frozen=True)
class Settings:
    """Everything wafleet reads from its environment, validated."""

    tenants_table: str = _TABLE_DEFAULTS[TENANTS_TABLE]
    history_table: str = _TABLE_DEFAULTS[HISTORY_TABLE]
    messages_table: str = _TABLE_DEFAULTS[MESSAGES_TABLE]
    setup_table: str = _TABLE_DEFAULTS[SETUP_TABLE]
    events_table: str = _TABLE_DEFAULTS[EVENTS_TABLE]
    users_table: str = _TABLE_DEFAULTS[USERS_TABLE]
    hooks_table: str = _TABLE_DEFAULTS[HOOKS_TABLE]
    hosts_table: str = _TABLE_DEFAULTS[HOSTS_TABLE]
    region: str = "us-east-1"
    dynamodb_endpoint: str | None = None
    heartbeat_s: float = 15.0
    stale_s: float = 45.0
    reaper_s: float = 60.0
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_url: str | None = None
    cursor_key: str | None = None  # HMAC key of page cursors (Secrets Manager in AWS)
    auto_restart: bool = False  # the reaper restarts crashed workers (crash-loop backoff)
    launcher: str = "local"
    # Tenants per worker host (one task, one Python and Playwright, a Chromium per tenant);
    # 0 runs one task per tenant, as before hosts existed.
    host_tenants: int = 0
    host_start_s: float = 180.0  # a host not heartbeating yet counts as starting this long
    ecs_cluster: str | None = None
    ecs_task_definition: str | None = None
    ecs_container: str = "worker"
    ecs_subnets: tuple[str, ...] = ()
    ecs_security_groups: tuple[str, ...] = ()
    aws_endpoint: str | None = None
    webhook_queue_url: str | None = None
    webhook_dlq_url: str | None = None
    webhook_allow_private: bool = False
    webhook_give_up_s: float = 24 * 3600.0  # retry for a day, then the dead-letter queue
    webhook_retry_s: float = 2.0  # first retry delay; doubles, with full jitter, capped at 1 h
    webhook_timeout_s: float = 5.0
    alert_from: str | None = None  # SES identity the owner alerts come from
    alert_error_after_s: float = 300.0  # ERROR this long before the owner is mailed
    portal_url: str = "http://127.0.0.1:8000"

    @property
    def stale_ms(self) -> int:
        """The stale threshold in milliseconds."""
        return int(self.stale_s * 1000)

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0:
            raise ConfigError(f"{HEARTBEAT_S} must be positive, got {self.heartbeat_s}")
        if self.stale_s <= self.heartbeat_s:
            raise ConfigError(
                f"{STALE_S} ({self.stale_s}) must be longer than {HEARTBEAT_S} ({self.heartbeat_s})"
            )
        if self.reaper_s <= 0:
            raise ConfigError(f"{REAPER_S} must be positive, got {self.reaper_s}")
        if self.launcher not in LAUNCHERS:
            raise ConfigError(f"{LAUNCHER} must be one of {LAUNCHERS}, got {self.launcher!r}")
        if not 0 <= self.host_tenants <= 100:
            raise ConfigError(f"{HOST_TENANTS} must be 0 to 100, got {self.host_tenants}")
        if self.launcher == "ecs" and not (self.ecs_cluster and self.ecs_task_definition):
            raise ConfigError(f"{LAUNCHER}=ecs needs {ECS_CLUSTER} and {ECS_TASK_DEFINITION}")
        for var, url in ((JWKS_URL, self.jwks_url), (DYNAMODB_ENDPOINT, self.dynamodb_endpoint)):
            if url is not None and not url.startswith(("http://", "https://", "file://")):
                raise ConfigError(f"{var} must be an http(s) or file URL, got {url!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); errors name the variable."""
        env = os.environ if env is None else env
        tables = {}
        for var, default in _TABLE_DEFAULTS.items():
            name = env.get(var, default)
            if not name or len(name) > 255 or not all(c.isalnum() or c in "-_." for c in name):
                raise ConfigError(f"{var} is not a valid DynamoDB table name: {name!r}")
            tables[var] = name
        region = env.get(REGION) or env.get("AWS_DEFAULT_REGION")
        if not region:
            raise ConfigError(f"{REGION} is not set (the AWS region of the tables)")
        endpoint = env.get(DYNAMODB_ENDPOINT) or None
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"{DYNAMODB_ENDPOINT} must be an http(s) URL, got {endpoint!r}")
        optional = {var: env.get(var) or None for var in (JWT_ISSUER, JWT_AUDIENCE, JWKS_URL)}
        return cls(
            tenants_table=tables[TENANTS_TABLE],
            history_table=tables[HISTORY_TABLE],
            messages_table=tables[MESSAGES_TABLE],
            setup_table=tables[SETUP_TABLE],
            events_table=tables[EVENTS_TABLE],
            users_table=tables[USERS_TABLE],
            hooks_table=tables[HOOKS_TABLE],
            hosts_table=tables[HOSTS_TABLE],
            region=region,
            dynamodb_endpoint=endpoint,
            heartbeat_s=env_seconds(env, HEARTBEAT_S, 15.0),
            stale_s=env_seconds(env, STALE_S, 45.0),
            reaper_s=env_seconds(env, REAPER_S, 60.0),
            jwt_issuer=optional[JWT_ISSUER],
            jwt_audience=optional[JWT_AUDIENCE],
            jwks_url=optional[JWKS_URL],
            cursor_key=env.get(CURSOR_KEY) or None,
            auto_restart=env.get(AUTO_RESTART) == "1",
            launcher=env.get(LAUNCHER) or "local",
            host_tenants=_whole(env, HOST_TENANTS, 0),
            host_start_s=env_seconds(env, HOST_START_S, 180.0),
            ecs_cluster=env.get(ECS_CLUSTER) or None,
            ecs_task_definition=env.get(ECS_TASK_DEFINITION) or None,
            ecs_container=env.get(ECS_CONTAINER) or "worker",
            ecs_subnets=_csv(env.get(ECS_SUBNETS)),
            ecs_security_groups=_csv(env.get(ECS_SECURITY_GROUPS)),
            aws_endpoint=env.get(AWS_ENDPOINT) or None,
            webhook_queue_url=env.get(WEBHOOK_QUEUE_URL) or None,
            webhook_dlq_url=env.get(WEBHOOK_DLQ_URL) or None,
            webhook_allow_private=env.get(WEBHOOK_ALLOW_PRIVATE) == "1",
            webhook_give_up_s=env_seconds(env, WEBHOOK_GIVE_UP_S, 24 * 3600.0),
            webhook_retry_s=env_seconds(env, WEBHOOK_RETRY_S, 2.0),
            webhook_timeout_s=env_seconds(env, WEBHOOK_TIMEOUT_S, 5.0),
            alert_from=env.get(ALERT_FROM) or None,
            alert_error_after_s=env_seconds(env, ALERT_ERROR_AFTER_S, 300.0),
            portal_url=env.get(PORTAL_URL) or "http://127.0.0.1:8000",
        )

    def as_env(self) -> dict[str, str]:
        """The environment that ``from_env`` turns back into these settings (for subprocesses)."""
        env = {
            TENANTS_TABLE: self.tenants_table,
            HISTORY_TABLE: self.history_table,
            MESSAGES_TABLE: self.messages_table,
            SETUP_TABLE: self.setup_table,
            EVENTS_TABLE: self.events_table,
            USERS_TABLE: self.users_table,
            HOOKS_TABLE: self.hooks_table,
            HOSTS_TABLE: self.hosts_table,
            REGION: self.region,
            HEARTBEAT_S: repr(self.heartbeat_s),
            STALE_S: repr(self.stale_s),
            REAPER_S: repr(self.reaper_s),
        }
        optional = {
            DYNAMODB_ENDPOINT: self.dynamodb_endpoint,
            JWT_ISSUER: self.jwt_issuer,
            JWT_AUDIENCE: self.jwt_audience,
            JWKS_URL: self.jwks_url,
            CURSOR_KEY: self.cursor_key,
            ECS_CLUSTER: self.ecs_cluster,
            ECS_TASK_DEFINITION: self.ecs_task_definition,
            AWS_ENDPOINT: self.aws_endpoint,
            WEBHOOK_QUEUE_URL: self.webhook_queue_url,
            WEBHOOK_DLQ_URL: self.webhook_dlq_url,
            ALERT_FROM: self.alert_from,
        }
        env.update({var: value for var, value in optional.items() if value})
        env[LAUNCHER] = self.launcher
        env[HOST_TENANTS] = str(self.host_tenants)
        env[HOST_START_S] = repr(self.host_start_s)
        if self.auto_restart:
            env[AUTO_RESTART] = "1"
        env[ECS_CONTAINER] = self.ecs_container
        if self.webhook_allow_private:
            env[WEBHOOK_ALLOW_PRIVATE] = "1"
        env[WEBHOOK_GIVE_UP_S] = repr(self.webhook_give_up_s)
        env[WEBHOOK_RETRY_S] = repr(self.webhook_retry_s)
        env[WEBHOOK_TIMEOUT_S] = repr(self.webhook_timeout_s)
        env[ALERT_ERROR_AFTER_S] = repr(self.alert_error_after_s)
        env[PORTAL_URL] = self.portal_url
        if self.ecs_subnets:
            env[ECS_SUBNETS] = ",".join(self.ecs_subnets)
        if self.ecs_security_groups:
            env[ECS_SECURITY_GROUPS] = ",".join(self.ecs_security_groups)
        return env


def env_seconds(env: Mapping[str, str], var: str, default: float) -> float:
    """A positive number of seconds from ``env[var]`` (``default`` when unset); errors name it."""
    raw = env.get(var)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a number of seconds, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{var} must be a positive number of seconds, got {raw!r}")
    return value


def _whole(env: Mapping[str, str], var: str, default: int) -> int:
    raw = env.get(var)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a whole number, got {raw!r}") from None


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())
