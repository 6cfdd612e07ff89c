"""The local gateway: one origin, and concurrent requests never see each other's data."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import requests

from chalicelib.domain.clock import ManualClock
from chalicelib.store import tenants, users
from devstack.issuer import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]


def test_concurrent_requests_of_two_tenants_each_see_their_own(
    client: Any, issuer: LocalIssuer, clock: ManualClock
) -> None:
    from app import app
    from devstack import gateway

    headers = {}
    for name in ("Concurrent A", "Concurrent B"):
        tid = tenants.create_tenant(name, now_ms=clock.now_ms()).tenant_id
        user = users.add_user(
            f"{tid}@example.com", role="tenant", tenant_id=tid, now_ms=clock.now_ms()
        )
        headers[tid] = {"Authorization": f"Bearer {issuer.token(user.user_id)}"}
    server = gateway.start(app, static_dir=ROOT / "portal_static", api_prefix="/api")
    try:

        def status_of(tid: str) -> tuple[str, str]:
            response = requests.get(
                f"{server.url}/api/portal/tenant/current/status", headers=headers[tid], timeout=10
            )
            assert response.status_code == 200, response.text
            return tid, response.json()["tenant"]["id"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(status_of, list(headers) * 20))
        assert all(asked == got for asked, got in results)
        page = requests.get(f"{server.url}/status.html", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert requests.get(f"{server.url}/../pyproject.toml", timeout=10).status_code == 404
    finally:
        server.stop()
