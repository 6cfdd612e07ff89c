"""One worker against the simulator: code publish latency, reply latency, memory, throughput,
relinking without a new QR, messages that reach a hung worker's page, the login archive.

Last line: {"qr_publish_ms_p50": ..., "qr_publish_ms_max": ..., "pairing_publish_ms_max": ...,
            "reply_ms_p50": ..., "reply_ms_p95": ..., "worker_rss_mb": ...,
            "browser_pss_mb": ..., "msgs_per_s": ..., "relink_without_qr": k (of 10),
            "relink_s_p50": ..., "hung_chat_answered": k (of 10), "duplicates": 0,
            "profile_archive_mb": ...}
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
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
RESTARTS = 10
HANGS = 10


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
    from chalicelib.control import reaper, runtime, workers
    from chalicelib.control.workers import worker_exited
    from chalicelib.domain.clock import SystemClock
    from chalicelib.launch.local import LocalLauncher
    from chalicelib.settings import Settings
    from chalicelib.store import models, tenants
    from chalicelib.store.models import HistoryModel
    from devstack.simulator.server import make_server
    from devstack.simulator.state import QrTiming, Simulator

    clock = SystemClock()
    sim = Simulator(clock.now_ms, QrTiming(first_ms=1000, next_ms=700, count=6))
    server = make_server(sim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sim_url = f"http://127.0.0.1:{server.server_address[1]}"
    with moto_server() as moto, tempfile.TemporaryDirectory() as sessions:
        settings = Settings(dynamodb_endpoint=moto.endpoint, heartbeat_s=0.5, stale_s=3)
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
            "WAFLEET_SESSION_SAVE_S": "1",
            "WAFLEET_PAGE_PROBE_S": "1",
        }
        launcher = LocalLauncher(env, on_exit=worker_exited, stop_timeout_s=5)
        runtime.configure(settings, launcher=launcher)
        tid = tenants.create_tenant("Bench Bistro", now_ms=clock.now_ms(), phone=PHONE).tenant_id

        def item() -> Any:
            return tenants.get_tenant(tid, consistent=True)

        def connected() -> bool:
            return bool(item().session_state == "CONNECTED")

        def qr_events() -> int:
            return [h.event for h in HistoryModel.query(tid)].count("qr")

        workers.start(tid)

        # Codes: from the moment the page got a code to the moment DynamoDB holds it.
        first_seen: dict[str, int] = {}

        def codes(kind: str, count: int) -> bool:
            current = item()
            if current.qr_payload and (current.qr_kind or "qr") == kind:
                first_seen.setdefault(current.qr_payload, clock.now_ms())
            return sum(1 for p in first_seen if (len(p) == 8) == (kind == "pairing")) >= count

        until(lambda: codes("qr", 6))
        qr_ms = [first_seen[p] - sim.served_ms[p] for p in first_seen if p in sim.served_ms]
        tenants.request_pairing_code(tid, PHONE)  # link by pairing code instead
        until(lambda: codes("pairing", 2))
        pairing = [p for p in first_seen if len(p) == 8]
        pairing_ms = [first_seen[p] - sim.served_ms[p] for p in pairing]
        requests.post(
            sim_url + "/control/link-code", json={"code": pairing[-1], "phone": PHONE}, timeout=10
        ).raise_for_status()
        until(connected)

        def sent() -> list[dict[str, Any]]:
            return list(sim.sent(PHONE))

        # Reply latency: one message at a time, inbound stamp to outbound stamp.
        reply_ms = []
        for i in range(REPLIES):
            inbound = sim.inbound(PHONE, "+15550000", f"hours {i}", None)
            chat = sim.phones[PHONE].chats[inbound["chat"]]
            at = next(m.at_ms for m in chat if m.id == inbound["id"])
            out = until(lambda n=i: sent()[n] if len(sent()) > n else None)
            reply_ms.append(out["at"] - at)

        pid = int(item().task_ref.split(":")[1])
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
        expected = REPLIES + BURST
        archive_mb = (Path(sessions) / f"{tid}.tar.gz").stat().st_size / 2**20

        # Relinking: graceful restarts and kill -9 after the periodic save, no new QR.
        relinked, relink_s = 0, []
        for attempt in range(RESTARTS):
            qrs = qr_events()
            if attempt % 2:
                threading.Event().wait(1.5)  # past the periodic save (WAFLEET_SESSION_SAVE_S=1)
                os.kill(int(item().task_ref.split(":")[1]), signal.SIGKILL)
                until(lambda: item().worker_status == "ERROR", timeout=20)
            else:
                workers.stop(tid)
                until(lambda: not launcher.running(), timeout=20)
            begun = time.monotonic()
            workers.start(tid)
            until(connected, timeout=60)
            relink_s.append(time.monotonic() - begun)
            relinked += qr_events() == qrs
            sim.inbound(PHONE, "+15550001", f"after restart {attempt}", None)
            expected += 1
            until(lambda n=expected: len(sent()) >= n, timeout=60)

        # A message that reaches a hung worker's page, in the chat it last answered.
        answered = 0
        for attempt in range(HANGS):
            old = psutil.Process(int(item().task_ref.split(":")[1]))
            old.suspend()
            try:
                sim.inbound(PHONE, "+15550001", f"while hung {attempt}", None)
                expected += 1
                until(lambda: reaper.reap().reaped, timeout=30)
                workers.start(tid)
                until(connected, timeout=60)
                try:
                    until(lambda n=expected: len(sent()) >= n, timeout=30)
                    answered += 1
                except TimeoutError:
                    expected = len(sent())
            finally:
                with contextlib.suppress(psutil.NoSuchProcess):
                    old.resume()  # unless the launcher's SIGKILL after the stop timeout came first
            until(lambda p=old: not psutil.pid_exists(p.pid) or p.status() == "zombie", timeout=30)
        threading.Event().wait(2)  # anything sent twice would show up by now
        duplicates = max(0, len(sent()) - expected)
        launcher.stop_all()
    server.shutdown()
    print(
        json.dumps(
            {
                "qr_publish_ms_p50": round(statistics.median(qr_ms), 1),
                "qr_publish_ms_max": round(max(qr_ms), 1),
                "qr_samples": len(qr_ms),
                "pairing_publish_ms_max": round(max(pairing_ms), 1),
                "reply_ms_p50": round(percentile(reply_ms, 0.5), 1),
                "reply_ms_p95": round(percentile(reply_ms, 0.95), 1),
                "worker_rss_mb": round(rss, 1),
                "browser_pss_mb": round(browser, 1),
                "msgs_per_s": round(per_s, 2),
                "relink_without_qr": relinked,
                "relink_s_p50": round(statistics.median(relink_s), 2),
                "hung_chat_answered": answered,
                "duplicates": duplicates,
                "profile_archive_mb": round(archive_mb, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
