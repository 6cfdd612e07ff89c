"""What a ``make dev`` run started, by process id and start time, in its ``stack.json``: the
next start in the same folder ends whatever a ``kill -9`` left running (a host, its driver and
browsers, moto), before it binds its ports. The children also end by themselves once their
parent is gone (hosts and moto watch it); this is the backstop, by ids, not by name."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import psutil


class AlreadyRunningError(RuntimeError):
    """Another ``make dev`` is running in this folder."""


def _identity(pid: int) -> dict[str, Any]:
    return {"pid": pid, "started": psutil.Process(pid).create_time()}


def _same(recorded: dict[str, Any]) -> psutil.Process | None:
    """The recorded process if it still runs (a reused pid has another start time)."""
    try:
        process = psutil.Process(int(recorded["pid"]))
        if abs(process.create_time() - float(recorded["started"])) > 0.01:
            return None
        return None if process.status() == psutil.STATUS_ZOMBIE else process
    except (psutil.Error, KeyError, TypeError, ValueError):
        return None


class StackFile:
    """``stack.json``: how to reach the running stack (for the CLI) and what it started."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}

    def end_leftovers(self) -> list[int]:
        """End the processes a previous run in this folder left running; refuses while that
        run itself is alive. Returns the pids ended."""
        try:
            previous = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        owner = previous.get("owner")
        if owner and _same(owner) is not None and owner["pid"] != os.getpid():
            raise AlreadyRunningError(
                f"make dev is already running in this folder (pid {owner['pid']}): stop it first"
            )
        ended = []
        for recorded in previous.get("processes", []):
            process = _same(recorded)
            if process is None:
                continue
            with contextlib.suppress(OSError):
                # Hosts and moto lead process groups of their own: the group takes the
                # driver and the browsers along.
                if os.getpgid(process.pid) == process.pid:
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    process.kill()
            ended.append(process.pid)
        self.path.unlink(missing_ok=True)
        return ended

    def start(self) -> None:
        """This run owns the folder from now on."""
        self._write(owner=_identity(os.getpid()), pid=os.getpid(), processes=[])

    def started(self, pid: int) -> None:
        """Record a process this run started."""
        with contextlib.suppress(psutil.Error):
            identity = _identity(pid)
            with self._lock:
                processes = [*self._data.get("processes", []), identity]
            self._write(processes=processes)

    def ready(self, **where: Any) -> None:
        """How to reach the stack (the CLI reads it)."""
        self._write(**where)

    def _write(self, **changes: Any) -> None:
        with self._lock:
            self._data.update(changes)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self._data))
            temporary.replace(self.path)

    def remove(self) -> None:
        """A clean stop: nothing left to end."""
        self.path.unlink(missing_ok=True)
