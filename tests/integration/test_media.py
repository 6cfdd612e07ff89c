"""Pictures and PDFs in answers: uploaded with a presigned POST, judged by their content."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3
import pytest

from chalicelib.settings import Settings
from tests.integration.test_api import Account, body, post

BUCKET = "wafleet-media-test"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PATH = "/portal/tenant/current/replies"


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return dataclasses.replace(api_settings, media_bucket=BUCKET)


def uploaded(client: Any, account: Account, name: str, kind: str, data: bytes) -> dict[str, Any]:
    """What the browser does: ask where, then POST the file there (here: put it there)."""
    answer = post(
        client, f"{PATH}/media", account.headers, {"name": name, "type": kind, "size": len(data)}
    )
    assert answer.status_code == 201, answer.body
    where = body(answer)
    assert where["fields"]["key"] == f"{account.tenant_id}/{where['id']}"
    assert where["fields"]["Content-Type"] == kind and "policy" in where["fields"]
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=BUCKET, Key=where["fields"]["key"], Body=data
    )
    return {"id": where["id"], "name": name, "type": kind, "size": len(data)}


def save(client: Any, account: Account, media: dict[str, Any]) -> Any:
    rules = {"topics": [{"keywords": ["menu"], "answer": "Our menu.", "media": media}]}
    return client.http.put(
        PATH, headers=account.headers, body=json.dumps({"rules": rules, "baseVersion": 0})
    )


def test_a_pdf_uploaded_is_saved_with_its_answer_and_shown_in_the_preview(
    client: Any, alice: Account, bob: Account
) -> None:
    media = uploaded(client, alice, "menu.pdf", "application/pdf", PDF)
    saved = save(client, alice, {**media, "size": 1})  # the size is read from the file itself
    assert saved.status_code == 200, saved.body
    assert body(saved)["rules"]["topics"][0]["media"] == {**media, "size": len(PDF)}
    preview = body(post(client, f"{PATH}/preview", alice.headers, {"text": "menu"}))
    assert preview["media"] == {"name": "menu.pdf", "type": "application/pdf"}
    theirs = save(client, bob, media)  # another tenant cannot send alice's file
    assert theirs.status_code == 400 and "was not uploaded" in body(theirs)["error"]["message"]


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ({"name": "menu.exe", "type": "application/x-msdownload", "size": 10}, "type"),
        ({"name": "menu.pdf", "type": "application/pdf", "size": 6 * 1024 * 1024}, "size"),
        ({"name": "", "type": "application/pdf", "size": 10}, "name"),
    ],
)
def test_a_file_of_another_type_or_too_big_gets_no_upload(
    client: Any, alice: Account, upload: dict[str, Any], message: str
) -> None:
    refused = post(client, f"{PATH}/media", alice.headers, upload)
    assert refused.status_code == 400 and body(refused)["error"]["field"] == message


def test_a_file_is_judged_by_its_content_not_its_name(client: Any, alice: Account) -> None:
    fake = uploaded(client, alice, "menu.pdf", "application/pdf", b"MZ\x90\x00 not a pdf at all")
    refused = save(client, alice, fake)
    assert refused.status_code == 400
    assert body(refused)["error"]["field"] == "topics.0.media"
    assert "judged by its content" in body(refused)["error"]["message"]
    never = save(client, alice, {**fake, "id": "m_0123456789abcdef"})
    assert "was not uploaded" in body(never)["error"]["message"]
    # Nothing was saved: the bot still answers with the starting point.
    assert body(client.http.get(PATH, headers=alice.headers))["version"] == 0
