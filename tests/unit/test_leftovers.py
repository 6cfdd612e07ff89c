"""make dev's record of what it started: the next start ends what a kill -9 left, by ids."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from devstack.leftovers import AlreadyRunningError, StackFile


def sleeper() -> subprocess.Popen[bytes]:
    """A process that runs until it is killed (it waits for input that never comes)."""
    command = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    return subprocess.Popen(command, stdin=subprocess.PIPE)


def dead_owner() -> dict[str, float]:
    gone = sleeper()
    identity = {"pid": gone.pid, "started": psutil.Process(gone.pid).create_time()}
    gone.kill()
    gone.wait()
    return identity


def test_the_next_start_ends_what_the_last_run_left_and_spares_a_reused_pid(
    tmp_path: Path,
) -> None:
    left, stranger = sleeper(), sleeper()
    try:
        record = StackFile(tmp_path / "stack.json")
        record.start()
        record.started(left.pid)
        data = json.loads(record.path.read_text())
        data["owner"] = dead_owner()  # the last run was killed with -9
        # A pid of the record now belongs to another process: another start time.
        data["processes"].append({"pid": stranger.pid, "started": 1.0})
        record.path.write_text(json.dumps(data))

        ended = StackFile(record.path).end_leftovers()

        assert ended == [left.pid]
        assert left.wait(timeout=10) != 0
        assert stranger.poll() is None
        assert not record.path.exists()
    finally:
        for process in (left, stranger):
            process.kill()
            process.wait()


def test_a_second_start_in_a_folder_whose_run_is_alive_is_refused(tmp_path: Path) -> None:
    alive = sleeper()
    try:
        owner = {"pid": alive.pid, "started": psutil.Process(alive.pid).create_time()}
        (tmp_path / "stack.json").write_text(json.dumps({"owner": owner, "processes": []}))
        with pytest.raises(AlreadyRunningError, match="already running"):
            StackFile(tmp_path / "stack.json").end_leftovers()
        assert alive.poll() is None
    finally:
        alive.kill()
        alive.wait()
