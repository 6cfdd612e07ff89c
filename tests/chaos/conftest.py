"""The chaos suite reuses the process fixtures: moto server, simulator, launcher."""

from __future__ import annotations

from tests.e2e.conftest import moto, sim, stack, stack_settings  # noqa: F401
