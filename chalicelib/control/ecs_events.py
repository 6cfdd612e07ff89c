"""ECS "Task State Change" events: a host task that STOPPED (killed, Spot reclaimed, drained)
has its tenants moved within seconds."""

from __future__ import annotations

from typing import Any

from chalicelib.launch.ecs import HOST_ENV


def handle_task_stopped(detail: dict[str, Any]) -> str:
    """Move the tenants of the host in ``detail``; duplicates change nothing."""
    env = {}
    for override in (detail.get("overrides") or {}).get("containerOverrides") or []:
        for pair in override.get("environment") or []:
            env[pair.get("name")] = pair.get("value")
    host_id = env.get(HOST_ENV)
    if not host_id:
        return "ignored: not a wafleet host task"
    exit_codes = [
        c.get("exitCode") for c in detail.get("containers") or [] if c.get("exitCode") is not None
    ]
    reason = detail.get("stoppedReason") or "task stopped"
    if exit_codes:
        reason = f"{reason} (exit code {exit_codes[0]})"
    from chalicelib.control.workers import host_lost

    moved = host_lost(str(host_id), reason[:160])
    return f"host lost: {len(moved)} tenants moved"
