"""ECS "Task State Change" events: a worker task that STOPPED is recorded within seconds; a
host task that STOPPED (killed, Spot reclaimed, drained) has its tenants moved."""

from __future__ import annotations

from typing import Any

from chalicelib.control.workers import worker_exited
from chalicelib.launch.ecs import EPOCH_ENV, HOST_ENV, TENANT_ENV


def handle_task_stopped(detail: dict[str, Any]) -> str:
    """Record the exit of the worker in ``detail``; duplicates and old epochs change nothing."""
    env = {}
    for override in (detail.get("overrides") or {}).get("containerOverrides") or []:
        for pair in override.get("environment") or []:
            env[pair.get("name")] = pair.get("value")
    exit_codes = [
        c.get("exitCode") for c in detail.get("containers") or [] if c.get("exitCode") is not None
    ]
    reason = detail.get("stoppedReason") or "task stopped"
    if exit_codes:
        reason = f"{reason} (exit code {exit_codes[0]})"
    host_id = env.get(HOST_ENV)
    if host_id:
        from chalicelib.control.workers import host_lost

        moved = host_lost(str(host_id), reason[:160])
        return f"host lost: {len(moved)} tenants moved"
    tenant_id, epoch = env.get(TENANT_ENV), env.get(EPOCH_ENV)
    if not tenant_id or not epoch or not str(epoch).isdigit():
        return "ignored: not a wafleet worker task"
    worker_exited(tenant_id, int(epoch), reason[:160])
    return "recorded"
