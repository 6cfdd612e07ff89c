"""Authentication: RS256 JWTs verified against a JWKS, then mapped to one tenant.

In AWS the tokens are Cognito ID tokens and the JWKS is the user pool's; in ``make dev`` and
the tests a local issuer signs tokens and publishes its JWKS. The code path is the same.
Verification runs inside the API function (Chalice middleware), so that a bad token is a JSON
401 both locally and in AWS and a wrong role a 403.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chalicelib.api.errors import HttpError
from chalicelib.settings import Settings

MEMBERSHIP_TTL_S = 30.0
ALGORITHMS = ["RS256"]
# An ID token older than this is refused whatever its expiry says (Cognito's longest is 24 h).
MAX_TOKEN_AGE_S = 12 * 3600
LEEWAY_S = 30


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject, the tenant they belong to, and their role."""

    user_id: str
    email: str | None
    role: str  # "tenant" or "admin"
    tenant_id: str | None

    @property
    def is_admin(self) -> bool:
        """Admins approve requests and run workers."""
        return self.role == "admin"


def unauthorized(message: str) -> HttpError:
    """401: the caller is not (validly) signed in."""
    return HttpError(401, "unauthorized", message)


def forbidden(message: str) -> HttpError:
    """403: signed in, but not allowed to do this."""
    return HttpError(403, "forbidden", message)


class _FileKeySet:
    """A JWKS read from a local file (the dev issuer); same lookup by ``kid`` as the client."""

    def __init__(self, url: str) -> None:
        from urllib.parse import unquote, urlparse

        self._path = unquote(urlparse(url).path)

    def get_signing_key_from_jwt(self, token: str) -> Any:
        import jwt

        with open(self._path, encoding="utf-8") as handle:
            keys = jwt.PyJWKSet.from_json(handle.read())
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key with kid {kid!r}")


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> Any:
    if url.startswith("file://"):
        return _FileKeySet(url)
    from jwt import PyJWKClient

    return PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)


def verify_token(token: str, settings: Settings) -> dict[str, Any]:
    """The token's claims if signature, issuer, audience and expiry check out; else 401."""
    import jwt

    if not (settings.jwks_url and settings.jwt_issuer and settings.jwt_audience):
        raise unauthorized("sign-in is not configured on this server")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise unauthorized("token algorithm not accepted")
        key = _jwks_client(settings.jwks_url).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            leeway=LEEWAY_S,
        )
    except jwt.PyJWTError as exc:
        raise unauthorized(f"invalid token: {type(exc).__name__}") from None
    if claims.get("token_use") != "id":
        raise unauthorized("invalid token: an ID token is required")
    # PyJWT reads a numeric string as a time; a token's times must be JSON numbers.
    if not all(_is_time(claims[name]) for name in ("exp", "iat", "nbf") if name in claims):
        raise unauthorized("invalid token: exp, iat and nbf must be numbers")
    issued = claims["iat"]
    if (
        time.time() - issued > MAX_TOKEN_AGE_S + LEEWAY_S
        or claims["exp"] - issued > MAX_TOKEN_AGE_S + LEEWAY_S
    ):
        raise unauthorized("invalid token: too old, sign in again")
    return claims


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _MembershipCache:
    """Token subject -> membership, for at most ``MEMBERSHIP_TTL_S`` (a warm Lambda skips
    the lookup; a removed or demoted user loses access within that time)."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now  # tests inject a clock
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> Principal | None:
        with self._lock:
            hit = self._entries.get(user_id)
        if hit is None or hit[0] <= self.now():
            return None
        return hit[1]

    def put(self, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[principal.user_id] = (self.now() + MEMBERSHIP_TTL_S, principal)

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._entries.pop(user_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


memberships = _MembershipCache()


def authenticate(authorization: str | None, settings: Settings) -> Principal:
    """The principal behind an ``Authorization: Bearer <jwt>`` header, or a 401."""
    if not authorization:
        raise unauthorized("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("expected 'Authorization: Bearer <token>'")
    claims = verify_token(token.strip(), settings)
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 256:
        raise unauthorized("invalid token: no subject")
    cached = memberships.get(user_id)
    if cached is not None:
        return cached
    from chalicelib.domain.errors import NotFoundError
    from chalicelib.store import users

    try:
        user = users.get_user(user_id)
    except NotFoundError:
        raise forbidden("this account is not a member of any tenant") from None
    # The role comes from the users table only: a token claim (cognito:groups) never grants
    # it, so demoting or removing a user takes effect within the cache's lifetime.
    principal = Principal(
        user_id=user_id,
        email=user.email,
        role="admin" if user.role == "admin" else "tenant",
        tenant_id=user.tenant_id,
    )
    memberships.put(principal)
    return principal
