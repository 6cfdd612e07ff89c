"""Webhooks and owner e-mails on moto: stream records built from the items the store really
wrote, the fan-out, the delivering function (with a stand-in receiver), the portal API."""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from chalicelib.control import runtime
from chalicelib.domain.clock import ManualClock
from chalicelib.domain.statuses import SetupStatus, TemplateType
from chalicelib.domain.transitions import Actor, Event
from chalicelib.domain.values import QrCode
from chalicelib.domain.words import LOGGED_OUT
from chalicelib.notify import alerts, delivery, fanout, signing
from chalicelib.notify.delivery import Answer
from chalicelib.settings import Settings
from chalicelib.store import hooks, setup_requests, tenants
from tests.conftest import new_number
from tests.integration.conftest import Account

ALERT_FROM = "alerts@wafleet.test"


@dataclass
class Pipe:
    settings: Settings
    sqs: Any
    queue: str
    dlq: str

    def drain(self, url: str | None = None) -> list[dict[str, Any]]:
        out = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=url or self.queue, MaxNumberOfMessages=10, VisibilityTimeout=0
            ).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(
                    QueueUrl=url or self.queue, ReceiptHandle=m["ReceiptHandle"]
                )


@pytest.fixture
def pipe(client: Any, api_settings: Settings, clock: ManualClock, launcher: Any) -> Iterator[Pipe]:
    sqs = boto3.client("sqs", region_name=api_settings.region)
    name = uuid.uuid4().hex[:8]
    queue = sqs.create_queue(QueueName=f"wh-{name}")["QueueUrl"]
    dlq = sqs.create_queue(QueueName=f"wh-dlq-{name}")["QueueUrl"]
    boto3.client("ses", region_name=api_settings.region).verify_email_identity(
        EmailAddress=ALERT_FROM
    )
    settings = dataclasses.replace(
        api_settings,
        webhook_queue_url=queue,
        webhook_dlq_url=dlq,
        webhook_retry_s=0.05,  # retries stay under SQS's 1 s delay granularity
        webhook_give_up_s=600.0,
        alert_from=ALERT_FROM,
    )
    runtime.configure(settings, clock=clock, launcher=launcher)
    yield Pipe(settings, sqs, queue, dlq)


def raw_item(table: str, key: dict[str, str]) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    serialize = TypeSerializer().serialize
    found = ddb.get_item(
        TableName=table, Key={k: serialize(v) for k, v in key.items()}, ConsistentRead=True
    )
    return dict(found["Item"])


def record(table: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict:
    """A stream record as Lambda gets it."""
    image: dict[str, Any] = {}
    if new is not None:
        image["NewImage"] = new
    if old is not None:
        image["OldImage"] = old
    return {
        "eventName": "INSERT" if old is None else "MODIFY",
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/x",
        "dynamodb": image,
    }


def newest_history(settings: Settings, tenant_id: str) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    rows = ddb.query(
        TableName=settings.history_table,
        KeyConditionExpression="tid = :t",
        ExpressionAttributeValues={":t": {"S": tenant_id}},
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    return dict(rows[0])


def add_endpoint(tenant_id: str, events: set[str], clock: ManualClock) -> tuple[str, str]:
    secret = signing.new_secret()
    item = hooks.add_endpoint(
        tenant_id, "https://hooks.example.com/in", events, secret, now_ms=clock.now_ms()
    )
    return hooks.endpoint_id(item), secret


class Receiver:
    """Stands in for the tenant's HTTPS endpoint: answers from a script, keeps what it got."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.got: list[tuple[dict[str, str], str]] = []

    def __call__(self, url: str, headers: dict[str, str], body: str, **_: Any) -> Answer:
        self.got.append((headers, body))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def launched(tenant_id: str, clock: ManualClock) -> None:
    tenants.acquire_lease(tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)


def test_a_status_change_becomes_one_signed_delivery_even_when_the_batch_is_replayed(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    wanted, secret = add_endpoint(alice.tenant_id, {"status.changed"}, clock)
    add_endpoint(alice.tenant_id, {"message.received"}, clock)  # not subscribed to it
    launched(alice.tenant_id, clock)
    batch = [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    first = fanout.handle_records(batch)
    again = fanout.handle_records(batch)  # the stream delivers a batch again
    assert (first.queued, again.queued, again.replayed) == (1, 0, 1)
    [message] = pipe.drain()
    assert message["key"].startswith(f"dl#{wanted}#")

    receiver = Receiver(Answer(204))
    assert delivery.handle(message, sender=receiver) == "delivered"
    assert delivery.handle(message, sender=receiver) == "skipped"  # a second copy of it
    [(headers, body)] = receiver.got
    event = json.loads(body)
    assert event["type"] == "status.changed" and event["tenantId"] == alice.tenant_id
    assert event["data"]["after"]["worker"] == "STARTING" and event["data"]["cause"] == "launched"
    assert headers["Wafleet-Event-Id"] == event["id"]
    assert signing.verify(
        secret,
        headers["Wafleet-Signature"],
        headers["Wafleet-Timestamp"],
        body,
        now_s=clock.now_ms() // 1000,
    )
    assert not signing.verify(
        "whsec_other",
        headers["Wafleet-Signature"],
        headers["Wafleet-Timestamp"],
        body,
        now_s=clock.now_ms() // 1000,
    )


def test_a_linked_session_activates_its_approved_setup_request_once(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    request = setup_requests.submit(
        alice.tenant_id,
        "u1",
        template=TemplateType.RESTAURANT,
        whatsapp_number=new_number(),
        business_name="Alice Bakery",
        notes=None,
        now_ms=clock.now_ms(),
    )
    setup_requests.decide(request.request_id, approve=True, admin_id="a1", now_ms=clock.now_ms())
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    for event in (Event.HEARTBEAT, Event.READY):
        tenants.apply_event(
            alice.tenant_id, event, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
        )
    # The worker's write leaves the setup alone: setup statuses are out of its role's reach.
    assert tenants.get_tenant(alice.tenant_id).setup_status == SetupStatus.APPROVED.value

    ready = [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    assert fanout.handle_records(ready).activated == 1
    assert fanout.handle_records(ready).activated == 0  # the stream delivers a batch again
    assert setup_requests.get(request.request_id).status == SetupStatus.ACTIVE.value
    assert tenants.get_tenant(alice.tenant_id).setup_status == SetupStatus.ACTIVE.value


def log_out(tenant_id: str, lease: Any, clock: ManualClock) -> None:
    """The phone removed the linked device: the worker reports the logout."""
    tenants.apply_event(
        tenant_id,
        Event.AUTH_FAILURE,
        Actor.WORKER,
        now_ms=clock.now_ms(),
        lease=lease,
        detail=f"{LOGGED_OUT}: the phone logged this bot out",
    )


def test_a_logout_forgets_the_login_and_the_pairing_choice(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    tenants.request_pairing_code(alice.tenant_id, "+491511111111", now_ms=clock.now_ms())
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    for event in (Event.HEARTBEAT, Event.READY):
        tenants.apply_event(
            alice.tenant_id, event, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
        )
    assert tenants.get_tenant(alice.tenant_id).linked_at is not None
    log_out(alice.tenant_id, lease, clock)
    item = tenants.get_tenant(alice.tenant_id, consistent=True)
    assert item.linked_at is None  # the next start shows a code: the status page says so
    entry = [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    fanout.handle_records(entry)
    assert tenants.get_tenant(alice.tenant_id, consistent=True).link_phone is None  # QR again


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    pipe: Pipe, alice: Account, clock: ManualClock, client: Any
) -> None:
    endpoint, _ = add_endpoint(alice.tenant_id, {"status.changed"}, clock)
    launched(alice.tenant_id, clock)
    fanout.handle_records(
        [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    )
    [message] = pipe.drain()
    down = Receiver(Answer(503))
    assert delivery.handle(message, sender=down) == "retry"
    later = pipe.drain()  # back on the queue
    delays = []
    for _ in range(4):
        stored = hooks.get_delivery(alice.tenant_id, message["key"])
        assert stored is not None and stored.state == "FAILED"
        delays.append(int(stored.next_at) - clock.now_ms())
        clock.advance(delays[-1])
        assert delivery.handle(later[0], sender=down) == "retry"
        later = pipe.drain()
    assert all(b > a for a, b in itertools.pairwise(delays)), delays  # backing off
    clock.advance(int(pipe.settings.webhook_give_up_s * 1000))
    assert delivery.handle(later[0], sender=down) == "dead"
    [dead] = pipe.drain(pipe.dlq)
    assert dead["key"] == message["key"] and "503" in dead["reason"]
    listed = client.http.get("/portal/tenant/current/webhooks", headers=alice.headers)
    [row] = json.loads(listed.body)["endpoints"][0]["deliveries"]
    assert (row["state"], row["attempts"], row["lastCode"]) == ("DEAD", 6, 503)

    # The tenant resends it: same event id, a new series of attempts.
    resent = client.http.post(
        f"/portal/tenant/current/webhooks/{endpoint}/deliveries/{row['id']}/resend",
        headers=alice.headers,
    )
    assert resent.status_code == 202, resent.body
    [again] = pipe.drain()
    up = Receiver(Answer(200))
    assert delivery.handle(again, sender=up) == "delivered"
    assert json.loads(up.got[0][1])["id"] == row["eventId"]


def test_a_receiver_that_answers_410_disables_its_endpoint(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    endpoint, _ = add_endpoint(alice.tenant_id, {"status.changed"}, clock)
    launched(alice.tenant_id, clock)
    fanout.handle_records(
        [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    )
    [message] = pipe.drain()
    assert delivery.handle(message, sender=Receiver(Answer(410))) == "disabled"
    assert hooks.get_endpoint(alice.tenant_id, endpoint).enabled is False
    assert pipe.drain() == []  # no retry
    # Nothing more is queued for it.
    tenants.apply_event(alice.tenant_id, Event.STOPPED, Actor.OPERATOR, now_ms=clock.now_ms())
    report = fanout.handle_records(
        [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    )
    assert report.events == 1 and report.queued == 0


def test_messages_and_codes_become_their_own_events(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    from chalicelib.store import messages

    add_endpoint(alice.tenant_id, {"message.received", "qr.updated"}, clock)
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    key = {"tid": alice.tenant_id}
    before = raw_item(pipe.settings.tenants_table, key)
    code = QrCode("2@abc,def", 1, 6, clock.now_ms() + 60_000, made_at_ms=clock.now_ms())
    tenants.apply_event(
        alice.tenant_id, Event.QR, Actor.WORKER, now_ms=clock.now_ms(), lease=lease, qr=code
    )
    after = raw_item(pipe.settings.tenants_table, key)
    heartbeat_only = record(pipe.settings.tenants_table, after, after)
    rotated = record(pipe.settings.tenants_table, after, before)
    messages.record_inbound(
        alice.tenant_id,
        "wamid-1",
        from_number="+15550001",
        to_number=None,
        text="hello",
        at_ms=clock.now_ms(),
        chat="1@c.us",
    )
    inbound = record(
        pipe.settings.messages_table,
        raw_item(pipe.settings.messages_table, {"tid": alice.tenant_id, "mk": "in#wamid-1"}),
    )
    report = fanout.handle_records([heartbeat_only, rotated, inbound])
    assert report.events == 2 and report.queued == 2
    bodies = {}
    for message in pipe.drain():
        receiver = Receiver(Answer(200))
        delivery.handle(message, sender=receiver)
        event = json.loads(receiver.got[0][1])
        bodies[event["type"]] = event["data"]
    assert bodies["qr.updated"]["code"] == "2@abc,def"
    assert bodies["message.received"]["text"] == "hello"


def test_endpoints_through_the_portal_api(
    pipe: Pipe, alice: Account, bob: Account, client: Any
) -> None:
    def add(account: Account, payload: Any) -> Any:
        return client.http.post(
            "/portal/tenant/current/webhooks", headers=account.headers, body=json.dumps(payload)
        )

    for bad, field in (
        ({"url": "http://example.com/x", "events": ["status.changed"]}, "url"),
        ({"url": "https://127.0.0.1/x", "events": ["status.changed"]}, "url"),
        ({"url": "https://10.1.2.3/x", "events": ["status.changed"]}, "url"),
        ({"url": "https://user:pw@example.com/x", "events": ["status.changed"]}, "url"),
        ({"url": "https://example.com/x", "events": ["nope"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
    ):
        refused = add(alice, bad)
        assert refused.status_code == 400, bad
        assert json.loads(refused.body)["error"]["field"] == field
    created = add(alice, {"url": "https://example.com/x", "events": ["status.changed"]})
    assert created.status_code == 201
    doc = json.loads(created.body)
    secret, endpoint = doc["secret"], doc["endpoint"]["id"]
    assert secret.startswith("whsec_")
    listed = client.http.get("/portal/tenant/current/webhooks", headers=alice.headers)
    assert secret not in listed.body.decode()  # shown once, never listed
    rotated = client.http.post(
        f"/portal/tenant/current/webhooks/{endpoint}/secret", headers=alice.headers
    )
    assert json.loads(rotated.body)["secret"] not in (secret, None)
    # Another tenant can neither see nor touch it.
    assert (
        json.loads(client.http.get("/portal/tenant/current/webhooks", headers=bob.headers).body)[
            "endpoints"
        ]
        == []
    )
    gone = client.http.delete(f"/portal/tenant/current/webhooks/{endpoint}", headers=bob.headers)
    assert gone.status_code == 404
    removed = client.http.delete(
        f"/portal/tenant/current/webhooks/{endpoint}", headers=alice.headers
    )
    assert removed.status_code == 204


def sent_mails(subject_part: str) -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [m for m in backend.sent_messages if subject_part in getattr(m, "subject", "")]


def test_owner_mails_once_per_cause_per_hour_and_can_turn_them_off(
    pipe: Pipe, alice: Account, clock: ManualClock, client: Any
) -> None:
    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    owner = f"{alice.tenant_id}@example.com"

    def show_code() -> None:
        code = QrCode("2@x", 1, 6, clock.now_ms() + 60_000, made_at_ms=clock.now_ms())
        tenants.apply_event(
            alice.tenant_id, Event.QR, Actor.WORKER, now_ms=clock.now_ms(), lease=lease, qr=code
        )
        entry = newest_history(pipe.settings, alice.tenant_id)
        fanout.handle_records([record(pipe.settings.history_table, entry)])

    def mails() -> list[Any]:
        return [m for m in sent_mails("waiting for you") if owner in m.destinations["ToAddresses"]]

    show_code()
    assert len(mails()) == 1
    assert "/whatsapp.html" in mails()[0].body
    tenants.apply_event(
        alice.tenant_id, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    clock.advance(10 * 60_000)
    show_code()  # a second code within the hour: no second mail
    assert len(mails()) == 1
    clock.advance(60 * 60_000)
    tenants.apply_event(
        alice.tenant_id, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    show_code()
    assert len(mails()) == 2

    def back_mails() -> list[Any]:
        return [m for m in sent_mails("answering again") if owner in m.destinations["ToAddresses"]]

    def ready() -> None:
        tenants.apply_event(
            alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
        )
        fanout.handle_records(
            [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
        )

    # A first link ends no outage: no "answering again".
    ready()
    assert back_mails() == []
    # Each outage the owner is told of ends with "answering again", twice within an hour too
    # (a logged-out bot linked again, then 10 minutes later one that stopped answering).
    for n, cause in ((1, "logged_out"), (2, "not_answering")):
        clock.advance(10 * 60_000)
        tenants.apply_event(
            alice.tenant_id, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
        )
        assert alerts.notify(alice.tenant_id, cause)
        clock.advance(60_000)
        ready()
        assert len(back_mails()) == n

    def logged_out_mails() -> list[Any]:
        return [m for m in sent_mails("logged out") if owner in m.destinations["ToAddresses"]]

    before = len(logged_out_mails())
    clock.advance(61 * 60_000)  # past the hour: only the owner's choice stops the next one
    off = client.http.put(
        "/portal/tenant/current/alerts", headers=alice.headers, body=json.dumps({"email": False})
    )
    assert json.loads(off.body) == {"email": False}
    log_out(alice.tenant_id, lease, clock)
    fanout.handle_records(
        [record(pipe.settings.history_table, newest_history(pipe.settings, alice.tenant_id))]
    )
    assert len(logged_out_mails()) == before


def test_the_reaper_mails_the_owner_when_an_error_lasts(
    pipe: Pipe, alice: Account, clock: ManualClock
) -> None:
    from chalicelib.control.reaper import reap

    lease = tenants.acquire_lease(alice.tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
    tenants.apply_event(
        alice.tenant_id, Event.READY, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    tenants.apply_event(
        alice.tenant_id, Event.DISCONNECTED, Actor.WORKER, now_ms=clock.now_ms(), lease=lease
    )
    owner = f"{alice.tenant_id}@example.com"

    def mails() -> int:
        return len(
            [m for m in sent_mails("not answering") if owner in m.destinations["ToAddresses"]]
        )

    reap()
    assert mails() == 0  # an error that just began is not worth a mail
    clock.advance(int(pipe.settings.alert_error_after_s * 1000))
    reap()
    reap()
    assert mails() == 1
