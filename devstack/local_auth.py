"""``make dev``'s stand-in for Cognito's hosted UI: the authorization code flow with PKCE.

``GET /local-auth/authorize`` shows a sign-in form (e-mail only: it is a developer's machine),
``POST /local-auth/authorize`` redirects back with a one-time code, ``POST /local-auth/token``
trades the code and its PKCE verifier for an ID token carrying the portal's nonce. Only
requests addressed to this server on loopback (``Host``) and, for POSTs, coming from its own
pages (``Origin``) are served: another site open in the developer's browser, or a DNS
rebinding name, gets a 403.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from devstack.issuer import LocalIssuer

AUTHORIZE_PATH = "/local-auth/authorize"
TOKEN_PATH = "/local-auth/token"  # noqa: S105 (a path, not a password)
CALLBACK_PATH = "/index.html"  # the portal page that trades the code (portal_static/js/index.js)
CODE_TTL_S = 60
TOKEN_TTL_S = 12 * 3600
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class _Grant:
    user_id: str
    email: str
    redirect_uri: str
    challenge: str
    nonce: str
    expires: float


class LocalAuth:
    """The hosted-UI endpoints of the local issuer, for one portal origin."""

    def __init__(self, issuer: LocalIssuer, port: int, find_user: Any) -> None:
        self.issuer = issuer
        self.port = port
        self.find_user = find_user  # e-mail -> user (with user_id, email) or None
        self._codes: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    @property
    def origins(self) -> set[str]:
        """The portal's own origins."""
        return {f"http://{host}:{self.port}" for host in LOOPBACK}

    @property
    def redirect_uris(self) -> set[str]:
        """Where a code may be sent: the portal's sign-in page, exactly (as Cognito's
        callback URLs are matched)."""
        return {origin + CALLBACK_PATH for origin in self.origins}

    def handle(self, handler: Any) -> bool:
        """Answer the request if it is one of ours; False otherwise."""
        path = urlparse(handler.path).path
        if path not in (AUTHORIZE_PATH, TOKEN_PATH):
            return False
        host = handler.headers.get("Host", "")
        if host not in {f"{h}:{self.port}" for h in LOOPBACK}:
            _send_json(handler, 403, _error("forbidden", "sign-in is served on loopback only"))
            return True
        if handler.command == "POST" and handler.headers.get("Origin") not in self.origins:
            _send_json(handler, 403, _error("forbidden", "sign-in accepts its own pages only"))
            return True
        if path == AUTHORIZE_PATH and handler.command == "GET":
            self._form(handler, _query(handler))
        elif path == AUTHORIZE_PATH and handler.command == "POST":
            self._authorize(handler, _form(handler))
        elif path == TOKEN_PATH and handler.command == "POST":
            self._token(handler, _form(handler))
        else:
            _send_json(handler, 405, _error("method_not_allowed", "not here"))
        return True

    def _check(self, params: dict[str, str]) -> str | None:
        """What is wrong with an authorization request, or None."""
        redirect = params.get("redirect_uri", "")
        if params.get("response_type") != "code":
            return "response_type must be code"
        if params.get("client_id") != self.issuer.audience:
            return "unknown client_id"
        if redirect not in self.redirect_uris:
            return "redirect_uri must be the portal's sign-in page, exactly"
        if (
            params.get("code_challenge_method") != "S256"
            or len(params.get("code_challenge", "")) < 43
        ):
            return "PKCE with S256 is required"
        if len(params.get("state", "")) < 16 or len(params.get("nonce", "")) < 16:
            return "state and nonce are required"
        return None

    def _form(self, handler: Any, params: dict[str, str], message: str = "") -> None:
        problem = self._check(params)
        if problem:
            _send_html(handler, 400, f"<p>{html.escape(problem)}</p>")
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k != "email"
        )
        error = f'<p class="field-error" role="alert">{html.escape(message)}</p>' if message else ""
        _send_html(
            handler,
            200,
            "<h1>Sign in to wafleet (local)</h1>"
            "<p>Local development sign-in: make dev seeds owner@demo.example and "
            "admin@demo.example.</p>"
            f'<form method="post" action="{AUTHORIZE_PATH}">{hidden}'
            '<label for="email">E-mail</label> '
            '<input id="email" name="email" type="email" autocomplete="email" required autofocus> '
            f'{error}<button type="submit">Continue</button></form>',
        )

    def _authorize(self, handler: Any, params: dict[str, str]) -> None:
        problem = self._check(params)
        if problem:
            _send_html(handler, 400, f"<p>{html.escape(problem)}</p>")
            return
        user = self.find_user(params.get("email", "").strip().lower())
        if user is None:
            self._form(handler, params, "No user with this e-mail.")
            return
        code = secrets.token_urlsafe(32)
        grant = _Grant(
            user.user_id,
            user.email,
            params["redirect_uri"],
            params["code_challenge"],
            params["nonce"],
            time.monotonic() + CODE_TTL_S,
        )
        with self._lock:
            self._codes = {k: g for k, g in self._codes.items() if g.expires > time.monotonic()}
            self._codes[code] = grant
        target = params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})
        handler.send_response(303)
        handler.send_header("Location", target)
        handler.send_header("Cache-Control", "no-store")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _token(self, handler: Any, params: dict[str, str]) -> None:
        with self._lock:
            grant = self._codes.pop(params.get("code", ""), None)  # one use only
        verifier = params.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            params.get("grant_type") != "authorization_code"
            or grant is None
            or grant.expires <= time.monotonic()
            or params.get("redirect_uri") != grant.redirect_uri
            or params.get("client_id") != self.issuer.audience
            or not secrets.compare_digest(challenge.decode().rstrip("="), grant.challenge)
        ):
            _send_json(handler, 400, {"error": "invalid_grant"})
            return
        token = self.issuer.token(
            grant.user_id, email=grant.email, ttl_s=TOKEN_TTL_S, nonce=grant.nonce
        )
        _send_json(
            handler, 200, {"id_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_S}
        )


def _query(handler: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(handler.path).query).items()}


def _form(handler: Any) -> dict[str, str]:
    raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    try:
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    except UnicodeDecodeError:
        return {}


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _send_json(handler: Any, status: int, value: Any) -> None:
    _send(handler, status, json.dumps(value).encode(), "application/json")


def _send_html(handler: Any, status: int, body: str) -> None:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>'
        '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/css/app.css"></head><body><main class="card">'
        f"{body}</main></body></html>"
    )
    _send(handler, status, page.encode(), "text/html; charset=utf-8")


def _send(handler: Any, status: int, data: bytes, kind: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Cache-Control", "no-store")
    handler.send_header("X-Frame-Options", "DENY")
    handler.send_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
