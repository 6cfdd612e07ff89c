"""Webhooks from a status write to a verified receiver, on moto, with the chain ``make dev``
runs (stream poller -> fan-out -> SQS -> delivering consumers).

Latency: 30 status changes one after another (the next once the last was verified), from the
history entry's write time to the moment the receiver has checked the signature. Then a
burst: 10 tenants, 6 changes each; every tenant has a receiver that answers 2xx, half also
one that fails a third of its requests at random, one tenant also one that never answers, another
four that trickle their answers a byte at a time: throughput, duplicates, lost and
dead-lettered, and how long the other tenants' events took meanwhile
(``other_tenants_delivery_ms_p95``: each attempt has a deadline, and the consumers hand one
tenant at most half their threads). moto applies DynamoDB operations one at a
time and copies the tables on every transaction, so the burst measures moto more than the
chain. Last line: one JSON object.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3

from devstack.local_aws import fake_credentials, moto_server

TENANTS = 10
CHANGES = 6
LATENCY_ROUNDS = 30
SLOW_ENDPOINTS = int(os.environ.get("BENCH_SLOW_ENDPOINTS", "4"))


class Receiver:
    def __init__(self, kind: str, seed: int) -> None:
        self.kind = kind
        self.rng = random.Random(seed)
        self.secrets: dict[str, str] = {}  # tenant -> secret
        self.ok: list[tuple[str, float]] = []  # (event id, verified at)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                from chalicelib.notify import signing

                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                if receiver.kind == "silent":
                    receiver.stop.wait(30)
                    return
                if receiver.kind == "trickle":  # a byte of its headers every 200 ms, forever
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        while not receiver.stop.wait(0.2):
                            self.wfile.write(b"X")
                            self.wfile.flush()
                    except OSError:
                        pass  # the sender gave up: its deadline
                    return
                with receiver.lock:
                    fail = receiver.kind == "flaky" and receiver.rng.random() < 1 / 3
                if fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                event = json.loads(body)
                ok = signing.verify(
                    receiver.secrets[event["tenantId"]],
                    self.headers["Wafleet-Signature"],
                    self.headers["Wafleet-Timestamp"],
                    body,
                    now_s=int(time.time()),
                )
                now = time.time() * 1000
                self.send_response(200 if ok else 401)
                self.end_headers()
                if ok:
                    with receiver.lock:
                        receiver.ok.append((event["id"], now))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()


def main() -> None:
    os.environ.update(fake_credentials())
    from chalicelib.control import runtime
    from chalicelib.domain.clock import SystemClock
    from chalicelib.domain.transitions import Actor, Event
    from chalicelib.notify import delivery, events, fanout, signing
    from chalicelib.settings import Settings
    from chalicelib.store import hooks, models, tenants
    from chalicelib.store.models import HistoryModel
    from devstack import notify_local

    clock = SystemClock()
    with moto_server() as moto:
        queue, dlq = notify_local.create_queues(moto.endpoint, "us-east-1")
        good, flaky, silent = Receiver("good", 1), Receiver("flaky", 2), Receiver("silent", 3)
        trickle = Receiver("trickle", 4)
        receivers = (good, flaky, silent, trickle)
        settings = Settings(
            dynamodb_endpoint=moto.endpoint,
            aws_endpoint=moto.endpoint,
            webhook_queue_url=queue,
            webhook_dlq_url=dlq,
            webhook_local_receivers=tuple(r.url for r in receivers),
            webhook_retry_s=0.1,
            webhook_give_up_s=10.0,
            webhook_timeout_s=5.0,  # as in production: a slow 2xx is not retried
        )
        models.bind(settings)
        models.create_tables(streams=True)
        runtime.configure(settings, clock=clock)
        ids = []
        for n in range(TENANTS):
            tenant = tenants.create_tenant(f"Bench {n}", now_ms=clock.now_ms(), phone=None)
            ids.append(tenant.tenant_id)
            chosen = [good] + ([flaky] if n % 2 == 0 and n else []) + ([silent] if n == 1 else [])
            # Tenant 0 also has four endpoints that trickle their answers: each attempt
            # lasts its whole deadline.
            chosen += [trickle] * (SLOW_ENDPOINTS if n == 0 else 0)
            for k, receiver in enumerate(chosen):
                secret = signing.new_secret()
                receiver.secrets[tenant.tenant_id] = secret
                hooks.add_endpoint(
                    tenant.tenant_id,
                    f"{receiver.url}/{k}",
                    {"status.changed"},
                    secret,
                    now_ms=clock.now_ms(),
                )
        streamed = [m.Meta.table_name for m in models.STREAMED]
        poller = notify_local.StreamPoller(
            moto.endpoint, "us-east-1", streamed, fanout.handle_records
        )
        threading.Thread(target=poller.run, daemon=True).start()
        consumer = notify_local.QueueConsumer(
            moto.endpoint,
            "us-east-1",
            queue,
            delivery.handle,
            threads=8,
            defer_s=math.ceil(settings.webhook_timeout_s),
        )
        consumer.start()

        # Latency: one change at a time on a tenant of its own, with only the good receiver.
        solo = tenants.create_tenant("Bench solo", now_ms=clock.now_ms(), phone=None).tenant_id
        secret = signing.new_secret()
        good.secrets[solo] = secret
        hooks.add_endpoint(solo, good.url, {"status.changed"}, secret, now_ms=clock.now_ms())
        latency_ms = []
        for n in range(LATENCY_ROUNDS):
            seen = len(good.ok)
            if n % 2 == 0:
                tenants.acquire_lease(solo, now_ms=clock.now_ms(), stale_after_ms=1000)
            else:
                tenants.apply_event(solo, Event.STOPPED, Actor.OPERATOR, now_ms=clock.now_ms())
            entry = next(iter(HistoryModel.query(solo, scan_index_forward=False, limit=1)))
            wanted = events.event_id("status", solo, entry.sk)
            deadline = time.time() + 30
            while time.time() < deadline and not any(e == wanted for e, _ in good.ok[seen:]):
                time.sleep(0.005)
            arrived = next(t for e, t in good.ok[seen:] if e == wanted)
            latency_ms.append(arrived - float(entry.at))
        good.ok.clear()

        started = time.time()
        for _ in range(CHANGES // 2):
            for tenant_id in ids:
                tenants.acquire_lease(tenant_id, now_ms=clock.now_ms(), stale_after_ms=1000)
                tenants.apply_event(tenant_id, Event.STOPPED, Actor.OPERATOR, now_ms=clock.now_ms())
        wrote_s = time.time() - started
        written = {}  # event id -> (tenant, write time)
        for tenant_id in ids:
            for entry in HistoryModel.query(tenant_id):
                event_id = events.event_id("status", tenant_id, entry.sk)
                written[event_id] = (tenant_id, float(entry.at))
        expected_good = set(written)
        expected_flaky = {e for e, (t, _) in written.items() if t in flaky.secrets}
        deadline = time.time() + 120
        while time.time() < deadline:
            got_good = {e for e, _ in good.ok}
            got_flaky = {e for e, _ in flaky.ok}
            if expected_good <= got_good and expected_flaky <= got_flaky:
                break
            time.sleep(0.1)
        finished = max(t for _, t in good.ok) / 1000
        # Let the silent receiver's deliveries run out (give-up 10 s, timeout 5 s).
        sqs = boto3.client("sqs", endpoint_url=moto.endpoint, region_name="us-east-1")
        dead = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            attrs = sqs.get_queue_attributes(
                QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            dead = int(attrs["ApproximateNumberOfMessages"])
            if dead >= CHANGES:
                break
            time.sleep(0.2)
        poller.stop.set()
        consumer.stop.set()
        latencies = sorted(latency_ms)
        others = sorted(t - written[e][1] for e, t in good.ok if written[e][0] != ids[0])
        per_receiver = [Counter(e for e, _ in r.ok) for r in (good, flaky)]
        for receiver in receivers:
            receiver.close()
        result = {
            "benchmark": "webhooks",
            "events": len(written) + LATENCY_ROUNDS,
            "delivery_ms_p50": round(statistics.median(latencies)),
            "delivery_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1]),
            "delivery_ms_max": round(latencies[-1]),
            "events_per_s": round(len(good.ok) / max(finished - started, 0.001), 1),
            "burst_latency_ms_max": round(max(t - written[e][1] for e, t in good.ok)),
            # Tenants other than the one whose receivers trickle, at the good receiver.
            "other_tenants_delivery_ms_p95": round(others[int(len(others) * 0.95) - 1]),
            "duplicates": sum(c - 1 for counts in per_receiver for c in counts.values() if c > 1),
            "lost": len(expected_good - {e for e, _ in good.ok})
            + len(expected_flaky - {e for e, _ in flaky.ok}),
            "dead_lettered": dead,
            "write_s": round(wrote_s, 1),
            "target_delivery_ms_p95": 2000,
            "target_other_tenants_delivery_ms_p95": 6000,
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
