"""A tenant's browser profile as a compressed archive: the parts WhatsApp Web needs.

WhatsApp Web keeps its login as non-extractable CryptoKeys in IndexedDB; no script (and not
Playwright's ``storage_state``) can read them out of the page. Only Chromium's own files on
disk carry them, so the worker runs on a persistent profile and archives its IndexedDB and
Local Storage folders (not caches) to the session store; restored before launch.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

# Folders of a Chromium profile that hold the login (relative to the user data dir).
KEPT = ("Default/IndexedDB", "Default/Local Storage")


def pack(profile: Path) -> bytes:
    """A gzip'd tar of the kept folders of ``profile`` (empty folders are fine)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name in KEPT:
            folder = profile / name
            if folder.is_dir():
                archive.add(folder, arcname=name, filter=_skip_locks)
    return buffer.getvalue()


def holds_login(profile: Path) -> bool:
    """Whether ``profile`` has the folders a login lives in (a browser ran on it)."""
    return (profile / KEPT[0]).is_dir()


def unpack(data: bytes, profile: Path) -> None:
    """Restore an archive made by ``pack`` into ``profile`` (a fresh folder)."""
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        members = [m for m in archive.getmembers() if m.name.split("/")[:2] in _kept_parts()]
        archive.extractall(profile, members=members, filter="data")


def _kept_parts() -> list[list[str]]:
    return [name.split("/")[:2] for name in KEPT]


def _skip_locks(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    # LevelDB's LOCK belongs to the running browser; a restored profile makes its own.
    return None if info.name.endswith("/LOCK") else info
