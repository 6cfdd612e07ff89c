"""ECS "Task State Change" events: a worker task that STOPPED is recorded within seconds."""

from __future__ import annotations

from typing import Any

from chalicelib.control.workers import worker_exited
from chalicelib.launch.ecs import EPOCH_ENV, TENANT_ENV


def handle_task_stopped(detail: dict[str, Any]) -> str:
    """Record the exit of the worker in ``detail``; duplicates and old epochs change nothing."""
    env = {}
    for override in (detail.get("overrides") or {}).get("containerOverrides") or []:
        for pair in override.get("environment") or []:
            env[pair.get("name")] = pair.get("value")
    tenant_id, epoch = env.get(TENANT_ENV), env.get(EPOCH_ENV)
    if not tenant_id or not epoch or not str(epoch).isdigit():
        return "ignored: not a wafleet worker task"
    exit_codes = [
        c.get("exitCode") for c in detail.get("containers") or [] if c.get("exitCode") is not None
    ]
    reason = detail.get("stoppedReason") or "task stopped"
    if exit_codes:
        reason = f"{reason} (exit code {exit_codes[0]})"
    worker_exited(tenant_id, int(epoch), reason[:160])
    return "recorded"
