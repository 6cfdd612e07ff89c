"""What the benchmarks share: worker hosts started by the placer as child processes, exactly as
``make dev`` and ECS start them (``chalicelib.launch.local.LocalHosts``)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = TypeVar("T")


def until(check: Callable[[], T | None], timeout: float = 60, step: float = 0.01) -> T:
    """Poll a real process's effect to a deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        threading.Event().wait(step)
    raise TimeoutError(str(check))


def hosts_for(settings: Any, env: dict[str, str], **worker: Any) -> Any:
    """Configure the control plane to place tenants on local host processes run with
    ``settings``, the extra ``env`` and these ``WorkerConfig`` settings; returns the runner."""
    from chalicelib.control import runtime
    from chalicelib.control.workers import host_exited
    from chalicelib.domain.clock import SystemClock
    from chalicelib.launch.local import LocalHosts
    from chalicelib.launch.placer import HostPlacer
    from chalicelib.settings import env_for
    from devstack.local_aws import fake_credentials
    from worker_container.config import WorkerConfig

    started = {
        **settings.as_env(),
        **fake_credentials(),
        **env,
        **env_for(WorkerConfig, **worker),
    }
    runner = LocalHosts(started, on_host_exit=host_exited, stop_timeout_s=5)
    runtime.configure(settings, launcher=HostPlacer(settings, SystemClock(), runner=runner))
    return runner


def host_pid(tenant_id: str) -> int:
    """The process of the host that runs ``tenant_id``."""
    from chalicelib.store import hosts, tenants

    placed = hosts.parse_ref(tenants.get_tenant(tenant_id, consistent=True).task_ref)
    assert placed is not None, "not on a host"
    ref = until(lambda: hosts.get_host(placed[0]).task_ref)
    return int(str(ref).split(":")[1])
