"""Local launcher: one ``wafleet worker`` subprocess per tenant, or per host of several
tenants (``make dev`` and tests).

A thread waits on each process, so an exit is reported at once (crash detection without the
reaper), like ECS's task-state events in AWS.
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

from chalicelib.domain.values import Lease
from chalicelib.launch.base import ExitCallback, LaunchError
from chalicelib.launch.ecs import EPOCH_ENV, HOST_ENV, OWNER_ENV, TENANT_ENV

logger = logging.getLogger(__name__)


class LocalLauncher:
    """Runs workers as child processes of this process."""

    def __init__(
        self,
        env: Mapping[str, str],
        on_exit: ExitCallback | None = None,
        command: list[str] | None = None,
        stop_timeout_s: float = 30.0,
        on_host_exit: Callable[[str, str], None] | None = None,
    ) -> None:
        self._on_host_exit = on_host_exit
        self._closing = False  # stop_all began: a host's exit moves nobody anywhere
        self._env = dict(env)
        self._on_exit = on_exit
        self._command = command or [sys.executable, "-m", "worker_container"]
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int] = {}  # reference -> exit code, once ended
        self._lock = threading.Lock()
        self._stop_timeout_s = stop_timeout_s

    def launch(self, lease: Lease) -> str:
        """Start the worker process for ``lease``; returns ``local:<pid>``."""
        extra = {
            TENANT_ENV: lease.tenant_id,
            OWNER_ENV: lease.owner_id,
            EPOCH_ENV: str(lease.epoch),
        }

        def ended(reason: str) -> None:
            logger.info("worker exit", extra={"tenant_id": lease.tenant_id, "epoch": lease.epoch})
            if self._on_exit is not None:
                self._on_exit(lease.tenant_id, lease.epoch, reason)

        return self._spawn(extra, ended)

    def start_host(self, host_id: str) -> str:
        """Start a worker host process (the same command, with a host id instead of a lease);
        ``on_host_exit`` hears of its end."""

        def ended(reason: str) -> None:
            logger.info("host exit", extra={"host_id": host_id})
            if self._on_host_exit is not None and not self._closing:
                self._on_host_exit(host_id, reason)

        return self._spawn({HOST_ENV: host_id}, ended)

    def stop_host(self, ref: str, reason: str) -> None:
        """SIGTERM the host (it drains), SIGKILL after the stop timeout."""
        self.stop(ref, reason)

    def _spawn(self, extra: Mapping[str, str], ended: Callable[[str], None]) -> str:
        if self._closing:
            raise LaunchError("the local stack is stopping")
        env = {
            **os.environ,
            "MALLOC_ARENA_MAX": "2",  # as in the worker image: bounded glibc arenas
            **self._env,
            **extra,
        }
        try:
            process = subprocess.Popen(self._command, env=env, start_new_session=True)
        except OSError as exc:
            raise LaunchError(f"could not start worker: {exc.strerror}") from exc
        ref = f"local:{process.pid}"
        with self._lock:
            self._processes[ref] = process
        threading.Thread(
            target=self._watch, args=(ref, process, ended), name=f"watch-{ref}", daemon=True
        ).start()
        return ref

    def _watch(
        self, ref: str, process: subprocess.Popen[bytes], ended: Callable[[str], None]
    ) -> None:
        code = process.wait()
        with self._lock:
            self._processes.pop(ref, None)
            self.exit_codes[ref] = code
        reason = (
            f"exited with code {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
        )
        # Like ECS stopping a task: nothing of it outlives it (a host's browsers included).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            ended(reason)
        except Exception:
            logger.exception("exit handler failed", extra={"task": ref})

    def stop(self, task_ref: str, reason: str) -> None:
        """SIGTERM the worker (it saves its login and writes STOPPED itself); like ECS after
        its stop timeout, SIGKILL the whole process tree if it has not exited by then (a
        stopped or hung worker never acts on SIGTERM, and its Chromium would keep running)."""
        with self._lock:
            process = self._processes.get(task_ref)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        threading.Thread(
            target=self._kill_after, args=(process,), name=f"stop-{task_ref}", daemon=True
        ).start()

    def _kill_after(self, process: subprocess.Popen[bytes]) -> None:
        try:
            process.wait(timeout=self._stop_timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning(
                "worker ignored SIGTERM; killing its process group", extra={"pid": process.pid}
            )
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM every worker, SIGKILL what is left after ``timeout`` (dev stack shutdown).
        Hosts drain; their tenants stay placed for the next start to move (``resume``)."""
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
        """References of the workers still running."""
        with self._lock:
            return [ref for ref, p in self._processes.items() if p.poll() is None]
