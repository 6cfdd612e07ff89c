"""Worker entry point: validate the environment and DynamoDB access, then run the bot."""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import observability
from chalicelib.domain.errors import ConfigError, NotFoundError
from chalicelib.settings import Settings
from worker_container.bot import Bot, ExitCode
from worker_container.config import WorkerConfig
from worker_container.session_store import FolderStore, S3Store, SessionStore

logger = logging.getLogger("wafleet.worker")


def session_store(config: WorkerConfig, settings: Settings) -> SessionStore:
    """S3 (AWS) or a local folder, as configured."""
    if config.session_bucket:
        import boto3

        client = boto3.client("s3", region_name=settings.region)
        return S3Store(client, config.session_bucket, config.tenant_id, config.session_kms_key)
    assert config.session_dir is not None
    return FolderStore(config.session_dir, config.tenant_id)


def check_store(config: WorkerConfig, settings: Settings) -> None:
    """Fail fast, with a clear message, when DynamoDB cannot be read."""
    from pynamodb.exceptions import PynamoDBException

    from chalicelib.store import models, tenants

    models.bind(settings)
    try:
        tenants.get_tenant(config.tenant_id, consistent=True)
    except NotFoundError:
        raise ConfigError(
            f"tenant {config.tenant_id} not found in table {settings.tenants_table}"
        ) from None
    except PynamoDBException as exc:
        raise ConfigError(
            f"cannot read table {settings.tenants_table} in {settings.region}: "
            f"{exc.cause_response_code or type(exc.cause).__name__}"
        ) from None


def engine_for(config: WorkerConfig, playwright: Any = None) -> Any:
    """The wa-js engine for one tenant (on a host, sharing the host's Playwright driver)."""
    from worker_container.config import CHROMIUM_ARGS
    from worker_container.wajs import WaJsEngine

    return WaJsEngine(
        url=config.whatsapp_url,
        chromium=config.chromium,
        args=CHROMIUM_ARGS,
        bundle=config.wajs_bundle,
        call_timeout_s=config.page_call_s,
        load_timeout_s=config.page_load_s,
        locale=config.page_locale,
        pinned_html=config.wa_html,
        playwright=playwright,
    )


def run(config: WorkerConfig | None = None, settings: Settings | None = None) -> int:
    """Run one worker to completion; returns its exit code."""
    observability.configure_logging("wafleet-worker")
    try:
        config = config or WorkerConfig.from_env()
        settings = settings or Settings.from_env()
        check_store(config, settings)
    except ConfigError as exc:
        logger.error("worker cannot start: %s", exc)
        print(f"wafleet worker: {exc}", file=sys.stderr)
        return int(ExitCode.CONFIG)
    from chalicelib.domain.clock import SystemClock
    from chalicelib.store.models import shared_connection
    from chalicelib.store.server_clock import ServerClock

    # Heartbeat times are compared with the reaper's clock: correct ours to DynamoDB's.
    clock = ServerClock(SystemClock())
    clock.attach(shared_connection().client)
    from worker_container.config import CHROMIUM_ARGS

    if "--no-sandbox" in CHROMIUM_ARGS:
        logger.warning(
            "running as root: Chromium's sandbox is off (the worker image runs unprivileged "
            "with it on)",
            extra={"tenant_id": config.tenant_id},
        )
    engine = engine_for(config)
    from chalicelib.domain.values import Lease
    from worker_container.store_port import DynamoStore

    store = DynamoStore(Lease(config.tenant_id, config.owner_id, config.epoch))
    bot = Bot(config, settings, session_store(config, settings), engine, store, clock=clock)
    try:
        return int(asyncio.run(_run(bot)))
    except Exception:
        logger.exception("worker failed", extra={"tenant_id": config.tenant_id})
        return int(ExitCode.UNEXPECTED)


async def _run(bot: Bot) -> ExitCode:
    # A few threads suffice for DynamoDB calls; fewer threads, fewer malloc arenas, less RSS.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=3))
    return await bot.run()


def main() -> None:
    """``python -m worker_container``: the container's command. With a host id it runs a
    host of several tenants; with a lease, one tenant's worker."""
    import os

    from chalicelib.launch.ecs import HOST_ENV

    if os.environ.get(HOST_ENV):
        from worker_container import host

        sys.exit(host.run())
    sys.exit(run())
