"""What the control plane starts sessions with: a ``Launcher`` places a tenant's session on a
host (``placer.HostPlacer``); a ``HostRunner`` starts and stops the hosts themselves (ECS
tasks, ``ecs.EcsHosts``; or child processes, ``local.LocalHosts``)."""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.errors import WafleetError
from chalicelib.domain.values import Lease


class LaunchError(WafleetError):
    """The platform refused to start a worker."""

    code = "launch_failed"


class Launcher(Protocol):
    """Starts a session holding ``lease``; stops one by the reference ``launch`` returned."""

    def launch(self, lease: Lease) -> str:
        """Start a session for the lease; returns its reference (``host:<host>:<tenant>``)."""
        ...

    def stop(self, task_ref: str, reason: str) -> None:
        """Take the session away; best effort, never raises for gone sessions."""
        ...


class HostRunner(Protocol):
    """Starts and stops host tasks."""

    def start_host(self, host_id: str) -> str:
        """Start the task that runs host ``host_id``; returns its reference (ARN, pid)."""
        ...

    def stop_host(self, ref: str, reason: str) -> None:
        """Stop it (SIGTERM, then SIGKILL after the stop timeout); best effort."""
        ...
