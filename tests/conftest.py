"""Shared fixtures: settings, an in-process moto with the tables, and an injected clock."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")

from chalicelib.domain.clock import ManualClock
from chalicelib.settings import Settings

pytest_plugins = ["tests.processes"]

FAST = Settings(heartbeat_s=0.2, stale_s=1.0, reaper_s=0.5)


@pytest.fixture
def settings() -> Settings:
    """Sub-second intervals, as every test uses."""
    return FAST


@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when the test says so."""
    return ManualClock()


@pytest.fixture(scope="session")
def _moto() -> Iterator[Settings]:
    from moto import mock_aws

    from chalicelib.store import models
    from devstack.moto_server import serialize_dynamodb

    serialize_dynamodb()
    with mock_aws():
        models.bind(FAST)
        models.create_tables(wait=False)
        yield FAST


@pytest.fixture
def aws(_moto: Settings) -> Settings:
    """In-process moto (atomic like DynamoDB), models bound, tables created.

    One moto for the session: tests keep apart by using fresh random tenant ids.
    """
    from chalicelib.store import models

    models.bind(_moto)
    return _moto


def new_number() -> str:
    """A WhatsApp number no other test holds (one number, one tenant, in the shared moto)."""
    import random

    return "+4915" + "".join(random.choices("0123456789", k=9))
