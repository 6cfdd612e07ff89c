"""API fixtures: a local issuer, a fake launcher, and the Chalice test client."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.clock import ManualClock
from chalicelib.domain.values import Lease
from chalicelib.settings import Settings
from chalicelib.store import tenants, users
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


@dataclass
class Account:
    tenant_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def make_tenant(issuer: LocalIssuer, clock: ManualClock, name: str) -> Account:
    tenant = tenants.create_tenant(name, now_ms=clock.now_ms(), phone="+491511111111")
    user = users.add_user(
        f"{tenant.tenant_id}@example.com",
        role="tenant",
        tenant_id=tenant.tenant_id,
        now_ms=clock.now_ms(),
    )
    return Account(tenant.tenant_id, issuer.token(user.user_id, email=user.email))


@pytest.fixture
def alice(client: Any, issuer: LocalIssuer, clock: ManualClock) -> Account:
    return make_tenant(issuer, clock, "Alice Bakery")


@pytest.fixture
def bob(client: Any, issuer: LocalIssuer, clock: ManualClock) -> Account:
    return make_tenant(issuer, clock, "Bob Barber")


@pytest.fixture
def admin(client: Any, issuer: LocalIssuer, clock: ManualClock) -> dict[str, str]:
    import uuid

    user = users.add_user(
        f"admin-{uuid.uuid4().hex[:6]}@example.com",
        role="admin",
        tenant_id=None,
        now_ms=clock.now_ms(),
    )
    token = issuer.token(user.user_id, email=user.email, groups=["admin"])
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
