"""One worker against the simulator: QR publish latency, reply latency, memory, throughput.

Last line: {"qr_publish_ms_p50": ..., "reply_ms_p50": ..., "reply_ms_p95": ...,
            "worker_rss_mb": ..., "browser_pss_mb": ..., "msgs_per_s": ...}
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.local_aws import fake_credentials, moto_server

T = TypeVar("T")
PHONE = "+4915100000009"
REPLIES = 30
BURST = 50


def until(check: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        threading.Event().wait(0.01)
    raise TimeoutError(str(check))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    os.environ.update(fake_credentials())
    from chalicelib.control import runtime, workers
    from chalicelib.control.workers import worker_exited
    from chalicelib.domain.clock import SystemClock
    from chalicelib.launch.local import LocalLauncher
    from chalicelib.settings import Settings
    from chalicelib.store import models, tenants
    from devstack.simulator.server import make_server
    from devstack.simulator.state import QrTiming, Simulator

    clock = SystemClock()
    sim = Simulator(clock.now_ms, QrTiming(first_ms=1000, next_ms=700, count=6))
    server = make_server(sim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim_url = f"http://127.0.0.1:{server.server_address[1]}"
    with moto_server() as moto, tempfile.TemporaryDirectory() as sessions:
        settings = Settings(dynamodb_endpoint=moto.endpoint, heartbeat_s=1, stale_s=5)
        models.bind(settings)
        models.create_tables(wait=False)
        env = {
            **settings.as_env(),
            **fake_credentials(),
            "WAFLEET_WHATSAPP_URL": sim_url + "/",
            "WAFLEET_SESSION_DIR": sessions,
            "WAFLEET_RATE_PER_MIN": "0",
            "WAFLEET_QR_FIRST_S": "1",
            "WAFLEET_QR_NEXT_S": "0.7",
        }
        launcher = LocalLauncher(env, on_exit=worker_exited)
        runtime.configure(settings, launcher=launcher)
        tid = tenants.create_tenant("Bench Bistro", now_ms=clock.now_ms(), phone=PHONE).tenant_id
        workers.start(tid)

        # QR: from the moment the page got a code to the moment DynamoDB holds it.
        published: dict[str, int] = {}

        def six_codes() -> bool:
            item = tenants.get_tenant(tid, consistent=True)
            if item.qr_payload:
                published.setdefault(item.qr_payload, int(item.qr_at))
            return len(published) >= 6

        until(six_codes)
        served = sim.served_ms
        qr_ms = [published[p] - served[p] for p in published if p in served]
        current = until(lambda: tenants.get_tenant(tid, consistent=True).qr_payload)
        requests.post(
            sim_url + "/control/link", json={"payload": current, "phone": PHONE}, timeout=10
        ).raise_for_status()
        until(lambda: tenants.get_tenant(tid, consistent=True).session_state == "CONNECTED")

        def sent() -> list[dict[str, Any]]:
            return list(sim.sent(PHONE))

        # Reply latency: one message at a time, inbound stamp to outbound stamp.
        reply_ms = []
        for i in range(REPLIES):
            inbound = sim.inbound(PHONE, "+15550000", f"hours {i}", None)
            at = next(
                m.at_ms for m in sim.phones[PHONE].chats["+15550000"] if m.id == inbound["id"]
            )
            out = until(lambda n=i: sent()[n] if len(sent()) > n else None)
            reply_ms.append(out["at"] - at)

        pid = int(tenants.get_tenant(tid).task_ref.split(":")[1])
        worker = psutil.Process(pid)
        rss = worker.memory_info().rss / 2**20
        browser = (
            sum(
                p.memory_full_info().pss
                for p in worker.children(recursive=True)
                if "chrom" in p.name().lower()
            )
            / 2**20
        )

        # Throughput: a burst from many senders, rate limit off.
        start = time.monotonic()
        for i in range(BURST):
            sim.inbound(PHONE, f"+1777{i:06d}", "menu", None)
        until(lambda: len(sent()) >= REPLIES + BURST, timeout=300)
        per_s = BURST / (time.monotonic() - start)
        launcher.stop_all()
    server.shutdown()
    print(
        json.dumps(
            {
                "qr_publish_ms_p50": round(statistics.median(qr_ms), 1),
                "qr_publish_ms_max": round(max(qr_ms), 1),
                "qr_samples": len(qr_ms),
                "reply_ms_p50": round(percentile(reply_ms, 0.5), 1),
                "reply_ms_p95": round(percentile(reply_ms, 0.95), 1),
                "worker_rss_mb": round(rss, 1),
                "browser_pss_mb": round(browser, 1),
                "msgs_per_s": round(per_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
