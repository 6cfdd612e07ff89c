"""Where the login lives: a local folder, or S3 with SSE-KMS (on moto)."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3

from chalicelib.settings import Settings
from worker_container import profile
from worker_container.login_store import FolderLogins, S3Logins


def test_folder_store_round_trip_private_and_atomic(tmp_path: Path) -> None:
    store = FolderLogins(tmp_path, "t_1")
    assert store.load() is None
    store.save(b"archive")
    assert store.load() == b"archive"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["t_1.tar.gz"]  # no temp files left
    store.delete()
    assert store.load() is None


def test_s3_store_encrypts_with_kms_under_the_tenant_prefix(aws: Settings) -> None:
    s3 = boto3.client("s3", region_name=aws.region)
    kms = boto3.client("kms", region_name=aws.region)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.create_bucket(Bucket="wafleet-sessions")
    store = S3Logins(s3, "wafleet-sessions", "t_9", key)
    assert store.load() is None
    store.save(b"state")
    head = s3.head_object(Bucket="wafleet-sessions", Key="sessions/t_9/profile.tar.gz")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key in head["SSEKMSKeyId"]
    assert store.load() == b"state"
    store.delete()
    assert store.load() is None


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
