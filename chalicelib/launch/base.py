"""The launcher interface the control plane uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from chalicelib.domain.errors import WafleetError
from chalicelib.domain.values import Lease

ExitCallback = Callable[[str, int, str], None]
"""Called with (tenant_id, epoch, reason) when a worker process ends (local launcher)."""


class LaunchError(WafleetError):
    """The platform refused to start a worker."""

    code = "launch_failed"


class Launcher(Protocol):
    """Starts a worker holding ``lease``; stops one by the reference ``launch`` returned."""

    def launch(self, lease: Lease) -> str:
        """Start a worker for the lease; returns a task reference (ARN, pid)."""
        ...

    def stop(self, task_ref: str, reason: str) -> None:
        """Ask the worker to stop (SIGTERM / StopTask); best effort, never raises for gone tasks."""
        ...
