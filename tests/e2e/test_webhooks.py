"""The webhook chain of ``make dev`` end to end: a worker's status changes reach receivers
signed; a receiver that fails five times still gets each event exactly once; one that never
answers ends in the dead-letter queue without holding up the others; the owner's mail is
readable with ``wafleet mail``; the Notifications page shows it all."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from playwright.sync_api import Browser, expect

from chalicelib.notify import signing
from tests.e2e.test_dev_data import Api, cli
from tests.processes import ROOT, creds, dev_stack, eventually, sign_in

pytestmark = pytest.mark.process


class Receiver:
    """A local endpoint: fails the first ``failures`` POSTs, or never answers at all."""

    def __init__(self, failures: int = 0, silent: bool = False) -> None:
        self.failures, self.silent = failures, silent
        self.secret = ""
        self.posts = 0
        self.accepted: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.posts += 1
                if receiver.silent:
                    receiver.release.wait(30)  # never answers (until the test ends)
                    return
                if receiver.posts <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                if not signing.verify(
                    receiver.secret,
                    self.headers["Wafleet-Signature"],
                    self.headers["Wafleet-Timestamp"],
                    body,
                    now_s=int(time.time()),
                ):
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.accepted.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    flaky, silent = Receiver(failures=5), Receiver(silent=True)
    yield flaky, silent
    flaky.close()
    silent.close()


@pytest.fixture
def stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: tuple[Receiver, Receiver]
) -> Iterator[dict[str, str]]:
    # Long enough for a delivery to wait its turn: the three receivers belong to one tenant,
    # which make dev's fair consumers give two threads while the silent one holds them.
    monkeypatch.setenv("WAFLEET_WEBHOOK_GIVE_UP_S", "10")
    monkeypatch.setenv("WAFLEET_WEBHOOK_RETRY_S", "0.1")
    monkeypatch.setenv("WAFLEET_WEBHOOK_TIMEOUT_S", "1")
    # make dev accepts plain-http loopback receivers it is told of, and no other.
    monkeypatch.setenv("WAFLEET_WEBHOOK_LOCAL_RECEIVERS", ",".join(r.url for r in receivers))
    with dev_stack(tmp_path / "dev") as ready:
        yield ready


def test_status_changes_reach_every_receiver_signed_exactly_once(
    stack: dict[str, str], browser: Browser, receivers: tuple[Receiver, Receiver]
) -> None:
    owner, admin = Api(stack, "owner@demo.example"), Api(stack, "admin@demo.example")
    flaky, silent = receivers
    # The stack's own API and moto are on loopback too: never a webhook's destination.
    for own in (stack["portal"] + "/api/health", stack["dynamodb"] + "/moto-api/reset"):
        refused = requests.post(
            owner.base + "/portal/tenant/current/webhooks",
            json={"url": own, "events": ["status.changed"]},
            headers=owner.headers,
            timeout=10,
        )
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "url"
    for receiver in (flaky, silent):
        created = owner.post(
            "/portal/tenant/current/webhooks",
            {"url": receiver.url, "events": ["status.changed"]},
        )
        receiver.secret = created["secret"]
    owner.post(
        "/portal/tenant/current/setup-requests",
        {"templateType": "SHOP", "whatsappNumber": "+4915112349999"},
    )
    request = admin.get("/admin/setup-requests")["items"][0]
    admin.post(f"/admin/setup-requests/{request['id']}/approve")
    admin.post("/admin/tenants/t_demo/worker/start")

    def demo_got_the_launch() -> bool:
        got = requests.get(stack["receiver"], timeout=10).json()
        return any(e["data"].get("cause") == "launched" for e in got if "cause" in e["data"])

    eventually(demo_got_the_launch, timeout=20, what="the demo receiver's verified event")
    # Meanwhile the silent receiver's deliveries are still being tried: nobody waited.
    endpoints = owner.get("/portal/tenant/current/webhooks")["endpoints"]
    mine = next(e for e in endpoints if e["url"] == silent.url)
    assert all(d["state"] != "DEAD" for d in mine["deliveries"])

    # The flaky receiver: five failures, then each event exactly once. Each delivery is
    # retried with its own backoff, so they may arrive in any order: wait for each.
    def flaky_has(cause: str) -> bool:
        return any(e["data"]["cause"] == cause for e in flaky.accepted)

    for cause in ("launched", "qr"):
        eventually(lambda c=cause: flaky_has(c), timeout=30, what=f"{cause} after failures")
    ids = [e["id"] for e in flaky.accepted]
    assert len(ids) == len(set(ids)), ids
    assert flaky.bad_signatures == 0 and flaky.posts >= 5 + len(ids)

    # The silent one: every delivery ends in the dead-letter queue.
    sqs = boto3.client("sqs", endpoint_url=stack["dynamodb"], region_name="us-east-1", **creds())
    dlq = sqs.get_queue_url(QueueName="wafleet-webhooks-dlq")["QueueUrl"]

    def dead_lettered() -> list[Any]:
        doc = owner.get("/portal/tenant/current/webhooks")["endpoints"]
        rows = next(e for e in doc if e["url"] == silent.url)["deliveries"]
        return rows if rows and all(d["state"] == "DEAD" for d in rows) else []

    rows = eventually(dead_lettered, timeout=60, what="the silent receiver given up on")
    waiting = sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert int(waiting) >= len(rows) >= 1
    assert all(d["lastError"] == "timed out" for d in rows)

    # The owner was mailed about the code to scan.
    mail = cli(stack["folder"], "mail")
    assert "To: owner@demo.example" in mail and "waiting for you to link" in mail

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, stack["portal"], "owner@demo.example")
    page.get_by_role("link", name="Notifications").click()
    card = page.locator(f"[data-endpoint='{mine['id']}']")
    expect(card).to_contain_text("gave up")
    expect(page.locator("#mail-alerts")).to_be_checked()
    page.get_by_label("HTTPS address").fill("ftp://nope")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#hook-error")).to_contain_text("https")
    shot = Path(stack["folder"]) / "notifications.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("WAFLEET_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(shot, ROOT / "docs" / "screenshots" / "notifications.png")
