"""Lazily created, swappable collaborators: settings, clock, launcher.

Tests call ``configure(...)`` with their own; production builds them from the environment on
first use, so importing the app stays as cheap as importing boto3.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from chalicelib.domain.clock import Clock, SystemClock
from chalicelib.launch.base import Launcher
from chalicelib.settings import Settings


@dataclass
class Runtime:
    """The process's collaborators."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    launcher: Launcher | None = None


_runtime: Runtime | None = None
_lock = threading.Lock()


def configure(
    settings: Settings, *, clock: Clock | None = None, launcher: Launcher | None = None
) -> Runtime:
    """Install collaborators (tests, the dev stack) and bind the store to ``settings``."""
    global _runtime
    from chalicelib.store import models

    models.bind(settings)
    with _lock:
        _runtime = Runtime(settings, clock or SystemClock(), launcher)
    return _runtime


def get() -> Runtime:
    """The configured runtime, built from the environment on first use."""
    if _runtime is None:
        configure(Settings.from_env())
    assert _runtime is not None
    return _runtime
