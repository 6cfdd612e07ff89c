"""The launcher: places a tenant's session on a live host with room, or starts a new host (ECS
task or local process) when none has room.

``launch`` returns ``host:<host id>:<tenant id>``; ``stop`` takes that placement away, and
the host stops the session on its next read of its placements.
"""

from __future__ import annotations

import logging

from chalicelib.domain.clock import Clock
from chalicelib.domain.errors import ConcurrentUpdateError
from chalicelib.domain.values import Lease
from chalicelib.launch.base import HostRunner, LaunchError
from chalicelib.settings import Settings
from chalicelib.store import hosts
from chalicelib.store.models import HostModel

logger = logging.getLogger(__name__)
NEW_HOST_TRIES = 5


class NoRoomError(LaunchError):
    """No live host has room, and this placer may not start one."""

    code = "no_room"


class HostPlacer:
    """A ``Launcher`` over hosts."""

    def __init__(self, settings: Settings, clock: Clock, runner: HostRunner | None) -> None:
        self.settings = settings
        self.clock = clock
        self.runner = runner

    def candidates(self, *, exclude: str | None = None) -> list[HostModel]:
        """Live hosts taking tenants with room, least loaded first."""
        now = self.clock.now_ms()
        found = [
            h
            for h in hosts.all_hosts()
            if h.host_id != exclude
            and h.status in hosts.TAKING
            and hosts.is_live(h, now_ms=now, settings=self.settings)
            and int(h.assigned or 0) < int(h.capacity or 0)
        ]
        return sorted(found, key=lambda h: (int(h.assigned or 0), int(h.created_at or 0)))

    def has_room(self, *, exclude: str | None = None) -> bool:
        """Whether some live host other than ``exclude`` could take a tenant now."""
        return bool(self.candidates(exclude=exclude))

    def launch(self, lease: Lease) -> str:
        """Place the tenant on the least loaded live host with room, or on a new host. A new
        host is visible to every concurrent launch at once, so others may fill it first:
        then this one looks again (a few times; each round starts at most one host)."""
        for _ in range(NEW_HOST_TRIES):
            now = self.clock.now_ms()
            for host in self.candidates():
                try:
                    hosts.place(host.host_id, lease, now_ms=now)
                except ConcurrentUpdateError:
                    continue  # filled up or started draining since the read: try the next
                logger.info(
                    "placed",
                    extra={
                        "tenant_id": lease.tenant_id,
                        "host_id": host.host_id,
                        "new_host": False,
                    },
                )
                return hosts.task_ref(host.host_id, lease.tenant_id)
            if self.runner is None:
                raise NoRoomError("no host has room")
            try:
                return self._on_new_host(lease, now)
            except ConcurrentUpdateError:
                continue  # its room went to concurrent launches
        raise LaunchError("every host started for this tenant was filled by others first")

    def _on_new_host(self, lease: Lease, now: int) -> str:
        assert self.runner is not None
        host = hosts.new_host(capacity=self.settings.host_tenants, now_ms=now)
        try:
            ref = self.runner.start_host(host.host_id)
        except Exception as exc:
            hosts.gone(host.host_id, "task did not start", now_ms=now)
            if isinstance(exc, LaunchError):
                raise
            raise LaunchError(f"could not start a host: {type(exc).__name__}") from exc
        hosts.set_task_ref(host.host_id, ref)
        hosts.place(host.host_id, lease, now_ms=now)
        logger.info(
            "placed",
            extra={"tenant_id": lease.tenant_id, "host_id": host.host_id, "new_host": True},
        )
        return hosts.task_ref(host.host_id, lease.tenant_id)

    def stop(self, task_ref: str, reason: str) -> None:
        """Take the tenant off its host; the host stops its session within a poll."""
        parsed = hosts.parse_ref(task_ref)
        if parsed is None:
            logger.warning("stop: not a host placement", extra={"task": task_ref})
            return
        hosts.release(*parsed)
