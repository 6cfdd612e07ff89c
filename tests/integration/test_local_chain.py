"""make dev's webhook chain on a moto server, as make dev runs it: the stream poller sees every
change of a table, also after a transaction on it failed; the delivery consumers are fair
between tenants, as SQS fair queues are in AWS (a tenant whose receivers hang holds at most a
quarter of the threads, and another tenant's delivery goes out while they hang)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devstack import notify_local
from devstack.local_aws import MotoProcess, fake_credentials, moto_server


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoProcess]:
    with moto_server() as server:
        yield server


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in fake_credentials().items():
        monkeypatch.setenv(name, value)


def test_the_stream_poller_sees_every_change_after_a_failed_transaction(moto: MotoProcess) -> None:
    """moto rolls a failed transaction back by putting a copy of each table in its place;
    a stream reader that held the old table's shard heard nothing more (make dev lost every
    setup_request.decided after the first refused activation)."""
    ddb = boto3.client("dynamodb", endpoint_url=moto.endpoint, region_name="us-east-1")
    table = f"chain-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    seen: list[str] = []
    poller = notify_local.StreamPoller(
        moto.endpoint,
        "us-east-1",
        [table],
        lambda records: seen.extend(r["dynamodb"]["Keys"]["id"]["S"] for r in records),
    )
    ddb.put_item(TableName=table, Item={"id": {"S": "before"}, "status": {"S": "PENDING"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"id": {"S": "partial"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"id": {"S": "before"}},
                        "UpdateExpression": "SET #s = :a",
                        "ConditionExpression": "#s = :approved",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":a": {"S": "ACTIVE"},
                            ":approved": {"S": "APPROVED"},
                        },
                    }
                },
            ]
        )
    ddb.put_item(TableName=table, Item={"id": {"S": "after"}})
    poller.poll_once()
    assert seen == ["before", "after"]  # nothing of the refused transaction, nothing lost


def test_a_tenant_whose_receivers_hang_does_not_hold_up_another(moto: MotoProcess) -> None:
    queue, _ = notify_local.create_queues(moto.endpoint, "us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto.endpoint, region_name="us-east-1")
    release = threading.Event()  # the slow tenant's receivers answer when this is set
    other_done = threading.Event()
    slow_started: list[str] = []
    lock = threading.Lock()

    def handle(message: dict[str, Any]) -> str:
        if message["tenant"] == "t_slow":
            with lock:
                slow_started.append(message["key"])
            release.wait(30)
            return "delivered"
        other_done.set()
        return "delivered"

    # Eight hanging deliveries first, then one of another tenant behind them.
    for n in range(8):
        body = json.dumps({"tenant": "t_slow", "key": f"k{n}"})
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId="t_slow")
    other = json.dumps({"tenant": "t_other", "key": "k"})
    sqs.send_message(QueueUrl=queue, MessageBody=other, MessageGroupId="t_other")
    consumer = notify_local.QueueConsumer(moto.endpoint, "us-east-1", queue, handle, threads=4)
    consumer.start()
    try:
        assert other_done.wait(20), "the other tenant's delivery waited for the slow ones"
        with lock:
            assert len(slow_started) == 1  # a quarter of the threads, however many queued
    finally:
        release.set()
        consumer.close()
