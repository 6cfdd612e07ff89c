"""The webhook and e-mail chain in ``make dev``, on moto: what AWS runs as functions runs here
as threads calling the same code.

- a stream poller reads the tables' DynamoDB Streams (moto) and calls ``fanout.handle_records``
  (the stream function in AWS);
- consumers read the SQS queue (moto) and call ``delivery.handle`` (``webhook_deliver``);
- a demo receiver checks each webhook's signature and prints it;
- e-mails go to moto's SES; ``wafleet mail`` shows them.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from chalicelib.notify import signing
from devstack.console import say

QUEUE = "wafleet-webhooks"
DLQ = "wafleet-webhooks-dlq"
ALERT_FROM = "alerts@wafleet.local"
RECEIVER_PATH = "/demo-receiver"


def create_queues(endpoint: str, region: str) -> tuple[str, str]:
    """The delivery queue and its dead-letter queue on moto; returns their URLs."""
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    return queue, dlq


MEDIA_BUCKET = "wafleet-media-local"


def create_media_bucket(endpoint: str, region: str) -> str:
    """The bucket of the files answers carry, on moto (the portal uploads to it directly)."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=MEDIA_BUCKET)
    return MEDIA_BUCKET


def verify_sender(endpoint: str, region: str) -> None:
    """moto's SES sends only from a verified identity, like SES in its sandbox."""
    ses = boto3.client("ses", endpoint_url=endpoint, region_name=region)
    ses.verify_email_identity(EmailAddress=ALERT_FROM)


class StreamPoller:
    """Reads every streamed table's stream from now on and hands batches to ``handle``."""

    def __init__(self, endpoint: str, region: str, tables: list[str], handle: Any) -> None:
        self.ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name=region)
        self.handle = handle
        self.stop = threading.Event()
        self.iterators: dict[tuple[str, str], str] = {}  # (stream arn, shard) -> iterator
        for table in tables:
            arn = self.ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
            for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
                self.iterators[(arn, shard["ShardId"])] = iterator

    def poll_once(self) -> int:
        """One round over every shard; returns how many records were handled."""
        count = 0
        for (arn, shard), iterator in list(self.iterators.items()):
            page = self.streams.get_records(ShardIterator=iterator, Limit=100)
            records = [{**r, "eventSourceARN": arn} for r in page.get("Records", [])]
            if records:
                self.handle(records)  # raises: the same batch is read again next round
                count += len(records)
            self.iterators[(arn, shard)] = page.get("NextShardIterator") or iterator
        return count

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.poll_once():
                    self.stop.wait(0.05)
            except Exception as exc:
                say(f"webhook streams: {type(exc).__name__}: {exc}")
                self.stop.wait(1.0)


class QueueConsumer:
    """Receives deliveries one at a time and hands them to ``handle`` (``threads`` of them,
    so that a receiver that never answers does not hold up the others).

    Fair between tenants, as SQS fair queues are in AWS (``MessageGroupId`` = tenant): one
    tenant has at most ``per_tenant`` deliveries in flight (a quarter of the threads); a
    message of a tenant at its limit goes back on the queue for ``defer_s``. A tenant's slow
    receivers hold at most that many threads, and the others' deliveries go on meanwhile."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        url: str,
        handle: Any,
        threads: int = 8,
        per_tenant: int | None = None,
        defer_s: int = 1,
    ):
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
        self.url = url
        self.handle = handle
        self.threads = threads
        self.per_tenant = per_tenant or max(1, threads // 4)
        self.defer_s = defer_s
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._threads: list[threading.Thread] = []

    def _take(self, tenant: str) -> bool:
        with self._lock:
            if self._in_flight[tenant] >= self.per_tenant:
                return False
            self._in_flight[tenant] += 1
            return True

    def _done(self, tenant: str) -> None:
        with self._lock:
            self._in_flight[tenant] -= 1

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                got = self.sqs.receive_message(
                    QueueUrl=self.url, MaxNumberOfMessages=1, WaitTimeSeconds=1
                ).get("Messages", [])
                for message in got:
                    self._one(message)
            except Exception as exc:  # the queue is unreachable: try again in a moment
                say(f"webhook queue: {type(exc).__name__}")
                self.stop.wait(1.0)

    def _one(self, message: dict[str, Any]) -> None:
        body = json.loads(message["Body"])
        tenant = str(body.get("tenant", ""))
        receipt = message["ReceiptHandle"]
        if not self._take(tenant):
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt, VisibilityTimeout=self.defer_s
            )
            return
        try:
            self.handle(body)
        except Exception as exc:  # left on the queue: SQS redelivers it
            say(f"webhook delivery: {type(exc).__name__}: {exc}")
            return
        finally:
            self._done(tenant)
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self.run, name=f"webhook-deliver-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        """Stop receiving; returns once every thread has finished what it was doing."""
        self.stop.set()
        for thread in self._threads:
            thread.join()


@dataclass
class DemoReceiver:
    """Accepts webhooks, checks their signature with ``secret``, prints and keeps them."""

    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self, port: int) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                data = json.dumps(receiver.received).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                body = self.rfile.read(length).decode()
                ok = signing.verify(
                    receiver.secret,
                    self.headers.get("Wafleet-Signature", ""),
                    self.headers.get("Wafleet-Timestamp", ""),
                    body,
                    now_s=int(time.time()),
                )
                self.send_response(204 if ok else 401)
                self.end_headers()
                if not ok:
                    say("demo receiver: signature did not verify")
                    return
                event = json.loads(body)
                receiver.received.append(event)
                say(f"demo receiver: verified {event['type']} {event['id']}")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(
            target=self.server.serve_forever, name="demo-receiver", daemon=True
        ).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}{RECEIVER_PATH}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()


def demo_endpoint(tenant_id: str, url: str, now_ms: int) -> str:
    """The demo tenant's endpoint for the demo receiver (created once, its URL kept current
    across restarts); returns its secret."""
    from chalicelib.notify.events import EVENT_TYPES
    from chalicelib.store import hooks

    for item in hooks.list_endpoints(tenant_id):
        if (item.url or "").endswith(RECEIVER_PATH):
            if item.url != url:
                hooks.update_endpoint(tenant_id, hooks.endpoint_id(item), url=url)
            return item.secret or ""
    secret = signing.new_secret()
    hooks.add_endpoint(tenant_id, url, set(EVENT_TYPES), secret, now_ms=now_ms)
    return secret
