"""The app and openapi.yaml describe the same API; schemathesis finds no 5xx or mismatch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def _app_routes() -> set[tuple[str, str]]:
    from app import app

    return {(method.upper(), path) for path, methods in app.routes.items() for method in methods}


def _spec_routes() -> set[tuple[str, str]]:
    verbs = {"get", "post", "put", "patch", "delete"}
    return {
        (method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method in item
        if method in verbs
    }


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    assert _app_routes() == _spec_routes()


def test_documented_path_parameters_match_the_routes() -> None:
    for path, item in SPEC["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if "name" in p}
        declared |= {
            SPEC["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]["name"]
            for p in item.get("parameters", [])
            if "$ref" in p
        }
        assert set(re.findall(r"{(\w+)}", path)) <= declared, path


@pytest.fixture
def served(
    api_settings: Any, clock: Any, launcher: Any, issuer: Any
) -> Iterator[tuple[str, dict[str, str], dict[str, str]]]:
    """The app on a real local HTTP port, a tenant user's and an admin's headers."""
    from app import app
    from chalicelib.api.auth import memberships
    from chalicelib.control import runtime
    from chalicelib.domain.clock import SystemClock
    from chalicelib.store import tenants, users
    from devstack import gateway

    runtime.configure(api_settings, clock=SystemClock(), launcher=launcher)
    memberships.clear()
    now = SystemClock().now_ms()
    tenant = tenants.create_tenant("Fuzz Cafe", now_ms=now, phone="+4915100000000")
    member = users.add_user(
        f"{tenant.tenant_id}@example.com", role="tenant", tenant_id=tenant.tenant_id, now_ms=now
    )
    boss = users.add_user(
        f"boss-{tenant.tenant_id}@example.com", role="admin", tenant_id=None, now_ms=now
    )
    server = gateway.start(app)
    try:
        yield (
            server.url,
            {"Authorization": "Bearer " + issuer.token(member.user_id)},
            {"Authorization": "Bearer " + issuer.token(boss.user_id, groups=["admin"])},
        )
    finally:
        server.stop()


def test_schemathesis_finds_no_server_error_or_schema_violation(
    served: tuple[str, dict[str, str], dict[str, str]],
) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    base_url, tenant_headers, admin_headers = served
    schema = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    calls = 0

    def fuzz(op: Any, headers: dict[str, str]) -> None:
        @given(case=op.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=base_url, headers=headers, checks=checks)

        run()

    for operation in schema.get_all_operations():
        op = operation.ok()
        fuzz(op, admin_headers if op.path.startswith("/admin") else tenant_headers)
    assert calls >= 100
