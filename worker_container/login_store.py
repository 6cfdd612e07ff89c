"""Where a tenant's WhatsApp login (its profile archive, ``profile.py``) lives between runs of
its session.

AWS: S3 with SSE-KMS under ``sessions/<tenant>/`` (a versioned bucket). Local: a folder.
Each saved archive carries its SHA-256, its size, when it was taken and by which lease epoch;
the last ``KEPT`` are kept. A save older than the stored one (a worker that lost the race)
is refused, and a restore takes the newest archive whose checksum and size hold, falling back
to the one before. A conflict ("open elsewhere") never deletes a login; only a logout does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

KEPT = 3  # archives kept per tenant: the newest and the two before it


@dataclass(frozen=True)
class Stamp:
    """What is recorded with an archive."""

    sha256: str
    size: int
    saved_at: int  # ms
    epoch: int  # the lease epoch of the worker that saved it

    @classmethod
    def of(cls, data: bytes, *, saved_at: int, epoch: int) -> Stamp:
        return cls(hashlib.sha256(data).hexdigest(), len(data), saved_at, epoch)

    def holds(self, data: bytes) -> bool:
        """Whether ``data`` is the archive this stamp was made for."""
        return len(data) == self.size and hashlib.sha256(data).hexdigest() == self.sha256

    def newer_than(self, saved_at: int, epoch: int) -> bool:
        return (self.epoch, self.saved_at) > (epoch, saved_at)


class LoginStore(Protocol):
    """Load, save and forget one tenant's profile archive (bytes)."""

    def load(self) -> bytes | None:
        """The newest whole archive, or None."""
        ...

    def save(self, state: bytes, *, saved_at: int, epoch: int) -> bool:
        """Store ``state`` as the newest archive; False (nothing stored) when the stored one
        is newer."""
        ...

    def delete(self) -> None:
        """Forget the login (after a logout)."""
        ...


class FolderLogins:
    """``<folder>/<tenant>.tar.gz`` (then ``.1``, ``.2``: older), each with its stamp in
    ``….json``; written atomically, readable by the owner only."""

    def __init__(self, folder: Path, tenant_id: str) -> None:
        self.path = folder / f"{tenant_id}.tar.gz"
        self.folder = folder
        self.tenant_id = tenant_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _versions(self) -> list[Path]:
        return [self.path] + [self.folder / f"{self.tenant_id}.{n}.tar.gz" for n in range(1, KEPT)]

    @staticmethod
    def _stamp(path: Path) -> Stamp | None:
        try:
            return Stamp(**json.loads(Path(f"{path}.json").read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def load(self) -> bytes | None:
        """The newest archive whose stamp holds (one saved before stamps: as it is)."""
        for path in self._versions():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            stamp = self._stamp(path)
            legacy = stamp is None and not Path(f"{path}.json").exists()
            if legacy or (stamp is not None and stamp.holds(data)):
                return data
        return None

    def save(self, state: bytes, *, saved_at: int, epoch: int) -> bool:
        """Keep the older ones, then write the new one (temp file + rename): a crash at any
        point leaves a whole archive to restore."""
        current = self._stamp(self.path)
        if current is not None and current.newer_than(saved_at, epoch):
            return False
        versions = self._versions()
        for older, newer in zip(reversed(versions[1:]), reversed(versions[:-1]), strict=True):
            for suffix in ("", ".json"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{newer}{suffix}", f"{older}{suffix}")
        stamp = Stamp.of(state, saved_at=saved_at, epoch=epoch)
        self._write(Path(f"{self.path}.json"), json.dumps(stamp.__dict__).encode())
        self._write(self.path, state)
        return True

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".session-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def delete(self) -> None:
        """Remove every kept archive."""
        for path in self._versions():
            for name in (path, Path(f"{path}.json")):
                name.unlink(missing_ok=True)


class S3Logins:
    """``s3://<bucket>/sessions/<tenant>/profile.tar.gz`` with SSE-KMS, its stamp in the
    object's metadata; the bucket's versions are the older archives (its lifecycle keeps
    ``KEPT - 1`` of them)."""

    def __init__(self, client: Any, bucket: str, tenant_id: str, kms_key: str | None) -> None:
        self._client = client
        self._bucket = bucket
        self._key = f"sessions/{tenant_id}/profile.tar.gz"
        self._kms_key = kms_key

    @staticmethod
    def _stamp(metadata: dict[str, str]) -> Stamp | None:
        try:
            return Stamp(
                metadata["sha256"],
                int(metadata["size"]),
                int(metadata["saved-at"]),
                int(metadata["epoch"]),
            )
        except (KeyError, ValueError):
            return None

    def _whole(self, **version: str) -> bytes | None:
        response = self._client.get_object(Bucket=self._bucket, Key=self._key, **version)
        data: bytes = response["Body"].read()
        stamp = self._stamp(response.get("Metadata") or {})
        if stamp is None and not version:  # saved before stamps: as it is
            return data
        return data if stamp is not None and stamp.holds(data) else None

    def load(self) -> bytes | None:
        """The newest archive whose stamp holds, else an older version's."""
        try:
            data = self._whole()
        except self._client.exceptions.NoSuchKey:
            return None
        if data is not None:
            return data
        listed = self._client.list_object_versions(Bucket=self._bucket, Prefix=self._key)
        older = [
            v for v in listed.get("Versions", []) if v["Key"] == self._key and not v.get("IsLatest")
        ]
        older.sort(key=lambda v: v["LastModified"], reverse=True)
        for version in older[: KEPT - 1]:
            data = self._whole(VersionId=version["VersionId"])
            if data is not None:
                return data
        return None

    def save(self, state: bytes, *, saved_at: int, epoch: int) -> bool:
        """Put with server-side KMS encryption and the stamp, unless the stored one is newer."""
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=self._key)
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                raise
        else:
            current = self._stamp(head.get("Metadata") or {})
            if current is not None and current.newer_than(saved_at, epoch):
                return False
        stamp = Stamp.of(state, saved_at=saved_at, epoch=epoch)
        extra: dict[str, Any] = {
            "ServerSideEncryption": "aws:kms",
            "Metadata": {
                "sha256": stamp.sha256,
                "size": str(stamp.size),
                "saved-at": str(saved_at),
                "epoch": str(epoch),
            },
        }
        if self._kms_key:
            extra["SSEKMSKeyId"] = self._kms_key
        self._client.put_object(Bucket=self._bucket, Key=self._key, Body=state, **extra)
        return True

    def delete(self) -> None:
        """Delete the object (a versioned bucket keeps the versions until its lifecycle
        expires them; a restore after a logout starts from a delete marker: nothing)."""
        self._client.delete_object(Bucket=self._bucket, Key=self._key)
