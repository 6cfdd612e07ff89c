"""A local OpenID-style token issuer: an RSA key, its JWKS, and RS256 ID tokens.

Plays Cognito's part in ``make dev`` and the tests; the API verifies its tokens exactly as it
verifies Cognito's (JWKS, issuer, audience, expiry).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_ISSUER = "http://localhost/wafleet-local-issuer"
LOCAL_AUDIENCE = "wafleet-portal"


@dataclass
class LocalIssuer:
    """Signs tokens with a private key whose public half is in ``jwks_path``."""

    key: rsa.RSAPrivateKey
    kid: str
    jwks_path: Path
    issuer: str = LOCAL_ISSUER
    audience: str = LOCAL_AUDIENCE

    @classmethod
    def load_or_create(cls, folder: Path) -> LocalIssuer:
        """Reuse the key in ``folder`` (tokens survive restarts) or make a new one."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        pem = folder / "issuer-key.pem"
        if pem.exists():
            loaded = serialization.load_pem_private_key(pem.read_bytes(), password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            key = loaded
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            # Private from the first byte: created 0600, never readable by others meanwhile.
            fd = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
        kid = (
            "local-"
            + uuid.uuid5(uuid.NAMESPACE_URL, str(key.public_key().public_numbers().n)).hex[:12]
        )
        issuer = cls(key, kid, folder / "jwks.json")
        issuer.jwks_path.write_text(json.dumps(issuer.jwks()))
        return issuer

    @property
    def jwks_url(self) -> str:
        """Where the API fetches the public keys."""
        return self.jwks_path.resolve().as_uri()

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [public]}

    def token(
        self,
        sub: str,
        *,
        email: str | None = None,
        groups: list[str] | None = None,
        ttl_s: int = 3600,
        now: float | None = None,
        **overrides: Any,
    ) -> str:
        """An RS256 ID token for ``sub``."""
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": issued,
            "exp": issued + ttl_s,
            "token_use": "id",
        }
        if email:
            claims["email"] = email
        if groups:
            claims["cognito:groups"] = groups
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
