"""Where the login lives: a local folder, or S3 with SSE-KMS (on moto)."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3
import pytest

from chalicelib.settings import Settings
from worker_container import profile
from worker_container.login_store import FolderLogins, S3Logins


def test_folder_store_round_trip_private_and_atomic(tmp_path: Path) -> None:
    store = FolderLogins(tmp_path, "t_1")
    assert store.load() is None
    assert store.save(b"archive", saved_at=1, epoch=1)
    assert store.load() == b"archive"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t_1.tar.gz", "t_1.tar.gz.json"]
    store.delete()
    assert store.load() is None and list(tmp_path.iterdir()) == []


def test_folder_store_keeps_three_refuses_an_older_save_and_skips_a_torn_archive(
    tmp_path: Path,
) -> None:
    store = FolderLogins(tmp_path, "t_1")
    for n in range(1, 5):
        assert store.save(f"archive {n}".encode(), saved_at=n * 1000, epoch=1)
    assert store.load() == b"archive 4"
    assert len(list(tmp_path.glob("t_1*.tar.gz"))) == 3
    # A worker that lost its lease, or saved before the last save, is refused.
    assert not store.save(b"stale", saved_at=9000, epoch=0)
    assert not store.save(b"late", saved_at=3000, epoch=1)
    assert store.load() == b"archive 4"
    store.path.write_bytes(b"archive 4 but cut")  # torn on disk: its checksum fails
    assert store.load() == b"archive 3"
    # A login saved before archives were stamped is restored as it is.
    legacy = FolderLogins(tmp_path, "t_old")
    legacy.path.write_bytes(b"old archive")
    assert legacy.load() == b"old archive"


def test_s3_store_encrypts_with_kms_under_the_tenant_prefix(aws: Settings) -> None:
    s3 = boto3.client("s3", region_name=aws.region)
    kms = boto3.client("kms", region_name=aws.region)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.create_bucket(Bucket="wafleet-sessions")
    s3.put_bucket_versioning(
        Bucket="wafleet-sessions", VersioningConfiguration={"Status": "Enabled"}
    )
    store = S3Logins(s3, "wafleet-sessions", "t_9", key)
    assert store.load() is None
    assert store.save(b"state", saved_at=1000, epoch=1)
    head = s3.head_object(Bucket="wafleet-sessions", Key="sessions/t_9/profile.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key in head["SSEKMSKeyId"]
    assert head["Metadata"]["epoch"] == "1" and head["Metadata"]["size"] == "5"
    assert store.load() == b"state"
    assert store.save(b"state 2", saved_at=2000, epoch=1)
    assert not store.save(b"stale", saved_at=9000, epoch=0)  # a replaced worker's
    # The newest version torn (its bytes are not what its stamp says): the one before.
    s3.put_object(
        Bucket="wafleet-sessions",
        Key="sessions/t_9/profile.tar.gz",
        Body=b"state 3 but cut",
        Metadata={"sha256": "0" * 64, "size": "7", "saved-at": "3000", "epoch": "1"},
    )
    assert store.load() == b"state 2"
    store.delete()
    assert store.load() is None  # a logout is never undone by an older version


def test_the_profile_archive_keeps_the_login_folders_and_drops_caches(tmp_path: Path) -> None:
    source = tmp_path / "profile"
    for name, data in {
        "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb/000003.log": b"keys",
        "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb/LOCK": b"",
        "Default/Local Storage/leveldb/000005.ldb": b"local",
        "Default/Cache/Cache_Data/data_1": b"x" * 100_000,
        "Default/Service Worker/CacheStorage/big": b"y" * 100_000,
    }.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    archive = profile.pack(source)
    assert len(archive) < 2_000  # the caches stayed behind
    restored = tmp_path / "restored"
    profile.unpack(archive, restored)
    files = sorted(str(p.relative_to(restored)) for p in restored.rglob("*") if p.is_file())
    assert files == [
        "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb/000003.log",
        "Default/Local Storage/leveldb/000005.ldb",
    ]


def test_an_archive_is_taken_only_while_the_profile_is_quiet_and_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb"
    db.mkdir(parents=True)
    (db / "CURRENT").write_text("MANIFEST-000001\n")
    (db / "MANIFEST-000001").write_bytes(b"manifest")
    (db / "000003.log").write_bytes(b"keys")
    assert profile.pack(tmp_path, pause_s=0)  # quiet and whole
    writes = iter(range(100))
    archive = profile._archive

    def busy(folder: Path) -> bytes:  # Chromium writes while the archive is taken
        data = archive(folder)
        (db / "000003.log").write_bytes(b"keys" * (2 + next(writes)))
        return data

    monkeypatch.setattr(profile, "_archive", busy)
    with pytest.raises(profile.TornSnapshot):
        profile.pack(tmp_path, pause_s=0)
    monkeypatch.setattr(profile, "_archive", archive)
    (db / "CURRENT").write_text("MANIFEST-000009\n")  # names a manifest that is not there
    with pytest.raises(profile.TornSnapshot):
        profile.pack(tmp_path, pause_s=0)
