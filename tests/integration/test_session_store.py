"""Where the login lives: a local folder, or S3 with SSE-KMS (on moto)."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3

from chalicelib.settings import Settings
from worker_container.session_store import FolderStore, S3Store


def test_folder_store_round_trip_private_and_atomic(tmp_path: Path) -> None:
    store = FolderStore(tmp_path, "t_1")
    assert store.load() is None
    store.save(b'{"cookies": []}')
    assert store.load() == b'{"cookies": []}'
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["t_1.json"]  # no temp files left
    store.delete()
    assert store.load() is None


def test_s3_store_encrypts_with_kms_under_the_tenant_prefix(aws: Settings) -> None:
    s3 = boto3.client("s3", region_name=aws.region)
    kms = boto3.client("kms", region_name=aws.region)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.create_bucket(Bucket="wafleet-sessions")
    store = S3Store(s3, "wafleet-sessions", "t_9", key)
    assert store.load() is None
    store.save(b"state")
    head = s3.head_object(Bucket="wafleet-sessions", Key="sessions/t_9/storage-state.json")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key in head["SSEKMSKeyId"]
    assert store.load() == b"state"
    store.delete()
    assert store.load() is None
