"""Local host runner: each host is a ``python -m worker_container`` child process (``make
dev``, tests, benchmarks), started exactly as ECS starts a host task: the same command and
environment, with its host id.

A thread waits on each process, so an exit is reported at once, like ECS's task-state events
in AWS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping

from chalicelib.launch.base import LaunchError
from chalicelib.launch.ecs import HOST_ENV

logger = logging.getLogger(__name__)


class LocalHosts:
    """A ``HostRunner`` of child processes; ``on_host_exit(host_id, reason)`` hears of each
    end (as ECS's STOPPED events are handled in AWS)."""

    def __init__(
        self,
        env: Mapping[str, str],
        on_host_exit: Callable[[str, str], None] | None = None,
        command: list[str] | None = None,
        stop_timeout_s: float = 30.0,
        on_host_start: Callable[[int], None] | None = None,
    ) -> None:
        self._on_host_exit = on_host_exit
        self._on_host_start = on_host_start  # hears each host's pid (make dev records it)
        self._closing = False  # stop_all began: a host's exit moves nobody anywhere
        self._env = dict(env)
        self._command = command or [sys.executable, "-m", "worker_container"]
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int] = {}  # reference -> exit code, once ended
        self._lock = threading.Lock()
        self._stop_timeout_s = stop_timeout_s

    def start_host(self, host_id: str) -> str:
        """Start the host's process; returns ``local:<pid>``."""
        if self._closing:
            raise LaunchError("the local stack is stopping")
        env = {
            **os.environ,
            "MALLOC_ARENA_MAX": "2",  # as in the worker image: bounded glibc arenas
            **self._env,
            HOST_ENV: host_id,
        }
        try:
            process = subprocess.Popen(self._command, env=env, start_new_session=True)
        except OSError as exc:
            raise LaunchError(f"could not start a host: {exc.strerror}") from exc
        ref = f"local:{process.pid}"
        with self._lock:
            self._processes[ref] = process
        if self._on_host_start is not None:
            self._on_host_start(process.pid)
        threading.Thread(
            target=self._watch, args=(ref, host_id, process), name=f"watch-{ref}", daemon=True
        ).start()
        return ref

    def _watch(self, ref: str, host_id: str, process: subprocess.Popen[bytes]) -> None:
        code = process.wait()
        with self._lock:
            self._processes.pop(ref, None)
            self.exit_codes[ref] = code
        reason = (
            f"exited with code {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
        )
        # Like ECS stopping a task: nothing of it outlives it (its browsers included).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        logger.info("host exit", extra={"host_id": host_id, "reason": reason})
        if self._on_host_exit is not None and not self._closing:
            try:
                self._on_host_exit(host_id, reason)
            except Exception:
                logger.exception("host exit handler failed", extra={"task": ref})

    def stop_host(self, ref: str, reason: str) -> None:
        """SIGTERM the host (it drains); like ECS after its stop timeout, SIGKILL the whole
        process tree if it has not exited by then (a stopped or hung host never acts on
        SIGTERM, and its Chromiums would keep running)."""
        with self._lock:
            process = self._processes.get(ref)
        if process is None or process.poll() is not None:
            return
        logger.info("stopping host", extra={"task": ref, "reason": reason})
        process.send_signal(signal.SIGTERM)
        threading.Thread(
            target=self._kill_after, args=(process,), name=f"stop-{ref}", daemon=True
        ).start()

    def _kill_after(self, process: subprocess.Popen[bytes]) -> None:
        try:
            process.wait(timeout=self._stop_timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning(
                "host ignored SIGTERM; killing its process group", extra={"pid": process.pid}
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every host, SIGKILL what is left after ``timeout`` (the dev stack's end).
        Hosts drain; their tenants stay placed for the next start to move."""
        self._closing = True
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def running(self) -> list[str]:
        """References of the hosts still running."""
        with self._lock:
            return [ref for ref, p in self._processes.items() if p.poll() is None]
