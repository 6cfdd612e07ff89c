"""make dev's sign-in: the authorization code flow with PKCE, served to its own pages only."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests

from chalicelib.domain.clock import ManualClock
from chalicelib.store import users
from devstack.issuer import LocalIssuer
from devstack.local_auth import LocalAuth

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def portal(client: Any, issuer: LocalIssuer, clock: ManualClock) -> Iterator[str]:
    from app import app
    from devstack import gateway
    from devstack.dev import local_routes

    if users.find_by_email("pkce@example.com") is None:
        users.add_user("pkce@example.com", role="admin", tenant_id=None, now_ms=clock.now_ms())
    auth = LocalAuth(issuer, 0, users.find_by_email)
    server = gateway.start(
        app, static_dir=ROOT / "portal_static", api_prefix="/api", extra=local_routes(auth)
    )
    auth.port = server.server.server_address[1]
    yield server.url
    server.stop()


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def authorize(portal: str, challenge: str, **changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": "wafleet-portal",
        "redirect_uri": f"{portal}/index.html",
        "state": "s" * 20,
        "nonce": "n" * 20,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "email": "pkce@example.com",
        **changes,
    }
    return params


def code_for(portal: str, params: dict[str, str]) -> str:
    answer = requests.post(
        f"{portal}/local-auth/authorize",
        data=params,
        headers={"Origin": portal},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    back = urlparse(answer.headers["Location"])
    query = parse_qs(back.query)
    assert back.path == "/index.html" and query["state"] == [params["state"]]
    return query["code"][0]


def trade(portal: str, code: str, verifier: str, **changes: str) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "wafleet-portal",
        "redirect_uri": f"{portal}/index.html",
        "code_verifier": verifier,
        **changes,
    }
    return requests.post(
        f"{portal}/local-auth/token", data=form, headers={"Origin": portal}, timeout=10
    )


def test_a_code_and_its_verifier_give_an_id_token_with_the_nonce_once(portal: str) -> None:
    verifier, challenge = pkce()
    code = code_for(portal, authorize(portal, challenge))
    answer = trade(portal, code, verifier)
    assert answer.status_code == 200
    token = answer.json()["id_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["nonce"] == "n" * 20 and claims["token_use"] == "id"
    me = requests.get(
        f"{portal}/api/portal/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert me.json()["role"] == "admin"
    assert trade(portal, code, verifier).status_code == 400  # a code works once


def test_a_wrong_verifier_or_redirect_gets_nothing(portal: str) -> None:
    verifier, challenge = pkce()
    assert (
        trade(portal, code_for(portal, authorize(portal, challenge)), "x" * 43).status_code == 400
    )
    code = code_for(portal, authorize(portal, challenge))
    assert trade(portal, code, verifier, redirect_uri="http://evil.example/").status_code == 400


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uri": "http://evil.example/index.html"},
        # The portal's own origin, but not its sign-in page: an open redirect or a page
        # that leaks the query string would get the code.
        {"redirect_uri": "{portal}/logs.html"},
        {"redirect_uri": "{portal}/index.html?next=x"},
        {"redirect_uri": "{portal}/"},
        {"code_challenge_method": "plain"},
        {"state": ""},
        {"nonce": ""},
        {"client_id": "someone-else"},
    ],
)
def test_unsafe_authorization_requests_are_refused(portal: str, change: dict[str, str]) -> None:
    _, challenge = pkce()
    change = {k: v.replace("{portal}", portal) for k, v in change.items()}
    answer = requests.post(
        f"{portal}/local-auth/authorize",
        data=authorize(portal, challenge, **change),
        headers={"Origin": portal},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 400


def test_other_sites_and_rebound_names_cannot_sign_in(portal: str) -> None:
    verifier, challenge = pkce()
    params = authorize(portal, challenge)
    foreign = requests.post(
        f"{portal}/local-auth/authorize",
        data=params,
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
        timeout=10,
    )
    assert foreign.status_code == 403
    port = urlparse(portal).port
    rebound = requests.post(
        f"{portal}/local-auth/authorize",
        data=params,
        headers={"Origin": portal, "Host": f"evil.example:{port}"},
        allow_redirects=False,
        timeout=10,
    )
    assert rebound.status_code == 403
    code = code_for(portal, params)
    stolen = requests.post(
        f"{portal}/local-auth/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        headers={"Origin": "http://evil.example"},
        timeout=10,
    )
    assert stolen.status_code == 403


def test_the_issuer_key_is_private_from_the_start(tmp_path: Path) -> None:
    issuer = LocalIssuer.load_or_create(tmp_path / "issuer")
    key = tmp_path / "issuer" / "issuer-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "issuer").stat().st_mode & 0o777 == 0o700
    assert issuer.jwks()["keys"][0]["kid"] == issuer.kid
