"""Where a tenant's WhatsApp login (its profile archive, ``profile.py``) lives between runs of
its session.

AWS: S3 with SSE-KMS under ``sessions/<tenant>/``. Local: a folder, one file per tenant.
A conflict ("open elsewhere") never deletes it; only a logout does.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol


class LoginStore(Protocol):
    """Load, save and forget one tenant's profile archive (bytes)."""

    def load(self) -> bytes | None:
        """The saved state, or None."""
        ...

    def save(self, state: bytes) -> None:
        """Replace the saved state."""
        ...

    def delete(self) -> None:
        """Forget the login (after a logout)."""
        ...


class FolderLogins:
    """``<folder>/<tenant>.tar.gz``, written atomically, readable by the owner only."""

    def __init__(self, folder: Path, tenant_id: str) -> None:
        self.path = folder / f"{tenant_id}.tar.gz"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def load(self) -> bytes | None:
        """The saved state, or None."""
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def save(self, state: bytes) -> None:
        """Write to a temp file and rename, so a crash never leaves half a login."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".session-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(state)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def delete(self) -> None:
        """Remove the file if present."""
        self.path.unlink(missing_ok=True)


class S3Logins:
    """``s3://<bucket>/sessions/<tenant>/profile.tar.gz`` with SSE-KMS."""

    def __init__(self, client: Any, bucket: str, tenant_id: str, kms_key: str | None) -> None:
        self._client = client
        self._bucket = bucket
        self._key = f"sessions/{tenant_id}/profile.tar.gz"
        self._kms_key = kms_key

    def load(self) -> bytes | None:
        """The saved state, or None."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key)
        except self._client.exceptions.NoSuchKey:
            return None
        data: bytes = response["Body"].read()
        return data

    def save(self, state: bytes) -> None:
        """Put with server-side KMS encryption."""
        extra: dict[str, str] = {"ServerSideEncryption": "aws:kms"}
        if self._kms_key:
            extra["SSEKMSKeyId"] = self._kms_key
        self._client.put_object(Bucket=self._bucket, Key=self._key, Body=state, **extra)

    def delete(self) -> None:
        """Delete the object."""
        self._client.delete_object(Bucket=self._bucket, Key=self._key)
