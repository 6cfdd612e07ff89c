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
        missing = requests.get(f"{server.url}/no-such-page.html", timeout=10)
        assert missing.status_code == 404 and "Page not found" in missing.text
        assert 'href="/status.html"' in missing.text  # a way back
    finally:
        server.stop()


def _raw(url: str, request: bytes, *, wait_s: float = 10) -> bytes:
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=wait_s) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_client_that_never_sends_its_body_stalls_only_itself(client: Any) -> None:
    import socket
    from urllib.parse import urlparse

    from app import app
    from devstack import gateway

    server = gateway.start(app, static_dir=ROOT / "portal_static", api_prefix="/api")
    parsed = urlparse(server.url)
    stuck = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    try:
        stuck.sendall(b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        # Everyone else is served meanwhile (the API lock is not held while a body is read).
        for _ in range(3):
            assert requests.get(f"{server.url}/api/health", timeout=5).status_code == 200
        for length in (b"-1", b"abc", b"99999999999"):
            answer = _raw(
                server.url,
                b"POST /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n",
            )
            assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer
            assert b'"error"' in answer
    finally:
        stuck.close()
        server.stop()


def test_an_unknown_route_is_a_404_that_echoes_nothing(client: Any) -> None:
    from app import app
    from devstack import gateway

    server = gateway.start(app, static_dir=ROOT / "portal_static", api_prefix="/api")
    try:
        answer = requests.get(
            f"{server.url}/api/no/such/route",
            headers={"Authorization": "Bearer SECRET.TOKEN.VALUE"},
            timeout=10,
        )
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
        assert "SECRET" not in answer.text
    finally:
        server.stop()


def test_what_the_server_refuses_itself_is_in_the_error_shape(client: Any) -> None:
    from app import app
    from devstack import gateway

    server = gateway.start(app, static_dir=ROOT / "portal_static", api_prefix="/api")
    try:
        for request, status, code in (
            (b"GET /api/" + b"x" * 70_000 + b" HTTP/1.1\r\n\r\n", b"414", b"uri_too_long"),
            (b"GET /api/health HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n", b"431", None),
            (b"BREW /api/health HTTP/1.1\r\nHost: x\r\n\r\n", b"501", b"not_implemented"),
        ):
            answer = _raw(server.url, request)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.split(b" ")[1] == status, head
            assert b"application/json" in head and b'"error"' in body, answer[:300]
            assert code is None or code in body
    finally:
        server.stop()


def test_a_connection_that_stops_sending_its_headers_is_closed(client: Any) -> None:
    import socket
    from urllib.parse import urlparse

    from app import app
    from devstack import gateway

    server = gateway.start(app, api_prefix="/api", header_timeout_s=0.5)
    parsed = urlparse(server.url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=10) as slow:
            slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            assert slow.recv(1024) == b""  # the server hung up (the client would wait 10 s)
    finally:
        server.stop()
