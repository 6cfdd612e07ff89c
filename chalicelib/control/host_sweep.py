"""The reaper's look at hosts: silent ones are lost (their tenants move, ``workers.host_lost``),
idle ones are drained."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from chalicelib.control import runtime, workers
from chalicelib.domain.errors import WafleetError
from chalicelib.store import hosts
from chalicelib.store.models import HostModel

logger = logging.getLogger(__name__)


@dataclass
class HostReport:
    """What a reaper run did to hosts."""

    live: int = 0
    lost: list[str] = field(default_factory=list)
    drained: list[str] = field(default_factory=list)


def check_hosts() -> HostReport:
    """Hosts whose heartbeat went stale are lost (their task is stopped, best effort); of
    the empty RUNNING hosts, all but one are drained (scale-in: the last one stays as the
    spare that makes the next start fast)."""
    rt = runtime.get()
    now = rt.clock.now_ms()
    report = HostReport()
    for host in hosts.all_hosts():
        if host.status == hosts.HostStatus.GONE.value:
            continue
        if not hosts.is_live(host, now_ms=now, settings=rt.settings):
            lose(host, "heartbeat stale")
            report.lost.append(host.host_id)
    # Read again: the lost hosts' tenants went somewhere.
    empty: list[str] = []
    for host in hosts.all_hosts():
        if host.status in hosts.ALIVE:
            report.live += 1
        if host.status == hosts.HostStatus.RUNNING.value and int(host.assigned or 0) == 0:
            empty.append(host.host_id)
    for host_id in empty[1:]:
        try:
            hosts.drain(host_id, "idle: no tenants", only_if_empty=True)
            report.drained.append(host_id)
        except WafleetError:
            continue  # took a tenant or started draining meanwhile
    return report


def lose(host: HostModel, reason: str) -> None:
    """The host is lost: its tenants move (``workers.host_lost``) and its task is stopped,
    best effort (a hung task never acts on it; ECS or the local runner kills it after the
    stop timeout)."""
    workers.host_lost(host.host_id, reason)
    runner = getattr(workers.launcher(), "runner", None)
    if host.task_ref and runner is not None:
        try:
            runner.stop_host(host.task_ref, reason)
        except Exception:
            logger.warning("stop of a lost host's task failed", extra={"task": host.task_ref})
