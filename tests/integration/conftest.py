"""API fixtures: a local issuer, a fake launcher, and the Chalice test client."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.clock import ManualClock
from chalicelib.settings import Settings
from chalicelib.store.tenants import Lease
from devstack.issuer import LocalIssuer


class FakeLauncher:
    """Records launches and stops instead of starting processes."""

    def __init__(self) -> None:
        self.launched: list[Lease] = []
        self.stopped: list[str] = []
        self.fail_with: Exception | None = None

    def launch(self, lease: Lease) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.launched.append(lease)
        return f"fake:{lease.tenant_id}:{lease.epoch}"

    def stop(self, task_ref: str, reason: str) -> None:
        self.stopped.append(task_ref)


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer.load_or_create(Path(tmp_path_factory.mktemp("issuer")))


@pytest.fixture
def launcher() -> FakeLauncher:
    return FakeLauncher()


@pytest.fixture
def api_settings(aws: Settings, issuer: LocalIssuer) -> Settings:
    return dataclasses.replace(
        aws, jwks_url=issuer.jwks_url, jwt_issuer=issuer.issuer, jwt_audience=issuer.audience
    )


@pytest.fixture
def client(api_settings: Settings, clock: ManualClock, launcher: FakeLauncher) -> Iterator[Any]:
    from chalice.test import Client

    from app import app
    from chalicelib.api.auth import memberships
    from chalicelib.control import runtime

    runtime.configure(api_settings, clock=clock, launcher=launcher)
    memberships.clear()
    with Client(app) as test_client:
        yield test_client
