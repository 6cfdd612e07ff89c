"""Start a moto server as a child process on loopback and point the store at it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class MotoProcess:
    """A running moto server."""

    endpoint: str
    process: subprocess.Popen[str]


def fake_credentials() -> dict[str, str]:
    """Credentials moto accepts; never real ones."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


def start_moto(port: int = 0) -> MotoProcess:
    """Start ``devstack.moto_server`` and wait for its "listening" line (no fixed sleeps)."""
    env = {**os.environ, **fake_credentials()}
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.moto_server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"moto server did not start: {line!r}")
    return MotoProcess(line.rsplit(" ", 1)[-1].strip(), process)


@contextmanager
def moto_server(port: int = 0) -> Iterator[MotoProcess]:
    """A moto server for the duration of the block."""
    moto = start_moto(port)
    try:
        yield moto
    finally:
        moto.process.terminate()
        moto.process.wait(timeout=10)
