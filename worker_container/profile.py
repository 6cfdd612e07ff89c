"""A tenant's browser profile as a compressed archive: the parts WhatsApp Web needs.

WhatsApp Web keeps its login as non-extractable CryptoKeys in IndexedDB; no script (and not
Playwright's ``storage_state``) can read them out of the page. Only Chromium's own files on
disk carry them, so the worker runs on a persistent profile and archives its IndexedDB and
Local Storage folders (not caches) to the session store; restored before launch.

Chromium writes those LevelDB folders while the page runs (every message, the first history
sync), so an archive is taken only while they are quiet: the files are listed, packed and
listed again, and the archive counts only if nothing changed in between and every LevelDB
in it is whole (its CURRENT names a MANIFEST that is there). Otherwise it is tried again a
moment later, and given up (``TornSnapshot``) rather than stored torn.
"""

from __future__ import annotations

import io
import stat
import tarfile
import time
from pathlib import Path

# Folders of a Chromium profile that hold the login (relative to the user data dir).
KEPT = ("Default/IndexedDB", "Default/Local Storage")


QUIET_TRIES = 5
QUIET_PAUSE_S = 0.3


class TornSnapshot(Exception):
    """The profile kept changing (or is not whole): no archive was made."""


def pack(profile: Path, *, tries: int = QUIET_TRIES, pause_s: float = QUIET_PAUSE_S) -> bytes:
    """A gzip'd tar of the kept folders of ``profile``, taken while they are quiet and whole
    (empty folders are fine); ``TornSnapshot`` after ``tries`` attempts."""
    for attempt in range(tries):
        before = _listing(profile)
        data = _archive(profile)
        if before == _listing(profile) and _whole(profile, before):
            return data
        if attempt + 1 < tries:
            time.sleep(pause_s)  # pacing between attempts (in a worker thread)
    raise TornSnapshot(f"the profile kept changing or is not whole ({tries} tries)")


def _archive(profile: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name in KEPT:
            folder = profile / name
            if folder.is_dir():
                archive.add(folder, arcname=name, filter=_skip_locks)
    return buffer.getvalue()


def _listing(profile: Path) -> dict[str, tuple[int, int]]:
    """Every kept file: (size, modification time in ns)."""
    found = {}
    for name in KEPT:
        for path in (profile / name).rglob("*"):
            try:
                info = path.stat()
            except FileNotFoundError:  # deleted while listed (a compaction): not quiet
                found[str(path)] = (-1, -1)
                continue
            if stat.S_ISREG(info.st_mode) and path.name != "LOCK":
                found[str(path.relative_to(profile))] = (info.st_size, info.st_mtime_ns)
    return found


def _whole(profile: Path, listing: dict[str, tuple[int, int]]) -> bool:
    """Every LevelDB in ``listing`` has a CURRENT naming a MANIFEST that is listed too."""
    for name in listing:
        if Path(name).name != "CURRENT":
            continue
        manifest = (profile / name).read_text(errors="replace").strip()
        if not manifest.startswith("MANIFEST-") or str(Path(name).parent / manifest) not in listing:
            return False
    return True


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
