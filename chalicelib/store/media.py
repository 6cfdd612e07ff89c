"""Pictures and PDFs the owner's answers carry: in S3 under ``<tenant>/<id>``. The browser
uploads a file itself with a presigned POST (type and size fixed by its policy); before a
save may use it, the file is checked by its first bytes, never by its name; the worker reads
it when it answers."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.control import runtime
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.rules import MAX_MEDIA_BYTES, MEDIA_TYPES
from chalicelib.domain.templates import Attachment

UPLOAD_S = 600  # a presigned POST is good for this long
# How each type's files begin (JPEG: SOI and a marker; PNG: its signature; PDF: its header).
MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}


def _bucket() -> str:
    bucket = runtime.get().settings.media_bucket
    if not bucket:
        raise ValidationError("media", "files are not switched on here (WAFLEET_MEDIA_BUCKET)")
    return bucket


def _s3() -> Any:
    from chalicelib.notify import queue

    return queue.client("s3")


def key(tenant_id: str, media_id: str) -> str:
    return f"{tenant_id}/{media_id}"


def upload(tenant_id: str, *, name: Any, kind: Any, size: Any) -> dict[str, Any]:
    """A presigned POST for one file of ``kind`` and at most 5 MB, under a new id."""
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 100:
        raise ValidationError("name", "must be the file's name (at most 100 characters)")
    if kind not in MEDIA_TYPES:
        raise ValidationError("type", "must be a JPEG, PNG or PDF")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_MEDIA_BYTES:
        raise ValidationError("size", "must be at most 5 MB")
    media_id = "m_" + secrets.token_hex(8)
    post = _s3().generate_presigned_post(
        Bucket=_bucket(),
        Key=key(tenant_id, media_id),
        Fields={"Content-Type": kind},
        Conditions=[{"Content-Type": kind}, ["content-length-range", 1, MAX_MEDIA_BYTES]],
        ExpiresIn=UPLOAD_S,
    )
    return {"id": media_id, "name": name.strip(), "url": post["url"], "fields": post["fields"]}


def check(tenant_id: str, given: Attachment, field: str) -> Attachment:
    """``given`` as it really is: uploaded, at most 5 MB, and a JPEG, PNG or PDF by its first
    bytes (whatever its name or declared type say)."""
    s3, bucket = _s3(), _bucket()
    try:
        head = s3.head_object(Bucket=bucket, Key=key(tenant_id, given.id))
        start = s3.get_object(Bucket=bucket, Key=key(tenant_id, given.id), Range="bytes=0-15")
    except s3.exceptions.ClientError as exc:
        raise ValidationError(field, "was not uploaded (or has expired); upload it again") from exc
    size = int(head["ContentLength"])
    if not 0 < size <= MAX_MEDIA_BYTES:
        raise ValidationError(field, "must be a file of at most 5 MB")
    first = start["Body"].read()
    kind = next((k for k, magic in MAGIC.items() if first.startswith(magic)), None)
    if kind is None:
        raise ValidationError(field, "is not a JPEG, PNG or PDF (judged by its content)")
    return Attachment(given.id, given.name, kind, size)


def read(s3: Any, bucket: str, tenant_id: str, media_id: str) -> bytes:
    """The file's bytes (the worker, with its own client)."""
    data: bytes = s3.get_object(Bucket=bucket, Key=key(tenant_id, media_id))["Body"].read()
    return data
